/**
 * The engine asks the manifest's sampler (createSampler) for its trials: a grid study ends at the
 * grid's size, every combination once. The launcher refuses every job, so nothing trains; the
 * trials and their params are in tuning.json all the same.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { resolveTraining } from '../../trainer/main.js';
import { runTuning } from '../../trainer/tuning/run-tuning.js';
import type { TrialJob } from '../../trainer/tuning/trial-launcher.js';
import type { TuningFile } from '../../trainer/tuning/tuning-file.js';

let dir: string;
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The example's spec as the trainer resolves it, and the folder its data paths start from. */
async function example(): Promise<{ spec: TrainingRunSpec; baseDir: string }> {
  dir = await mkdtemp(join(tmpdir(), 'mlform-sampler-engine-'));
  const resolved = await resolveTraining({ specFile: 'examples/trainer/iris-tpe.yaml', out: dir }, {});
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.diagnostics));
  return { spec: resolved.value.resource.manifest.spec as TrainingRunSpec, baseDir: resolved.value.baseDir };
}

it('runs a grid study for as many trials as the grid has combinations', async () => {
  const { spec: grid, baseDir } = await example();
  grid.tuning = {
    ...grid.tuning!,
    trials: 5,
    parallel: 1,
    sampler: { type: 'grid' },
    space: {
      optimizer: { choice: ['adam', 'sgd'] },
      learningRate: { logUniform: [0.01, 0.1], points: 2, when: { key: 'optimizer', in: ['sgd'] } },
    },
  };
  const jobs: TrialJob[] = [];
  const outDir = join(dir, 'grid');
  const run = runTuning({
    spec: grid,
    baseDir,
    outDir,
    name: 'iris-tpe',
    onEvent: () => {},
    launcher: async (job) => {
      jobs.push(job);
      throw new Error('not trained here');
    },
  });
  // No trial succeeds: the search fails, having tried every combination.
  await expect(run).rejects.toThrow('all 3 trials failed');
  const tuning = JSON.parse(await readFile(join(outDir, 'tuning.json'), 'utf8')) as TuningFile;
  // adam, and sgd with each of 2 learning rates: 3 combinations of the 5 trials asked for.
  expect(tuning.trials.map((t) => t.params)).toHaveLength(3);
  expect(tuning.trials.map((t) => JSON.stringify(t.params)).sort()).toEqual(
    [{ optimizer: 'adam' }, { learningRate: 0.01, optimizer: 'sgd' }, { learningRate: 0.1, optimizer: 'sgd' }]
      .map((p) => JSON.stringify(p))
      .sort(),
  );
  // Each trial trained its combination: adam keeps the spec's own learning rate.
  expect(jobs.map((j) => j.spec.trainer.builtin!.hyperparameters.learningRate).sort()).toEqual([
    0.01, 0.01, 0.1,
  ]);
});
