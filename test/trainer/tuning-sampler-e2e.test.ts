/**
 * The samplers through the built CLI as a user runs them (npm test builds dist/ first): the
 * examples/trainer/iris-tpe.yaml example plans on the local provider, `bayesian` is refused there
 * at its manifest line, and a short tpe search with a `layers` and a conditional dimension trains
 * trials whose specs carry the sampled lists and leave a failed condition's field as the spec has it.
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunFile } from '../../artifact/files.js';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import type { TuningFile } from '../../trainer/tuning/tuning-file.js';
import { runCli } from '../e2e/cli.js';

const EXAMPLE = 'examples/trainer/iris-tpe.yaml';

let root: string;
beforeAll(async () => {
  // The example's layout: trainer/<manifest> reads ../data/iris.csv; the project file at the root.
  root = await mkdtemp(join(tmpdir(), 'mlform-sampler-e2e-'));
  await mkdir(join(root, 'trainer'));
  await cp('examples/data/iris.csv', join(root, 'data', 'iris.csv'));
  await writeFile(join(root, 'mlform.yaml'), 'stack: samplers\nprovider: local\n');
});
afterAll(() => rm(root, { recursive: true, force: true }));

const example = () => readFile(EXAMPLE, 'utf8');

it('plans the tpe example on the local provider and refuses bayesian at its line', async () => {
  await writeFile(join(root, 'trainer', 'iris-tpe.yaml'), await example());
  const planned = runCli(['plan', root]);
  expect(planned.code, planned.out).toBe(0);
  expect(planned.out).toContain('+ TrainingRun/iris-tpe');
  expect(planned.out).toContain('spec.tuning.sampler: {"type":"tpe","startupTrials":5}');

  const bayesian = (await example()).replace(
    'sampler: {type: tpe, startupTrials: 5}',
    'sampler: {type: bayesian}',
  );
  await writeFile(join(root, 'trainer', 'iris-tpe.yaml'), bayesian);
  const refused = runCli(['plan', root]);
  expect(refused.code).toBe(1);
  const line = bayesian.split('\n').findIndex((l) => l.includes('type: bayesian')) + 1;
  expect(refused.out).toContain(`trainer/iris-tpe.yaml:${line}:21 error [tuning-sampler-local]`);
  expect(refused.out).toContain('hint: use tpe locally');
});

it('trains a short tpe search whose trials get the sampled layer lists and conditional values', async () => {
  // Two trials of two epochs at once: seconds of training. Seed 4 draws one adam and one sgd
  // trial (the condition both ways) of different depths.
  const manifest = (await example())
    .replace('trials: 12', 'trials: 2')
    .replace('epochs: 20', 'epochs: 2')
    .replace('seed: 7', 'seed: 4')
    .replace('startupTrials: 5', 'startupTrials: 1');
  const file = join(root, 'trainer', 'short.yaml');
  await writeFile(file, manifest);
  const out = join(root, 'out');
  // A spec outside a project reads data only from folders the operator allows.
  const allow = ['--allow-data-root', join(root, 'data')];
  const trained = runCli(['train', '--spec', file, '--out', out, ...allow], 180_000);
  expect(trained.code, trained.out).toBe(0);

  const tuning = JSON.parse(await readFile(join(out, 'tuning.json'), 'utf8')) as TuningFile;
  expect(tuning.state).toBe('succeeded');
  expect(tuning.trials).toHaveLength(2);
  expect(tuning.trials.map((t) => t.params.optimizer).sort()).toEqual(['adam', 'sgd']);
  for (const t of tuning.trials) {
    const layers = t.params['network.layers'] as number[];
    expect(layers.length).toBeGreaterThanOrEqual(1);
    expect(layers.length).toBeLessThanOrEqual(3);
    for (const units of layers) expect(Number.isInteger(units) && units >= 4 && units <= 64).toBe(true);
    expect('learningRate' in t.params).toBe(t.params.optimizer === 'sgd');
    // The trial trained exactly that spec: the list as its layers, the spec's own learning rate
    // where the condition failed.
    const run = JSON.parse(await readFile(join(out, t.dir, 'run.json'), 'utf8')) as RunFile;
    const builtin = (run.spec as TrainingRunSpec).trainer.builtin!;
    expect(builtin.network.layers).toEqual(layers);
    expect(builtin.hyperparameters.optimizer).toBe(t.params.optimizer);
    expect(builtin.hyperparameters.learningRate).toBe(t.params.learningRate ?? 0.01);
  }
});
