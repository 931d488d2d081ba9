/**
 * Objectives (trainer/tuning/objectives/): health penalties on real metrics.json health, the
 * model objectives read from a real saved model (locally and under gs://), and the best-trial rule
 * for one and several objectives, each expectation computed by hand here.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricsFile } from '../../artifact/files.js';
import { saveModel } from '../../artifact/model-io.js';
import { localStore, setDefaultGcsStore, type ObjectStore } from '../../artifact/storage.js';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import {
  ObjectiveError,
  scoreTrial,
  selectBest,
  type ScoredTrial,
} from '../../trainer/tuning/objectives/index.js';
import { kneePoint, paretoFront } from '../../trainer/tuning/objectives/pareto.js';
import { DIVERGED, HEALTHY, OVERFITTING, VANISHING } from './tuning-objective-fixtures.js';

type Tuning = NonNullable<TrainingRunSpec['tuning']>;
const tuning = (extra: Partial<Tuning> = {}): Tuning => ({
  trials: 4,
  parallel: 1,
  metric: 'val_loss',
  goal: 'minimize',
  algorithm: 'random',
  space: { learningRate: { logUniform: [0.001, 0.1] } },
  ...extra,
});
const metricsFile = (metrics: Record<string, number | null>, health: unknown): MetricsFile =>
  ({ formatVersion: 1, task: 'classification', metrics, health }) as unknown as MetricsFile;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-objectives-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('health penalties', () => {
  const weights = { deadNeurons: 0.05, gradients: 0.2, stability: 0.01, generalization: 0.1 };

  it('adds each weight x (1 - component) to a minimised metric and records the parts', async () => {
    const scored = await scoreTrial(
      tuning({ penalties: weights }),
      metricsFile({ val_loss: 0.0862 }, OVERFITTING),
      dir,
    );
    const parts = {
      deadNeurons: 0,
      gradients: 0,
      stability: 0.01 * (1 - 0.8709453918870769),
      generalization: 0.1 * (1 - 0.21837004968481333),
    };
    expect(scored.penalty.parts).toEqual(parts);
    expect(scored.penalty.total).toBeCloseTo(parts.stability + parts.generalization, 15);
    expect(scored.score).toBeCloseTo(0.0862 + parts.stability + parts.generalization, 15);
    expect(scored.values).toEqual([0.0862]);
  });

  it('subtracts it from a maximised metric', async () => {
    const scored = await scoreTrial(
      tuning({ metric: 'val_accuracy', goal: 'maximize', penalties: { gradients: 0.2, deadNeurons: 0.4 } }),
      metricsFile({ val_accuracy: 0.8 }, VANISHING),
      dir,
    );
    expect(scored.penalty.parts).toEqual({ deadNeurons: 0.4 * 0.125, gradients: 0.2 * 0.75 });
    expect(scored.score).toBeCloseTo(0.8 - 0.05 - 0.15, 15);
  });

  it('an unhealthy but slightly better trial loses to a healthy one', async () => {
    const t = tuning({ penalties: { generalization: 0.1 } });
    const unhealthy = await scoreTrial(t, metricsFile({ val_loss: 0.0862 }, OVERFITTING), dir);
    const healthy = await scoreTrial(t, metricsFile({ val_loss: 0.1089 }, HEALTHY), dir);
    const trials: ScoredTrial[] = [
      { trial: 1, ...unhealthy },
      { trial: 2, ...healthy },
    ];
    expect(unhealthy.values[0]!).toBeLessThan(healthy.values[0]!);
    expect(selectBest(t, trials).best).toBe(2);
    // Without penalties the same metrics pick the unhealthy one: the penalty made the difference.
    const plain = tuning();
    const raw = [
      { trial: 1, ...(await scoreTrial(plain, metricsFile({ val_loss: 0.0862 }, OVERFITTING), dir)) },
      { trial: 2, ...(await scoreTrial(plain, metricsFile({ val_loss: 0.1089 }, HEALTHY), dir)) },
    ];
    expect(selectBest(plain, raw).best).toBe(1);
  });

  it('counts a missing, null or malformed component as no health at all', async () => {
    const t = tuning({ penalties: { ...weights } });
    const total = 0.05 + 0.2 + 0.01 + 0.1;
    for (const health of [undefined, null, 'healthy', { components: { gradients: 'yes' } }, {}]) {
      const scored = await scoreTrial(t, metricsFile({ val_loss: 1 }, health), dir);
      expect(scored.penalty.total).toBeCloseTo(total, 15);
    }
    // A diverged training: gradients 0, the others null; its finite metric is still scored.
    const diverged = await scoreTrial(t, metricsFile({ val_loss: 2 }, DIVERGED), dir);
    expect(diverged.penalty.parts).toEqual({
      deadNeurons: 0.05,
      gradients: 0.2,
      stability: 0.01,
      generalization: 0.1,
    });
    expect(diverged.score).toBeCloseTo(2 + total, 15);
  });

  it('scores null only when the metric itself is missing or not finite', async () => {
    const t = tuning({ penalties: weights });
    expect((await scoreTrial(t, metricsFile({ val_loss: null }, DIVERGED), dir)).score).toBeNull();
    expect((await scoreTrial(t, metricsFile({ loss: 1 }, HEALTHY), dir)).values).toEqual([null]);
  });

  it('is zero without penalties, whatever the health', async () => {
    const scored = await scoreTrial(tuning(), metricsFile({ val_loss: 0.5 }, VANISHING), dir);
    expect(scored).toEqual({ values: [0.5], score: 0.5, penalty: { total: 0, parts: {} } });
  });
});

describe('model objectives', () => {
  // 4 inputs -> 16 relu -> 3 softmax: 4*16 + 16 + 16*3 + 3 = 131 weights, 524 bytes of float32.
  let model: string;
  beforeAll(async () => {
    model = join(dir, 'model');
    const net = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [4], units: 16, activation: 'relu' }),
        tf.layers.dense({ units: 3, activation: 'softmax' }),
      ],
    });
    await saveModel(net, model);
    net.dispose();
  });
  const objectives = tuning({
    objectives: [
      { metric: 'parameters', goal: 'minimize' },
      { metric: 'modelBytes', goal: 'minimize' },
      { metric: 'val_accuracy', goal: 'maximize' },
    ],
  });

  it('counts parameters from the weight shapes and bytes from the weight files', async () => {
    const scored = await scoreTrial(
      objectives,
      metricsFile({ val_loss: 0.3, val_accuracy: 0.9 }, HEALTHY),
      model,
    );
    expect(scored.values).toEqual([0.3, 131, 524, 0.9]);
    expect((await stat(join(model, 'weights.bin'))).size).toBe(524);
  });

  it('reads a gs:// artifact through the storage helpers', async () => {
    const reads: string[] = [];
    const gcs: ObjectStore = {
      read: (uri) => {
        reads.push(uri);
        return localStore.read(uri.replace('gs://bucket/run', model));
      },
      size: (uri) => localStore.size!(uri.replace('gs://bucket/run', model)),
      write: () => Promise.reject(new Error('read only')),
      exists: () => Promise.resolve(true),
      list: () => Promise.resolve([]),
      remove: () => Promise.resolve(),
    };
    setDefaultGcsStore(gcs);
    try {
      const scored = await scoreTrial(
        objectives,
        metricsFile({ val_loss: 0.3, val_accuracy: 0.9 }, HEALTHY),
        'gs://bucket/run',
      );
      expect(scored.values).toEqual([0.3, 131, 524, 0.9]);
      expect(reads).toEqual(['gs://bucket/run/model.json']);
    } finally {
      setDefaultGcsStore(undefined);
    }
  });

  it('refuses weight files outside the artifact', async () => {
    const evil = join(dir, 'evil');
    await localStore.write(
      join(evil, 'model.json'),
      JSON.stringify({
        modelTopology: {},
        weightsManifest: [{ paths: ['../model/weights.bin'], weights: [] }],
      }),
    );
    await expect(
      scoreTrial(objectives, metricsFile({ val_loss: 1, val_accuracy: 1 }, HEALTHY), evil),
    ).rejects.toThrow(/has no valid weightsManifest/);
  });

  it('does not read the model when no objective needs it', async () => {
    const only = tuning({ objectives: [{ metric: 'val_accuracy', goal: 'maximize' }] });
    const scored = await scoreTrial(
      only,
      metricsFile({ val_loss: 1, val_accuracy: 0.5 }, HEALTHY),
      join(dir, 'absent'),
    );
    expect(scored.values).toEqual([1, 0.5]);
  });

  it('fails with the field and the metrics that exist for an unknown objective', async () => {
    const unknown = tuning({ objectives: [{ metric: 'val_mae', goal: 'minimize' }] });
    const run = scoreTrial(unknown, metricsFile({ val_loss: 1, val_accuracy: 0.5 }, HEALTHY), dir);
    await expect(run).rejects.toThrow(ObjectiveError);
    await expect(run).rejects.toThrow(
      'tuning.objectives[0].metric "val_mae" is not reported by this training; it reports val_loss, val_accuracy, and parameters and modelBytes are read from the model',
    );
    // An inherited property is no metric.
    const proto = tuning({ objectives: [{ metric: 'constructor', goal: 'minimize' }] });
    await expect(scoreTrial(proto, metricsFile({ val_loss: 1 }, HEALTHY), dir)).rejects.toThrow(
      ObjectiveError,
    );
  });
});

describe('selectBest', () => {
  it('one objective: the best score, ties to the lower trial, never a null score', () => {
    const trials: ScoredTrial[] = [
      { trial: 3, values: [0.2], score: 0.4 },
      { trial: 1, values: [null], score: null },
      { trial: 2, values: [0.3], score: 0.4 },
      { trial: 4, values: [0.5], score: 0.5 },
    ];
    expect(selectBest(tuning(), trials)).toEqual({ best: 2, pareto: [] });
    expect(selectBest(tuning({ goal: 'maximize' }), trials)).toEqual({ best: 4, pareto: [] });
    expect(selectBest(tuning(), [{ trial: 1, values: [null], score: null }]).best).toBeUndefined();
  });

  // val_loss (minimise, as the penalised score) against parameters (minimise):
  //   1: (0.10, 900)  2: (0.12, 300)  3: (0.30, 100)  4: (0.15, 400) dominated by 2
  //   5: (0.10, 900) equal to 1       6: (0.20, 250)  7: missing parameters
  const multi: ScoredTrial[] = [
    { trial: 1, values: [0.1, 900], score: 0.1 },
    { trial: 2, values: [0.12, 300], score: 0.12 },
    { trial: 3, values: [0.3, 100], score: 0.3 },
    { trial: 4, values: [0.15, 400], score: 0.15 },
    { trial: 5, values: [0.1, 900], score: 0.1 },
    { trial: 6, values: [0.2, 250], score: 0.2 },
    { trial: 7, values: [0.05, null], score: 0.05 },
  ];
  const sized = (selection?: 'primary' | 'knee') =>
    tuning({ objectives: [{ metric: 'parameters', goal: 'minimize' }], ...(selection && { selection }) });

  it('several objectives: the Pareto front, and the best score on it by default', () => {
    expect(selectBest(sized(), multi)).toEqual({ best: 1, pareto: [1, 2, 3, 5, 6] });
    expect(selectBest(sized('primary'), multi).best).toBe(1);
  });

  it('knee: the front scaled to [0, 1] per objective, closest to the ideal point', () => {
    // Scaled over the front (score 0.10..0.30, parameters 100..900):
    //   1: (0, 1) -> 1; 2: (0.1, 0.25) -> 0.269; 3: (1, 0) -> 1; 6: (0.5, 0.1875) -> 0.534
    expect(selectBest(sized('knee'), multi).best).toBe(2);
  });

  it('ranks by the penalised score, not the raw metric', () => {
    // Trial 1's raw val_loss is the best, but its penalty puts it behind trial 2 on the front.
    const penalised: ScoredTrial[] = [
      { trial: 1, values: [0.1, 500], score: 0.2 },
      { trial: 2, values: [0.15, 500], score: 0.15 },
    ];
    expect(selectBest(sized(), penalised)).toEqual({ best: 2, pareto: [2] });
  });

  it('falls back to the best score when no trial has every objective', () => {
    expect(
      selectBest(sized(), [
        { trial: 1, values: [0.2, null], score: 0.2 },
        { trial: 2, values: [0.1], score: 0.1 },
      ]),
    ).toEqual({ best: 2, pareto: [] });
  });

  it('orients maximised objectives', () => {
    const goals = ['maximize', 'minimize'] as const;
    const points = [
      { trial: 1, values: [0.9, 10] },
      { trial: 2, values: [0.95, 20] },
      { trial: 3, values: [0.8, 30] },
    ];
    expect(paretoFront(points, goals).map((p) => p.trial)).toEqual([1, 2]);
    // Scaled: 1 -> (1, 0), 2 -> (0, 1): equally far, the lower trial wins.
    expect(kneePoint(paretoFront(points, goals), goals)?.trial).toBe(1);
  });
});
