/**
 * The fused LSTM step (trainer/training/recurrent-step.ts): its hand-written backpropagation
 * through time must equal tfjs autodiff through the layers model (stacked layers, dropout with the
 * same masks, both output kinds, both recurrent activations, a short last batch), and train() must
 * pick it for LSTMs on wasm and stay reproducible and resumable with it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../resources/training-run.js';
import { selectBackend } from '../../artifact/tfjs-backend.js';
import { applyModel } from '../../artifact/apply-model.js';
import { buildNetwork } from '../../trainer/network/build-network.js';
import { seededDropouts } from '../../trainer/network/seeded-dropout.js';
import { objectiveFor } from '../../trainer/training/objective.js';
import { FusedLstmStep, planFusedLstm } from '../../trainer/training/recurrent-step.js';
import { train, type TrainResult } from '../../trainer/training/train.js';
import type { ProgressEvent } from '../../trainer/types.js';
import { builtinFor, syntheticSequence } from './training-data.js';

let root: string;
let counter = 0;
const freshDir = (): string => join(root, `run-${++counter}`);

beforeAll(async () => {
  await selectBackend({ acceleratorRequested: false, env: { MLFORM_BACKEND: 'wasm' } });
  root = await mkdtemp(join(tmpdir(), 'mlform-recurrent-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface Case {
  layers: number[];
  dropout: number;
  task: Task;
  batch: number;
  /** Build the cells with a sigmoid recurrent activation instead of tfjs's hardSigmoid. */
  sigmoid?: boolean;
  /** Run a larger batch through the same step first (buffers are reused for smaller ones). */
  before?: number;
}

const WINDOW = 5;
const FEATURES = 3;

function lstmModel(c: Case, targetSize: number): tf.LayersModel {
  const network = { type: 'lstm', layers: c.layers, activation: 'tanh', dropout: c.dropout } as const;
  if (!c.sigmoid) {
    return buildNetwork({ network, inputShape: [WINDOW, FEATURES], targetSize, task: c.task, seed: 7 });
  }
  const model = tf.sequential();
  c.layers.forEach((units, i) => {
    model.add(
      tf.layers.lstm({
        units,
        recurrentActivation: 'sigmoid',
        returnSequences: i < c.layers.length - 1,
        kernelInitializer: tf.initializers.glorotUniform({ seed: i + 1 }),
        recurrentInitializer: tf.initializers.glorotUniform({ seed: i + 11 }),
        biasInitializer: tf.initializers.randomNormal({ seed: i + 21 }),
        ...(i === 0 && { inputShape: [WINDOW, FEATURES] }),
      }),
    );
  });
  model.add(
    tf.layers.dense({ units: targetSize, activation: c.task === 'classification' ? 'softmax' : 'linear' }),
  );
  return model;
}

function batchOf(c: Case, n: number): [tf.Tensor, tf.Tensor] {
  // Inputs wide enough that some hardSigmoid gates saturate, where its gradient is zero.
  const x = tf.randomNormal([n, WINDOW, FEATURES], 0, 3, 'float32', n);
  const y =
    c.task === 'classification'
      ? tf
          .oneHot(
            tf.tensor1d(
              Array.from({ length: n }, (_, i) => i % 3),
              'int32',
            ),
            3,
          )
          .toFloat()
      : tf.randomNormal([n, 1], 0, 1, 'float32', n + 100);
  return [x, y];
}

function compare(c: Case): void {
  const targetSize = c.task === 'classification' ? 3 : 1;
  const model = lstmModel(c, targetSize);
  const objective = objectiveFor(c.task);
  const plan = planFusedLstm(model, 'wasm');
  if (!plan) throw new Error('the fused step refused the network');
  const step = new FusedLstmStep(plan, tf.train.sgd(0), objective);
  const globalStep = 23;
  if (c.before) {
    const [x, y] = batchOf(c, c.before);
    tf.tidy(() => step.gradients(x, y, globalStep - 1).grad.dataSync());
    tf.dispose([x, y]);
  }
  const [x, y] = batchOf(c, c.batch);

  const manual = tf.tidy(() => Array.from(step.gradients(x, y, globalStep).grad.dataSync()));
  for (const layer of seededDropouts(model)) layer.step = globalStep;
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const auto = tf.tidy(() => {
    const { grads } = tf.variableGrads(() => objective.loss(applyModel(model, x, true), y), variables);
    return Array.from(tf.concat(variables.map((v) => grads[v.name].reshape([-1]))).dataSync());
  });
  expect(manual).toHaveLength(auto.length);
  const scale = Math.max(...auto.map(Math.abs));
  const worst = Math.max(...manual.map((g, i) => Math.abs(g - auto[i])));
  expect(worst / scale).toBeLessThan(2e-5);
  step.dispose();
  model.dispose();
  tf.dispose([x, y]);
}

