import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../artifact/tfjs-backend.js';
import { applyModel } from '../../artifact/apply-model.js';
import { buildNetwork, modelSummary, type NetworkSpec } from '../../trainer/network/build-network.js';
import { SeededDropout, seededDropouts } from '../../trainer/network/seeded-dropout.js';

const spec = (overrides: Partial<NetworkSpec> = {}): NetworkSpec => ({
  type: 'mlp',
  layers: [16, 8],
  activation: 'relu',
  dropout: 0,
  ...overrides,
});

const weightsOf = (model: tf.LayersModel): number[][] =>
  model.getWeights().map((w) => Array.from(w.dataSync()));

beforeAll(async () => {
  await selectBackend({ acceleratorRequested: false, env: { MLFORM_BACKEND: 'wasm' } });
});

describe('buildNetwork', () => {
  it('builds an mlp: dense layers with dropout, a linear head', () => {
    const model = buildNetwork({
      network: spec({ dropout: 0.2 }),
      inputShape: [5],
      targetSize: 1,
      task: 'regression',
      seed: 1,
    });
    expect(model.layers.map((l) => `${l.getClassName()}:${l.name}`)).toEqual([
      'Dense:dense_1',
      'Dropout:dropout_1',
      'Dense:dense_2',
      'Dropout:dropout_2',
      'Dense:output',
    ]);
    expect(model.layers[0].getConfig().activation).toBe('relu');
    expect(model.layers.at(-1)?.getConfig().activation).toBe('linear');
    const out = model.predict(tf.ones([3, 5])) as tf.Tensor;
    expect(out.shape).toEqual([3, 1]);
  });

  it('flattens windows for an mlp', () => {
    const model = buildNetwork({
      network: spec(),
      inputShape: [4, 3],
      targetSize: 1,
      task: 'forecasting',
      seed: 1,
    });
    expect(model.layers[0].getClassName()).toBe('Flatten');
    expect((model.predict(tf.ones([2, 4, 3])) as tf.Tensor).shape).toEqual([2, 1]);
  });

  it.each(['lstm', 'gru'] as const)(
    'stacks %s layers, sequences on all but the last, then a dense head',
    (type) => {
      const model = buildNetwork({
        network: spec({ type, layers: [6, 5, 4], dropout: 0.1 }),
        inputShape: [7, 3],
        targetSize: 1,
        task: 'forecasting',
        seed: 3,
      });
      const recurrent = model.layers.filter((l) => l.getClassName() === type.toUpperCase());
      expect(recurrent.map((l) => l.getConfig().returnSequences)).toEqual([true, true, false]);
      expect(recurrent.map((l) => l.getConfig().units)).toEqual([6, 5, 4]);
      expect(model.layers.at(-1)?.getClassName()).toBe('Dense');
      expect((model.predict(tf.ones([2, 7, 3])) as tf.Tensor).shape).toEqual([2, 1]);
    },
  );

  it('ends classification in a softmax whose rows sum to 1', () => {
    const model = buildNetwork({
      network: spec(),
      inputShape: [5],
      targetSize: 4,
      task: 'classification',
      seed: 1,
    });
    const probabilities = model.predict(tf.randomNormal([10, 5], 0, 3, 'float32', 7)) as tf.Tensor;
    expect(probabilities.shape).toEqual([10, 4]);
    for (const sum of tf.sum(probabilities, 1).dataSync()) expect(sum).toBeCloseTo(1, 5);
  });

  it('gives the same initial weights for the same seed, and different ones otherwise', () => {
    for (const network of [
      spec({ layers: [8, 8, 8] }),
      spec({ type: 'lstm', layers: [4, 4] }),
      spec({ type: 'gru', layers: [4] }),
    ]) {
      const inputShape = network.type === 'mlp' ? [5] : [3, 5];
      const build = (seed: number) =>
        buildNetwork({ network, inputShape, targetSize: 1, task: 'forecasting', seed });
      const a = weightsOf(build(42));
      expect(weightsOf(build(42))).toEqual(a);
      expect(weightsOf(build(43))).not.toEqual(a);
    }
    // Layers of the same shape draw from different seeds.
    const [, , k2, , k3] = weightsOf(
      buildNetwork({
        network: spec({ layers: [8, 8, 8] }),
        inputShape: [5],
        targetSize: 1,
        task: 'regression',
        seed: 1,
      }),
    );
    expect(k2).not.toEqual(k3);
  });

  it('rejects shapes that do not fit the network', () => {
    expect(() =>
      buildNetwork({
        network: spec({ type: 'lstm' }),
        inputShape: [5],
        targetSize: 1,
        task: 'forecasting',
        seed: 1,
      }),
    ).toThrow('lstm networks read sequences: inputShape must be [window, features], got [5]');
    expect(() =>
      buildNetwork({ network: spec(), inputShape: [5], targetSize: 1, task: 'classification', seed: 1 }),
    ).toThrow('classification needs at least 2 classes');
  });

  it('summarises the model as text', () => {
    const model = buildNetwork({
      network: spec(),
      inputShape: [5],
      targetSize: 1,
      task: 'regression',
      seed: 1,
    });
    const summary = modelSummary(model);
    expect(summary).toContain('dense_1 (Dense)');
    expect(summary).toContain('output (Dense)');
    expect(summary).toContain(`Total params: ${5 * 16 + 16 + 16 * 8 + 8 + 8 + 1}`);
  });
});

describe('SeededDropout', () => {
  it('draws a new mask each step, the same mask for the same step, and is the identity at inference', () => {
    const model = buildNetwork({
      network: spec({ dropout: 0.5 }),
      inputShape: [5],
      targetSize: 1,
      task: 'regression',
      seed: 1,
    });
    const [dropout] = seededDropouts(model);
    expect(dropout).toBeInstanceOf(SeededDropout);
    const x = tf.ones([4, 16]);
    const at = (step: number): number[] => {
      dropout.step = step;
      return Array.from((dropout.apply(x, { training: true }) as tf.Tensor).dataSync());
    };
    expect(new Set(at(0))).toEqual(new Set([0, 2]));
    expect(at(0)).toEqual(at(0));
    expect(at(1)).not.toEqual(at(0));
    expect(Array.from((dropout.apply(x) as tf.Tensor).dataSync())).toEqual(new Array(64).fill(1));
    const input = tf.ones([3, 5]);
    expect(Array.from(applyModel(model, input, false).dataSync())).toEqual(
      Array.from((model.predict(input) as tf.Tensor).dataSync()),
    );
  });

  it('serialises as a standard Dropout', () => {
    const model = buildNetwork({
      network: spec({ dropout: 0.25 }),
      inputShape: [5],
      targetSize: 1,
      task: 'regression',
      seed: 1,
    });
    const topology = model.toJSON(undefined, false) as {
      config: { layers: { class_name: string; config: { rate: number } }[] };
    };
    const dropout = topology.config.layers.find((l) => l.class_name === 'Dropout');
    expect(dropout?.config.rate).toBe(0.25);
  });
});
