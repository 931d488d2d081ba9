/**
 * The epoch tail's gradient-norm probe through the flat MLP step (issue 17 item 9): the same
 * per-layer norms as autodiff through the layers model in inference mode (no dropout), and it
 * leaves the step's training untouched.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../resources/training-run.js';
import { selectBackend } from '../../artifact/tfjs-backend.js';
import { buildNetwork } from '../../trainer/network/build-network.js';
import { layerGradientNorms } from '../../trainer/health/gradient-norms.js';
import { FlatMlpStep, planFlatMlp } from '../../trainer/training/mlp-step.js';
import { objectiveFor } from '../../trainer/training/objective.js';

beforeAll(async () => {
  await selectBackend({ acceleratorRequested: false, env: { MLFORM_BACKEND: 'wasm' } });
});

const OUTPUTS: Record<Task, number> = { regression: 1, forecasting: 1, classification: 3 };

function probeBoth(task: Task, activation: 'relu' | 'tanh' | 'swish', dropout: number) {
  const network = { type: 'mlp' as const, layers: [16, 8], activation, dropout };
  const model = buildNetwork({ network, inputShape: [5], targetSize: OUTPUTS[task], task, seed: 3 });
  const objective = objectiveFor(task);
  const step = new FlatMlpStep(planFlatMlp(model)!, tf.train.sgd(0), objective);
  const x = tf.randomNormal([40, 5], 0, 1, 'float32', 4);
  const y =
    task === 'classification'
      ? tf
          .oneHot(
            tf.tensor1d(
              Array.from({ length: 40 }, (_, i) => i % 3),
              'int32',
            ),
            3,
          )
          .toFloat()
      : tf.randomNormal([40, 1], 0, 1, 'float32', 5);
  const flat = step.gradientNorms(x, y);
  const auto = layerGradientNorms(model, x, y, objective.loss);
  step.dispose();
  tf.dispose([x, y]);
  model.dispose();
  return { flat, auto };
}

describe('FlatMlpStep.gradientNorms', () => {
  it.each([
    ['regression', 'relu', 0.3],
    ['regression', 'swish', 0],
    ['classification', 'tanh', 0.2],
  ] as const)('equals autodiff per layer (%s, %s, dropout %s)', (task, activation, dropout) => {
    const { flat, auto } = probeBoth(task, activation, dropout);
    expect(Object.keys(flat)).toEqual(Object.keys(auto));
    for (const [layer, norm] of Object.entries(auto)) {
      expect(norm).toBeGreaterThan(0);
      expect(Math.abs(flat[layer] - norm) / norm).toBeLessThan(1e-4);
    }
  });

  it('draws no dropout masks and is repeatable', () => {
    const a = probeBoth('regression', 'relu', 0.5);
    const b = probeBoth('regression', 'relu', 0.5);
    expect(a.flat).toEqual(b.flat);
  });
});
