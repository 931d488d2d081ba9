/**
 * The hand-written MLP backward pass must equal tfjs autodiff through the layers model, for every
 * activation, both output kinds, with and without dropout (same masks: same seeds, same draw).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACTIVATIONS, type Task } from '../../resources/training-run.js';
import { selectBackend } from '../../artifact/tfjs-backend.js';
import { applyModel } from '../../artifact/apply-model.js';
import { buildNetwork } from '../../trainer/network/build-network.js';
import { seededDropouts } from '../../trainer/network/seeded-dropout.js';
import { FlatMlpStep, planFlatMlp } from '../../trainer/training/mlp-step.js';
import { objectiveFor } from '../../trainer/training/objective.js';

beforeAll(async () => {
  await selectBackend({ acceleratorRequested: false, env: { MLFORM_BACKEND: 'wasm' } });
});

function compare(activation: (typeof ACTIVATIONS)[number], task: Task, dropout: number): void {
  const targetSize = task === 'classification' ? 3 : 1;
  const model = buildNetwork({
    network: { type: 'mlp', layers: [7, 5], activation, dropout },
    inputShape: [4],
    targetSize,
    task,
    seed: 11,
  });
  const objective = objectiveFor(task);
  const units = planFlatMlp(model);
  expect(units).toBeDefined();
  const step = new FlatMlpStep(units ?? [], tf.train.sgd(0), objective);
  const x = tf.randomNormal([6, 4], 0, 1, 'float32', 1);
  const y =
    task === 'classification'
      ? tf.oneHot(tf.tensor1d([0, 1, 2, 2, 1, 0], 'int32'), 3).toFloat()
      : tf.randomNormal([6, 1], 0, 1, 'float32', 2);
  const globalStep = 17;

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
}

describe('FlatMlpStep gradients', () => {
  it.each(ACTIVATIONS.map((a) => [a]))(
    'match autodiff for %s hidden layers (regression, with dropout)',
    (activation) => {
      compare(activation, 'regression', 0.3);
    },
  );

  it('match autodiff for softmax + cross-entropy', () => {
    compare('relu', 'classification', 0);
    compare('tanh', 'classification', 0.2);
  });

  it('is refused for networks it cannot express', () => {
    const lstm = buildNetwork({
      network: { type: 'lstm', layers: [3], activation: 'tanh', dropout: 0 },
      inputShape: [2, 2],
      targetSize: 1,
      task: 'forecasting',
      seed: 1,
    });
    expect(planFlatMlp(lstm)).toBeUndefined();
  });

  it('trains the same weights the model ends up with', () => {
    const model = buildNetwork({
      network: { type: 'mlp', layers: [4], activation: 'relu', dropout: 0 },
      inputShape: [3],
      targetSize: 1,
      task: 'regression',
      seed: 5,
    });
    const step = new FlatMlpStep(planFlatMlp(model) ?? [], tf.train.sgd(0.1), objectiveFor('regression'));
    const before = model.getWeights().map((w) => Array.from(w.dataSync()));
    tf.tidy(() => step.step(tf.ones([2, 3]), tf.ones([2, 1]), 0));
    expect(model.getWeights().map((w) => Array.from(w.dataSync()))).toEqual(before);
    step.syncToModel();
    expect(model.getWeights().map((w) => Array.from(w.dataSync()))).not.toEqual(before);
    step.dispose();
  });
});