describe('FusedLstmStep gradients', () => {
  it.each<Case>([
    { layers: [6], dropout: 0, task: 'forecasting', batch: 7 },
    { layers: [6], dropout: 0.3, task: 'forecasting', batch: 7 },
    { layers: [4, 5], dropout: 0.2, task: 'forecasting', batch: 6 },
    { layers: [3, 4, 2], dropout: 0, task: 'forecasting', batch: 2 },
    { layers: [5], dropout: 0.1, task: 'classification', batch: 7 },
    { layers: [4, 3], dropout: 0, task: 'forecasting', batch: 5, sigmoid: true },
    { layers: [4, 3], dropout: 0.2, task: 'forecasting', batch: 3, before: 8 },
  ])('match autodiff for LSTM $layers, dropout $dropout, $task', (c) => {
    compare(c);
  });

  it('are refused where the step does not apply', () => {
    const lstm = (type: 'lstm' | 'gru') =>
      buildNetwork({
        network: { type, layers: [3], activation: 'tanh', dropout: 0 },
        inputShape: [4, 2],
        targetSize: 1,
        task: 'forecasting',
        seed: 1,
      });
    expect(planFusedLstm(lstm('lstm'), 'wasm')).toBeDefined();
    expect(planFusedLstm(lstm('lstm'), 'cpu')).toBeDefined();
    // Native TensorFlow keeps autodiff: per-step host reads are what this step is built on.
    expect(planFusedLstm(lstm('lstm'), 'tensorflow')).toBeUndefined();
    expect(planFusedLstm(lstm('gru'), 'wasm')).toBeUndefined();
  });
});

/** History without wall-clock times: what must be reproducible. */
const curves = (result: TrainResult) =>
  result.history.map(({ epoch, metrics, gradientNorms }) => ({ epoch, metrics, gradientNorms }));

describe('train() with the fused LSTM step', () => {
  const data = syntheticSequence({ count: 240, window: 6, seed: 4 });
  const builtin = builtinFor('forecasting', {
    network: { type: 'lstm', layers: [6], dropout: 0.1 },
    hyperparameters: { epochs: 3, batchSize: 16 },
  });

  it('learns and is reproducible', async () => {
    const a = await train({ data, builtin, outDir: freshDir(), onEvent: () => {} });
    expect(a.stepKind).toBe('fused-lstm');
    expect(a.history[2].metrics.val_loss).toBeLessThan(a.history[0].metrics.val_loss);
    const b = await train({ data, builtin, outDir: freshDir(), onEvent: () => {} });
    expect(curves(b)).toEqual(curves(a));
  });

  it('resumes mid-epoch to the result of an uninterrupted run', async () => {
    const reference = await train({ data, builtin, outDir: freshDir(), onEvent: () => {} });
    const outDir = freshDir();
    const controller = new AbortController();
    const aborted = train({
      data,
      builtin,
      outDir,
      stepInterval: 1,
      signal: controller.signal,
      onEvent: (e: ProgressEvent) => {
        if (e.type === 'step' && e.step === 15) controller.abort();
      },
    });
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    const resumed = await train({ data, builtin, outDir, onEvent: () => {} });
    expect(resumed.resumedFromEpoch).toBe(1);
    expect(curves(resumed)).toEqual(curves(reference));
    const weights = (r: TrainResult) => r.model.getWeights().map((w) => Array.from(w.dataSync()));
    expect(weights(resumed)).toEqual(weights(reference));
  });
});
