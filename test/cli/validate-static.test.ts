/**
 * Issue 12, item 3: `mlform validate` runs the gcp provider's static checks offline, with the same
 * diagnostics at the same fields as `plan` (a GPU the training region does not offer fails the CI
 * step that only validates, not later).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { validateCommand } from '../../controller/cli/commands/validate.js';
import { openProject } from '../../controller/cli/project.js';
import { fakeContext } from './handlers/fake-context.js';
import { gcpProjectFile } from '../providers/gcp/project-file.js';

let dir: string;

const TRAINING = (accelerator: string) => `apiVersion: mlform/v1
kind: TrainingRun
metadata:
  name: mpg-mlp
spec:
  trainer:
    builtin:
      task: regression
      data: {uri: gs://b/cars.json, target: y, features: [a]}
      hyperparameters: {epochs: 2}
  resources:
${accelerator}`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-validate-static-'));
  await writeFile(join(dir, 'mlform.yaml'), gcpProjectFile());
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const operator = { allowDataRoot: undefined, stateDir: undefined, policy: undefined };

it('fails validate on a GPU the training region does not offer, as plan does, without contacting Google', async () => {
  await writeFile(
    join(dir, 'training.yaml'),
    TRAINING('    machineType: g2-standard-8\n    accelerator: {count: 1, type: NVIDIA_L4}\n'),
  );
  // No endpoint to reach: any call would fail; validate makes none.
  const env = { NO_COLOR: '1', MLFORM_GCP_ENDPOINT: 'http://127.0.0.1:9' };
  const { ctx, stdout } = fakeContext({ env });
  expect(await validateCommand.handler([[dir]], { ...operator, output: 'json' }, ctx)).toBe(1);
  const report = JSON.parse(stdout()) as { diagnostics: { code: string; line: number; column: number }[] };
  const validated = report.diagnostics.map((d) => `${d.code}@${d.line}:${d.column}`);
  expect(validated.length).toBeGreaterThan(0);
  expect(validated.every((d) => d.startsWith('gcp-'))).toBe(true);

  const planned = await openProject([dir]);
  expect(planned.project).toBeUndefined();
  expect(planned.diagnostics.map((d) => `${d.code}@${d.line}:${d.col}`)).toEqual(validated);
});

it('passes a machine the region offers', async () => {
  await writeFile(join(dir, 'training.yaml'), TRAINING('    machineType: n1-standard-4\n'));
  const { ctx, stdout } = fakeContext();
  expect(await validateCommand.handler([[dir]], { ...operator, output: 'text' }, ctx)).toBe(0);
  expect(stdout()).toContain('provider gcp');
});
