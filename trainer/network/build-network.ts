/**
 * The one place networks are built from a TrainingRun's `network` spec.
 *
 * - mlp: [Flatten] Dense(units, activation) [Dropout] ... Dense(out)
 * - lstm / gru: stacked recurrent layers (all but the last return sequences) [Dropout after each]
 *   then Dense(out). The cells keep their standard tanh/sigmoid gates: `network.activation` is the
 *   activation of mlp hidden layers; a relu inside an LSTM cell breaks its gating and explodes.
 * - out: linear for regression and forecasting, softmax for classification.
 *
 * Every initialiser is seeded with a seed derived from (seed, layer index, role), so the same seed
 * gives bit-identical initial weights and layers of the same shape still start different.
 */
import * as tf from '@tensorflow/tfjs';
import type { BuiltinTrainer, Task } from '../../resources/training-run.js';
import { deriveSeed } from '../training/rng.js';
import { SeededDropout } from './seeded-dropout.js';

export type NetworkSpec = BuiltinTrainer['network'];
export type Activation = NetworkSpec['activation'];

export interface BuildNetworkOptions {
  network: NetworkSpec;
  /** Shape of one sample: [features] for tabular data, [window, features] for sequences. */
  inputShape: number[];
  /** 1 for regression and forecasting, the number of classes for classification. */
  targetSize: number;
  task: Task;
  seed: number;
}

/** Seed roles, so that a layer's kernel, recurrent kernel and dropout draw unrelated numbers. */
const ROLE = { kernel: 1, recurrent: 2, dropout: 3 } as const;

/**
 * He init keeps the variance of relu-like activations across layers, LeCun normal is what selu's
 * self-normalisation assumes, Glorot suits the saturating and linear ones (and is Keras' default).
 */
type Initializer = ReturnType<typeof tf.initializers.glorotUniform>;

function kernelInitializer(activation: Activation, seed: number): Initializer {
  switch (activation) {
    case 'relu':
    case 'elu':
    case 'swish':
      return tf.initializers.heUniform({ seed });
    case 'selu':
      return tf.initializers.leCunNormal({ seed });
    case 'tanh':
    case 'sigmoid':
    case 'linear':
      return tf.initializers.glorotUniform({ seed });
  }
}

export function buildNetwork(options: BuildNetworkOptions): tf.LayersModel {
  const { network, inputShape, targetSize, task, seed } = options;
  if (inputShape.length === 0 || inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new Error(`inputShape must be positive integers, got [${inputShape.join(', ')}]`);
  }
  if (!Number.isInteger(targetSize) || targetSize < 1)
    throw new Error(`targetSize must be >= 1, got ${targetSize}`);
  if (task === 'classification' && targetSize < 2) {
    throw new Error(`classification needs at least 2 classes, got targetSize ${targetSize}`);
  }
  const recurrent = network.type === 'lstm' || network.type === 'gru';
  if (recurrent && inputShape.length !== 2) {
    throw new Error(
      `${network.type} networks read sequences: inputShape must be [window, features], got [${inputShape.join(', ')}]`,
    );
  }

  const model = tf.sequential({ name: `mlform_${network.type}` });
  const seedFor = (layer: number, role: number): number => deriveSeed(seed, layer, role);
  let first = true;
  const shapeArgs = (): { inputShape?: number[] } => {
    if (!first) return {};
    first = false;
    return { inputShape };
  };

  if (!recurrent && inputShape.length > 1) {
    model.add(tf.layers.flatten({ inputShape, name: 'flatten' }));
    first = false;
  }

  network.layers.forEach((units, i) => {
    const n = i + 1;
    if (recurrent) {
      const args = {
        units,
        returnSequences: i < network.layers.length - 1,
        kernelInitializer: tf.initializers.glorotUniform({ seed: seedFor(n, ROLE.kernel) }),
        recurrentInitializer: tf.initializers.orthogonal({ seed: seedFor(n, ROLE.recurrent), gain: 1 }),
        biasInitializer: tf.initializers.zeros(),
        name: `${network.type}_${n}`,
        ...shapeArgs(),
      };
      // Weights are created when a layer is added to the model, so that is what must be quiet.
      quietOrthogonal(() => model.add(network.type === 'lstm' ? tf.layers.lstm(args) : tf.layers.gru(args)));
    } else {
      model.add(
        tf.layers.dense({
          units,
          activation: network.activation,
          kernelInitializer: kernelInitializer(network.activation, seedFor(n, ROLE.kernel)),
          biasInitializer: tf.initializers.zeros(),
          name: `dense_${n}`,
          ...shapeArgs(),
        }),
      );
    }
    if (network.dropout > 0) {
      model.add(
        new SeededDropout({ rate: network.dropout, seed: seedFor(n, ROLE.dropout), name: `dropout_${n}` }),
      );
    }
  });

  const out = network.layers.length + 1;
  model.add(
    tf.layers.dense({
      units: targetSize,
      activation: task === 'classification' ? 'softmax' : 'linear',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seedFor(out, ROLE.kernel) }),
      biasInitializer: tf.initializers.zeros(),
      name: 'output',
    }),
  );
  return model;
}

/**
 * tfjs warns on stderr for every orthogonal initialisation above 2000 elements (a 64-unit LSTM is
 * 16384): noise in every training log for a QR that takes milliseconds. Synchronous, so the
 * console is restored before anything else runs.
 */
function quietOrthogonal<T>(fn: () => T): T {
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    if (typeof args[0] === 'string' && args[0].startsWith('Orthogonal initializer is being called')) return;
    warn(...args);
  };
  try {
    return fn();
  } finally {
    console.warn = warn;
  }
}

/** Keras-style layer table plus parameter counts, for the TensorBoard text tab and logs. */
export function modelSummary(model: tf.LayersModel): string {
  const lines: string[] = [];
  model.summary(100, [0.4, 0.75, 1], (...message: unknown[]) => {
    lines.push(message.map(String).join(' '));
  });
  return lines.join('\n');
}
