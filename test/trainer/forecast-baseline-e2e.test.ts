/**
 * Forecasting baselines end to end on the local provider, through the built CLI: a Seattle
 * temperature forecast registers only if it beats a baseline by the gate's rule (`beatBaseline:
 * any` passes; `seasonalNaive` against an impossible season does not), and `describe` shows MASE.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../e2e/cli.js';
import { killProcessesUnder } from '../providers/local/helpers.js';

let root: string;
let project: string;

const model = (name: string, metric: string, beatBaseline: string) => `apiVersion: mlform/v1
kind: RegisteredModel
metadata: {name: ${name}}
spec:
  gate: {metric: ${metric}, beatBaseline: ${beatBaseline}}
`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-forecast-e2e-'));
  project = join(root, 'project');
  await mkdir(join(root, 'data'), { recursive: true });
  await cp('examples/data/seattle-weather.csv', join(root, 'data', 'seattle-weather.csv'));
  execFileSync('git', ['init', '-q', root]);
  await mkdir(project);
  await writeFile(
    join(project, 'mlform.yaml'),
    'stack: forecast\nprovider: local\nlocal: {stateDir: .mlform}\n',
  );
  const example = await readFile('examples/trainer/seattle-temperature.yaml', 'utf8');
  const run = (name: string, model: string, season = '') =>
    example
      .replace('name: seattle-temp-mlp', `name: ${name}`)
      .replace('spec:\n', `spec:\n  model: ${model}\n`)
      .replace('timeColumn: date}', `timeColumn: date${season}}`)
      .replace('epochs: 60', 'epochs: 2')
      .replace('patience: 10', 'patience: 1');
  await writeFile(join(project, 'temp.yaml'), run('temp', 'temp-any'));
  // A season longer than the data: no seasonal-naive baseline, so `seasonalNaive` cannot pass.
  await writeFile(join(project, 'temp-long.yaml'), run('temp-long', 'temp-seasonal', ', season: 5000'));
  await writeFile(
    join(project, 'models.yaml'),
    `${model('temp-any', 'val_mase', 'any')}---\n${model('temp-seasonal', 'val_mae', 'seasonalNaive')}`,
  );
});

afterAll(async () => {
  if (root) {
    await killProcessesUnder(root);
    await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
});

describe('forecasting baselines through plan, apply and describe', () => {
  it('registers by the gate rule and shows MASE', () => {
    const applied = runCli(['apply', '-y', project], 240_000);
    expect(applied.code, applied.out).toBe(0);
    // `any`: the run beat at least one of the two (which depends on two epochs of training).
    expect(applied.out).toMatch(/temp#1 passed the gate \(beats the (seasonal-naive )?baseline [\d.]+/);
    // A season longer than the series: no seasonal-naive baseline, so the gate cannot pass, and says why.
    const plan = runCli(['plan', project]);
    expect(plan.out).toContain(
      'RegisteredModel/temp-seasonal: temp-long#1 failed the gate: the run reports no seasonal-naive baseline val_mae',
    );
    expect(runCli(['describe', 'registeredmodel/temp-any', '-f', project]).out).toContain('Versions (1)');
    expect(runCli(['describe', 'registeredmodel/temp-seasonal', '-f', project]).out).toContain(
      'Versions (0)',
    );
    const run = runCli(['describe', 'trainingrun/temp', '-f', project]);
    expect(run.out).toMatch(/#1 +succeeded .* val_mase=[\d.]+/);
  }, 300_000);
});
