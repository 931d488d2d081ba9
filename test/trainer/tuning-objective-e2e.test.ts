/**
 * Issue 17's acceptance for health penalties, end to end through runTuning: two real iris
 * trainings (in this process, through the launcher injection), one deliberately unhealthy. With
 * learning rate 0.03 the network overfits (val_loss gap 0.74, health generalization 0.22) yet
 * reaches a slightly better val_loss than the healthy 0.01; with a generalization penalty the
 * healthy trial becomes the run's artifact, without it the unhealthy one does. Every expected
 * score is computed here from the trials' own metrics.json.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeJsonFile, type MetricsFile } from '../../artifact/files.js';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { runTraining } from '../../trainer/run-training.js';
import { runTuning } from '../../trainer/tuning/run-tuning.js';
import type { TrialLauncher } from '../../trainer/tuning/trial-launcher.js';
import type { TuningFile } from '../../trainer/tuning/tuning-file.js';
import { resolvedSpec } from './tuning-objective-fixtures.js';

let dir: string;
let iris: { spec: TrainingRunSpec; baseDir: string };
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-objective-e2e-'));
  iris = await resolvedSpec('examples/trainer/iris-tuning.yaml', dir);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

type Tuning = NonNullable<TrainingRunSpec['tuning']>;

/**
 * Real trainings in this process. The launcher sets what makes a trial (un)healthy per trial
 * number, so the test does not depend on what the sampler proposes; the space only tunes the seed
 * (one value) to be a search at all.
 */
const realLauncher =
  (
    setup: (builtin: NonNullable<TrainingRunSpec['trainer']['builtin']>, trial: number) => void,
  ): TrialLauncher =>
  async (job, context) => {
    const spec = structuredClone(job.spec);
    setup(spec.trainer.builtin!, job.trial);
    await runTraining({
      spec,
      baseDir: context.baseDir,
      outDir: job.outDir,
      onEvent: () => {},
      signal: context.signal,
    });
  };

async function tune(name: string, tuning: Partial<Tuning>, launcher: TrialLauncher) {
  const spec = structuredClone(iris.spec);
  spec.trainer.builtin!.hyperparameters.epochs = 20;
  spec.tuning = {
    ...spec.tuning!,
    trials: 2,
    parallel: 1,
    algorithm: 'random',
    space: { seed: { choice: [7] } },
    ...tuning,
  };
  const outDir = join(dir, name);
  const result = await runTuning({ spec, baseDir: iris.baseDir, outDir, name, onEvent: () => {}, launcher });
  const file = JSON.parse(await readFile(join(outDir, 'tuning.json'), 'utf8')) as TuningFile;
  const metricsOf = async (trial: number) =>
    JSON.parse(
      await readFile(join(outDir, 'trials', String(trial), 'metrics.json'), 'utf8'),
    ) as MetricsFile & {
      health: { components: Record<string, number> };
    };
  return { result, file, metricsOf };
}

describe('health penalties end to end', () => {
  // Trial 1 overfits (learning rate 0.03), trial 2 is healthy (0.01).
  const learningRates = realLauncher((builtin, trial) => {
    builtin.hyperparameters.learningRate = trial === 1 ? 0.03 : 0.01;
  });

  it('an unhealthy but slightly better trial loses to a healthy one', async () => {
    const weight = 0.1;
    const { result, file, metricsOf } = await tune(
      'penalised',
      { penalties: { generalization: weight } },
      learningRates,
    );
    const [unhealthy, healthy] = [await metricsOf(1), await metricsOf(2)];
    const metric = (m: MetricsFile) => m.metrics.val_loss;
    // The premise: trial 1 is better on the raw metric, and less healthy.
    expect(metric(unhealthy)).toBeLessThan(metric(healthy));
    expect(unhealthy.health.components.generalization).toBeLessThan(healthy.health.components.generalization);
    expect(healthy.health.components.generalization).toBe(1);

    const expected = (m: typeof unhealthy) => metric(m) + weight * (1 - m.health.components.generalization);
    const [t1, t2] = file.trials;
    expect(t1.score).toBeCloseTo(expected(unhealthy), 12);
    expect(t2.score).toBeCloseTo(expected(healthy), 12);
    expect(t1.penalty?.parts.generalization).toBeCloseTo(
      weight * (1 - unhealthy.health.components.generalization),
      12,
    );
    expect(t1.values).toEqual([metric(unhealthy)]);

    expect(file.best?.trial).toBe(2);
    expect(file.best?.score).toBeCloseTo(expected(healthy), 12);
    expect(result.metrics.metrics).toEqual(healthy.metrics);
  });

  it('without the penalty the unhealthy trial wins (the penalty made the difference)', async () => {
    const { file } = await tune('plain', {}, learningRates);
    expect(file.best?.trial).toBe(1);
    expect(file.trials[0].penalty).toEqual({ total: 0, parts: {} });
  });
});

describe('several objectives end to end', () => {
  it('reports the Pareto front of [val_loss, parameters] and picks its knee', async () => {
    // Weights: [4] 4*4+4 + 4*3+3 = 35; [16] 4*16+16 + 16*3+3 = 131; [32, 16] 160 + 528 + 51 = 739.
    const layers = [[4], [16], [32, 16]];
    const sizes = realLauncher((builtin, trial) => {
      builtin.network.layers = layers[trial - 1];
    });
    const objectives: Tuning['objectives'] = [{ metric: 'parameters', goal: 'minimize' }];
    const { file, metricsOf } = await tune('pareto', { trials: 3, objectives, selection: 'knee' }, sizes);
    const params = [35, 131, 739];
    const losses = await Promise.all([1, 2, 3].map(async (t) => (await metricsOf(t)).metrics.val_loss));
    expect(file.trials.map((t) => t.values)).toEqual(losses.map((loss, i) => [loss, params[i]]));
    // The premise: the larger the network, the lower its val_loss, so no trial dominates another.
    expect(losses[0]).toBeGreaterThan(losses[1]);
    expect(losses[1]).toBeGreaterThan(losses[2]);
    expect(file.pareto).toEqual([1, 2, 3]);
    // Knee: both objectives scaled to [0, 1] over the front, the closest to (0, 0).
    const scale = (v: number, all: number[]) =>
      (v - Math.min(...all)) / (Math.max(...all) - Math.min(...all));
    const distance = (i: number) => Math.hypot(scale(losses[i], losses), scale(params[i], params));
    const knee = [0, 1, 2].reduce((best, i) => (distance(i) < distance(best) ? i : best), 0) + 1;
    expect(knee).toBe(2);
    expect(file.best?.trial).toBe(knee);
  });
});

it('a search whose objective the training does not report fails with that error, once', async () => {
  // metrics.json without val_mae (the plan refuses it for the builtin trainer; a trainer that
  // reports other metrics than the plan knows meets it at run time).
  const launcher: TrialLauncher = async (job) => {
    await writeJsonFile(job.outDir, 'metrics.json', {
      formatVersion: 1,
      metrics: { val_loss: 0.5 },
      training: { epochs: 1 },
    });
  };
  const run = tune('unknown', { objectives: [{ metric: 'val_mae', goal: 'minimize' }] }, launcher);
  // The first trial that meets it ends the study (run-tuning.ts: an ObjectiveError is fatal).
  await expect(run).rejects.toThrow(
    /^tuning\.objectives\[0\]\.metric "val_mae" is not reported by this training; it reports val_loss, and parameters and modelBytes are read from the model$/,
  );
});
