/**
 * The serving fast path for MLPs gives the same numbers as model.predict, bit for bit, for every
 * activation and layer arrangement trainer/network builds, and declines what it does not handle.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BuiltinTrainer, Task } from '../../resources/training-run.js';
import { selectBackend } from '../../artifact/tfjs-backend.js';
import { buildNetwork } from '../../trainer/network/build-network.js';
import { compileDenseForward } from '../../serving/dense-forward.js';

beforeAll(async () => {
  await selectBackend({ acceleratorRequested: false });
});

type Network = BuiltinTrainer['network'];

const CASES: { name: string; network: Network; inputShape: number[]; task: Task; targetSize: number }[] = [
  ...(['relu', 'linear', 'elu', 'tanh', 'sigmoid', 'selu'] as const).map((activation) => ({
    name: `mlp ${activation}`,
    network: { type: 'mlp' as const, layers: [16, 8], activation, dropout: 0 },
    inputShape: [7],
    task: 'regression' as const,
    targetSize: 1,
  })),
  {
    name: 'classification (softmax output) with dropout',
    network: { type: 'mlp', layers: [12], activation: 'relu', dropout: 0.3 },
    inputShape: [4],
    task: 'classification',
    targetSize: 3,
  },
  {
    name: 'windowed input (Flatten first)',
    network: { type: 'mlp', layers: [10], activation: 'relu', dropout: 0 },
    inputShape: [5, 3],
    task: 'forecasting',
    targetSize: 1,
  },
];

describe('compileDenseForward', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s: identical to model.predict', (_name, c) => {
    const model = buildNetwork({ ...c, seed: 3 });
    const forward = compileDenseForward(model);
    expect(forward).toBeDefined();
    for (const count of [1, 5, 64]) {
      const x = tf.randomNormal([count, ...c.inputShape], 0, 2, 'float32', 11);
      const fast = tf.tidy(() => forward!(x).dataSync());
      const reference = tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
      expect(Array.from(fast)).toEqual(Array.from(reference));
      x.dispose();
    }
    model.dispose();
  });

  it('declines recurrent networks (they go through model.apply)', () => {
    const model = buildNetwork({
      network: { type: 'lstm', layers: [4], activation: 'relu', dropout: 0 },
      inputShape: [5, 2],
      targetSize: 1,
      task: 'forecasting',
      seed: 1,
    });
    expect(compileDenseForward(model)).toBeUndefined();
    model.dispose();
  });

  it('leaks no tensors', () => {
    const model = buildNetwork({
      network: { type: 'mlp', layers: [8], activation: 'tanh', dropout: 0 },
      inputShape: [3],
      targetSize: 2,
      task: 'classification',
      seed: 1,
    });
    const forward = compileDenseForward(model)!;
    const x = tf.ones([2, 3]);
    const before = tf.memory().numTensors;
    tf.tidy(() => forward(x).dataSync());
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    model.dispose();
  });
});
