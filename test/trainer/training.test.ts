import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../artifact/tfjs-backend.js';
import { readCheckpoint } from '../../trainer/training/checkpoint.js';
import { evaluateScaled } from '../../trainer/training/evaluate-scaled.js';
import { objectiveFor } from '../../trainer/training/objective.js';
import { train, type TrainOptions, type TrainResult } from '../../trainer/training/train.js';
import type { ProgressEvent } from '../../trainer/types.js';
import {
  builtinFor,
  syntheticClassification,
  syntheticRegression,
  syntheticSequence,
} from './training-data.js';

let root: string;
let counter = 0;
const freshDir = (): string => join(root, `run-${++counter}`);

beforeAll(async () => {
  await selectBackend({ acceleratorRequested: false, env: { MLFORM_BACKEND: 'wasm' } });
  root = await mkdtemp(join(tmpdir(), 'mlform-training-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function run(options: Omit<TrainOptions, 'onEvent' | 'outDir'> & { outDir?: string }) {
  const events: ProgressEvent[] = [];
  const result = await train({ outDir: freshDir(), ...options, onEvent: (e) => events.push(e) });
  return { result, events };
}

/** History without wall-clock times: what must be reproducible. */
const curves = (result: TrainResult) =>
  result.history.map(({ epoch, metrics, gradientNorms }) => ({ epoch, metrics, gradientNorms }));

const regression = syntheticRegression({ count: 1200, features: 6, seed: 3 });

describe('train', () => {
  it('learns a learnable regression problem and reports progress', async () => {
    const { result, events } = await run({
      data: regression,
      builtin: builtinFor('regression', { hyperparameters: { epochs: 6 } }),
      stepInterval: 10,
    });
    const valLoss = result.history.map((h) => h.metrics.val_loss);
    expect(valLoss.at(-1)).toBeLessThan(0.5 * valLoss[0]);
    expect(result.history[0].metrics.loss).toBeGreaterThan(result.history.at(-1)?.metrics.loss ?? Infinity);
    expect(Object.keys(result.history[0].metrics).sort()).toEqual(['loss', 'mae', 'val_loss', 'val_mae']);
    expect(result.stepKind).toBe('flat-mlp');
    expect(result.stepsPerEpoch).toBe(Math.ceil(900 / 32));
    expect(result.steps).toBe(6 * result.stepsPerEpoch);

    expect(events[0]).toEqual({ type: 'start', epochs: 6, stepsPerEpoch: 29, backend: 'wasm' });
    expect(events.at(-1)).toMatchObject({ type: 'done', metrics: result.history[5].metrics });
    const types = events.map((e) => e.type);
    expect(types.filter((t) => t === 'epoch')).toHaveLength(6);
    expect(types.filter((t) => t === 'checkpoint')).toHaveLength(6);
    const steps = events.flatMap((e) => (e.type === 'step' ? [e.step] : []));
    expect(steps).toEqual(Array.from({ length: 17 }, (_, i) => (i + 1) * 10));
    const epochs = events.flatMap((e) => (e.type === 'epoch' ? [e] : []));
    expect(epochs.at(-1)?.etaSeconds).toBe(0);
    expect(epochs[0].etaSeconds).toBeGreaterThan(0);
    expect(epochs.at(-1)?.elapsedSeconds).toBeGreaterThan(epochs[0].elapsedSeconds);
    result.model.dispose();
  });

  it('is reproducible: same seed, same history, bit for bit (dropout included)', async () => {
    const builtin = builtinFor('regression', { network: { dropout: 0.2 }, hyperparameters: { epochs: 3 } });
    const a = await run({ data: regression, builtin });
    const b = await run({ data: regression, builtin });
    expect(curves(b.result)).toEqual(curves(a.result));
    const c = await run({ data: regression, builtin: { ...builtin, seed: 7 } });
    expect(curves(c.result)).not.toEqual(curves(a.result));
  });

  it('stops early and restores the best weights', async () => {
    // minDelta larger than any loss: only the first epoch ever counts as an improvement.
    const builtin = builtinFor('regression', {
      hyperparameters: { epochs: 20, earlyStopping: { patience: 2, metric: 'val_loss', minDelta: 10 } },
    });
    const { result, events } = await run({ data: regression, builtin });
    expect(result.stoppedEarly).toBe(true);
    expect(result.history).toHaveLength(3);
    expect(result.bestEpoch).toBe(1);
    expect(result.restoredBestWeights).toBe(true);
    expect(events.filter((e) => e.type === 'early-stop')).toEqual([
      { type: 'early-stop', epoch: 3, bestEpoch: 1 },
    ]);
    const best = result.history[0].metrics.val_loss;
    expect(result.history[2].metrics.val_loss).not.toBe(best);
    const now = evaluateScaled(
      result.model,
      regression.validation,
      regression.preprocess.inputShape,
      objectiveFor('regression'),
    );
    expect(now.loss).toBe(best);
    expect(result.finalMetrics).toEqual(result.history[0].metrics);
  });

  it('monitors accuracy upwards for classification', async () => {
    const data = syntheticClassification({ count: 900, features: 5, classes: 3, seed: 2 });
    const { result } = await run({
      data,
      builtin: builtinFor('classification', {
        hyperparameters: { epochs: 5, earlyStopping: { patience: 3, metric: 'val_accuracy', minDelta: 0 } },
      }),
    });
    expect(Object.keys(result.history[0].metrics).sort()).toEqual([
      'accuracy',
      'loss',
      'val_accuracy',
      'val_loss',
    ]);
    const accuracy = result.history.map((h) => h.metrics.val_accuracy);
    expect(Math.max(...accuracy)).toBeGreaterThan(0.85);
    expect(result.finalMetrics.val_accuracy).toBe(Math.max(...accuracy));
  });

  it.each(['lstm', 'gru'] as const)('trains %s networks reproducibly', async (type) => {
    const data = syntheticSequence({ count: 240, window: 6, seed: 4 });
    const builtin = builtinFor('forecasting', {
      network: { type, layers: [6], dropout: 0.1 },
      hyperparameters: { epochs: 3, batchSize: 16 },
    });
    const a = await run({ data, builtin });
    // LSTMs on wasm/cpu take the fused step (recurrent-step.ts); GRUs go through autodiff.
    expect(a.result.stepKind).toBe(type === 'lstm' ? 'fused-lstm' : 'layers');
    expect(a.result.history[2].metrics.val_loss).toBeLessThan(a.result.history[0].metrics.val_loss);
    const b = await run({ data, builtin });
    expect(curves(b.result)).toEqual(curves(a.result));
  });

  it('aborts after the current batch with a checkpoint, and resumes mid-epoch to the same result', async () => {
    const builtin = builtinFor('regression', { network: { dropout: 0.1 }, hyperparameters: { epochs: 3 } });
    const reference = await run({ data: regression, builtin });

    const outDir = freshDir();
    const controller = new AbortController();
    const events: ProgressEvent[] = [];
    const aborted = train({
      data: regression,
      builtin,
      outDir,
      stepInterval: 1,
      signal: controller.signal,
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'step' && e.step === 40) controller.abort();
      },
    });
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    expect(events.filter((e) => e.type === 'step').at(-1)).toMatchObject({ step: 40 });
    expect(events.at(-1)).toEqual({ type: 'checkpoint', epoch: 1 });
    const saved = await readCheckpoint(outDir);
    expect(saved?.state).toMatchObject({ epoch: 1, globalStep: 40, partial: { batches: 40 - 29 } });

    const resumed = await run({ data: regression, builtin, outDir });
    expect(resumed.events[0]).toMatchObject({ type: 'start', resumedFromEpoch: 1 });
    expect(resumed.result.resumedFromEpoch).toBe(1);
    expect(resumed.result.steps).toBe(reference.result.steps);
    expect(curves(resumed.result)).toEqual(curves(reference.result));
    const x = tf.tensor2d(regression.validation.x, [regression.validation.count, 6]);
    expect(Array.from((resumed.result.model.predict(x) as tf.Tensor).dataSync())).toEqual(
      Array.from((reference.result.model.predict(x) as tf.Tensor).dataSync()),
    );
  });

  it('resumes a finished training without training again', async () => {
    const builtin = builtinFor('regression', { hyperparameters: { epochs: 2 } });
    const outDir = freshDir();
    const first = await run({ data: regression, builtin, outDir });
    const again = await run({ data: regression, builtin, outDir });
    expect(again.result.resumedFromEpoch).toBe(2);
    expect(again.events.filter((e) => e.type === 'epoch')).toHaveLength(0);
    expect(curves(again.result)).toEqual(curves(first.result));
  });

  it('sets aside an unreadable checkpoint and refuses one of another training', async () => {
    const builtin = builtinFor('regression', { hyperparameters: { epochs: 1 } });
    const torn = freshDir();
    await mkdir(join(torn, 'checkpoint'), { recursive: true });
    await writeFile(join(torn, 'checkpoint', 'checkpoint.bin'), 'MLFCKPT1\u0010\u0000\u0000\u0000{"trunc');
    const warnings: string[] = [];
    const { result } = await run({ data: regression, builtin, outDir: torn, log: (m) => warnings.push(m) });
    expect(result.resumedFromEpoch).toBeUndefined();
    expect(warnings).toEqual([expect.stringMatching(/ignoring the checkpoint .* checkpoint is unreadable/)]);

    await expect(run({ data: regression, builtin: { ...builtin, seed: 1 }, outDir: torn })).rejects.toThrow(
      'holds a checkpoint of a different training',
    );
  });

  it('rejects an early-stopping metric the training does not report', async () => {
    const builtin = builtinFor('regression', {
      hyperparameters: { earlyStopping: { patience: 2, metric: 'val_accuracy', minDelta: 0 } },
    });
    await expect(run({ data: regression, builtin })).rejects.toThrow(
      'earlyStopping.metric "val_accuracy" is not reported by this training; it reports loss, mae, val_loss, val_mae',
    );
  });

  it('calls the observer and frees every tensor it made', async () => {
    const before = tf.memory().numTensors;
    const seen: string[] = [];
    const { result } = await run({
      data: regression,
      builtin: builtinFor('regression', { network: { dropout: 0.1 }, hyperparameters: { epochs: 2 } }),
      stepInterval: 20,
      tensorboard: {
        onEpoch: async (epoch, logs, model) => {
          seen.push(`epoch ${epoch} ${Object.keys(logs).join(',')} ${model.layers.length}`);
        },
        onStep: (step) => void seen.push(`step ${step}`),
      },
    });
    expect(seen).toEqual([
      'step 20',
      'epoch 1 loss,mae,val_loss,val_mae 5',
      'step 40',
      'epoch 2 loss,mae,val_loss,val_mae 5',
    ]);
    result.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
