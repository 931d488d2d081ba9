/**
 * Issue 12, items 5 and 8, in process: a saved plan is recognised by its content whatever its name
 * (and a manifest written as JSON is still a manifest), `apply --json` ends a no-op with a summary
 * event, and `-f` means `--file` in `logs` as in every command.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyCommand } from '../../../controller/cli/commands/apply.js';
import { logsCommand } from '../../../controller/cli/commands/logs.js';
import { planCommand } from '../../../controller/cli/commands/plan.js';
import { isSavedPlanFile } from '../../../controller/engine/plan-file.js';
import { fakeContext } from './fake-context.js';

let root: string;
let project: string;
const operator = { allowDataRoot: undefined, stateDir: undefined, policy: undefined };
const applyOptions = { ...operator, wait: true, parallelism: '10', prune: true };

const model = (description: string) =>
  `apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata:\n  name: churn\nspec:\n  description: ${description}\n`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-saved-'));
  project = join(root, 'project');
  await cp('examples/quickstart/mlform.yaml', join(project, 'mlform.yaml'));
  await writeFile(join(project, 'model.yaml'), model('first'));
  await writeFile(join(root, '.git'), ''); // a repository root, as in a clone
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

const plan = async (out: string) => {
  const { ctx } = fakeContext();
  expect(await planCommand.handler([[project]], { ...operator, output: 'text', prune: true, out }, ctx)).toBe(
    0,
  );
};

describe('saved plans by content', () => {
  it('applies a plan saved under any name, and refuses it once stale', async () => {
    const file = join(root, 'reviewed.tfplan');
    await plan(file);
    expect(await isSavedPlanFile(file)).toBe(true);
    const applied = fakeContext();
    expect(await applyCommand.handler([[file, project]], applyOptions, applied.ctx)).toBe(0);
    expect(applied.stdout()).toContain('Apply complete: 1 change applied.');

    await writeFile(join(project, 'model.yaml'), model('second'));
    const stale = join(root, 'plan.out');
    await plan(stale);
    await writeFile(join(project, 'model.yaml'), model('third'));
    const refused = fakeContext();
    expect(await applyCommand.handler([[stale, project]], applyOptions, refused.ctx)).toBe(1);
    expect(refused.stderr()).toMatch(/plan-stale|plan-tampered|no longer|changed/);
    await writeFile(join(project, 'model.yaml'), model('first'));
  });

  it('a manifest written as JSON stays a manifest; a broken *.json is reported as a plan', async () => {
    const manifest = join(root, 'model.json');
    await writeFile(
      manifest,
      JSON.stringify({ apiVersion: 'mlform/v1', kind: 'RegisteredModel', metadata: { name: 'x' }, spec: {} }),
    );
    expect(await isSavedPlanFile(manifest)).toBe(false);
    expect(await isSavedPlanFile(project)).toBe(false);
    expect(await isSavedPlanFile(join(project, 'model.yaml'))).toBe(false);
    const truncated = join(root, 'cut.json');
    await writeFile(truncated, '{"formatVersion": 1, "stack": "quick');
    expect(await isSavedPlanFile(truncated)).toBe(true);
    const { ctx, stderr } = fakeContext();
    expect(await applyCommand.handler([[truncated, project]], applyOptions, ctx)).toBe(1);
    expect(stderr()).toContain('is not a saved plan');
  });
});

describe('apply --json', () => {
  it('ends a no-op with its plan and finished events', async () => {
    const first = fakeContext();
    expect(
      await applyCommand.handler([[project]], { ...applyOptions, autoApprove: true, json: true }, first.ctx),
    ).toBe(0);
    const { ctx, stdout } = fakeContext();
    expect(
      await applyCommand.handler([[project]], { ...applyOptions, autoApprove: true, json: true }, ctx),
    ).toBe(0);
    const events = stdout()
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string });
    expect(events.map((e) => e.type)).toEqual(['plan', 'finished']);
    expect(events[1]).toEqual({ type: 'finished', ok: true, applied: 0, failed: 0 });
  });
});

describe('-f', () => {
  it('is --file in logs as everywhere; following is --follow', async () => {
    const flags = (logsCommand.options ?? []).map((o) => o.flags);
    expect(flags).toContain('-f, --file <path>');
    expect(flags).toContain('--follow');
  });
});
