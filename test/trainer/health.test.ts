import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '../../artifact/tfjs-backend.js';
import { assessHealth, healthScalars } from '../../trainer/health/assess-health.js';
import { generalizationGap, lossStability } from '../../trainer/health/curves.js';
import { deadNeuronFractions } from '../../trainer/health/dead-neurons.js';
import { globalNorm, layerGradientNorms } from '../../trainer/health/gradient-norms.js';
import { buildNetwork } from '../../trainer/network/build-network.js';
import { objectiveFor } from '../../trainer/training/objective.js';
import { train } from '../../trainer/training/train.js';
import { builtinFor, syntheticRegression } from './training-data.js';

let root: string;
beforeAll(async () => {
  await selectBackend({ acceleratorRequested: false, env: { MLFORM_BACKEND: 'wasm' } });
  root = await mkdtemp(join(tmpdir(), 'mlform-health-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const data = syntheticRegression({ count: 600, features: 4, seed: 8 });

describe('dead neurons', () => {
  it('counts the ReLU units that never fire on the probe batch', () => {
    const model = buildNetwork({
      network: { type: 'mlp', layers: [8, 4], activation: 'relu', dropout: 0 },
      inputShape: [4],
      targetSize: 1,
      task: 'regression',
      seed: 1,
    });
    // dense_1: units 0-2 have no input weights and a negative bias, so they output 0 for every
    // input; the others get a large positive bias and are always alive. dense_2: constant 1.
    const kernel1 = tf.randomNormal([4, 8], 0, 0.1, 'float32', 1).mul(tf.tensor1d([0, 0, 0, 1, 1, 1, 1, 1]));
    const bias1 = tf.tensor1d([-1, -1, -1, 10, 10, 10, 10, 10]);
    const [, , , , kernelOut, biasOut] = model.getWeights();
    model.setWeights([kernel1, bias1, tf.zeros([8, 4]), tf.ones([4]), kernelOut, biasOut]);
    const fractions = deadNeuronFractions(model, tf.randomNormal([64, 4], 0, 3, 'float32', 2));
    expect(fractions).toEqual({ dense_1: 3 / 8, dense_2: 0 });
  });

  it('ignores layers whose activation cannot die', () => {
    const model = buildNetwork({
      network: { type: 'mlp', layers: [4], activation: 'tanh', dropout: 0 },
      inputShape: [4],
      targetSize: 1,
      task: 'regression',
      seed: 1,
    });
    expect(deadNeuronFractions(model, tf.ones([2, 4]))).toEqual({});
  });
});

describe('curves', () => {
  it('measures loss stability as the coefficient of variation of the last val losses', () => {
    expect(lossStability([9, 1, 1, 1, 1, 1]).cv).toBe(0);
    expect(lossStability([1, 3]).cv).toBeCloseTo(0.5, 10);
    expect(lossStability([1])).toEqual({ cv: null, window: 1 });
  });

  it('flags overfitting when the gap is above 0.5 and growing', () => {
    const losses = [1, 0.8, 0.6, 0.4, 0.3];
    expect(generalizationGap(losses, [1, 1, 1, 1, 1])).toMatchObject({ increasing: true, overfitting: true });
    expect(generalizationGap(losses, [1, 1, 1, 1, 1]).gap).toBeCloseTo(1 / 0.3 - 1, 10);
    expect(generalizationGap(losses, [1.05, 0.84, 0.63, 0.42, 0.31])).toMatchObject({ overfitting: false });
    expect(generalizationGap([0.1, 0.1], [0.3, 0.2])).toMatchObject({
      gap: 1,
      increasing: false,
      overfitting: false,
    });
  });
});

describe('gradient norms', () => {
  it('gives one finite norm per layer with weights', () => {
    const model = buildNetwork({
      network: { type: 'mlp', layers: [8], activation: 'relu', dropout: 0.5 },
      inputShape: [4],
      targetSize: 1,
      task: 'regression',
      seed: 1,
    });
    const norms = layerGradientNorms(
      model,
      tf.ones([4, 4]),
      tf.ones([4, 1]),
      objectiveFor('regression').loss,
    );
    expect(Object.keys(norms)).toEqual(['dense_1', 'output']);
    for (const norm of Object.values(norms)) expect(norm).toBeGreaterThan(0);
    expect(globalNorm({ a: 3, b: 4 })).toBe(5);
  });
});

describe('assessHealth', () => {
  it('scores a normal training as healthy', async () => {
    const result = await train({
      data,
      builtin: builtinFor('regression', { hyperparameters: { epochs: 6 } }),
      outDir: join(root, 'healthy'),
      onEvent: () => undefined,
    });
    const health = assessHealth({
      model: result.model,
      history: result.history,
      data,
      diverged: result.diverged,
    });
    expect(health.gradients.exploding).toBe(false);
    expect(health.gradients.vanishing).toBe(false);
    expect(health.gradients.epochs).toBe(5);
    expect(Object.keys(health.gradients.layers)).toEqual(['dense_1', 'dense_2', 'output']);
    expect(health.deadNeurons.probeSamples).toBe(150);
    expect(health.healthScore).toBeGreaterThan(0.6);
    expect(health.flags).not.toContain('exploding-gradients');
    const scalars = healthScalars(health);
    expect(scalars['health/score']).toBe(health.healthScore);
    expect(scalars['health/exploding']).toBe(0);
    expect(Object.keys(scalars)).toContain('health/dead_fraction/dense_1');
    expect(JSON.parse(JSON.stringify(health))).toEqual(health);
  });

  it('flags exploding gradients on a huge learning rate', async () => {
    const result = await train({
      data,
      builtin: builtinFor('regression', {
        hyperparameters: { epochs: 4, learningRate: 10, optimizer: 'sgd' },
      }),
      outDir: join(root, 'exploding'),
      onEvent: () => undefined,
    });
    const health = assessHealth({
      model: result.model,
      history: result.history,
      data,
      diverged: result.diverged,
    });
    expect(health.gradients.exploding).toBe(true);
    expect(health.flags).toContain('exploding-gradients');
    expect(health.components.gradients).toBe(0);
    expect(health.healthScore).toBe(0);
  });
});
