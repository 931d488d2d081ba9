/**
 * Small synthetic, seeded PreparedData for the training-core tests (the real pipeline lives in
 * trainer/data/ and is tested there), and a BuiltinTrainer with the schema's defaults.
 */
import type { BuiltinTrainer, Task } from '../../resources/training-run.js';
import { Rng } from '../../trainer/training/rng.js';
import type { PreparedData, Samples } from '../../trainer/types.js';

function normal(rng: Rng): number {
  // Box-Muller; 1 - u keeps the log finite.
  const u = 1 - rng.next();
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function split(x: Float32Array, y: Float32Array, count: number, f: number, t: number, validation: number) {
  const nVal = Math.round(count * validation);
  const nTrain = count - nVal;
  const train: Samples = { x: x.slice(0, nTrain * f), y: y.slice(0, nTrain * t), count: nTrain };
  const val: Samples = { x: x.slice(nTrain * f), y: y.slice(nTrain * t), count: nVal };
  return { train, validation: val };
}

function prepared(
  task: Task,
  inputShape: number[],
  targetSize: number,
  parts: { train: Samples; validation: Samples },
  seed: number,
): PreparedData {
  const width = inputShape[inputShape.length - 1];
  return {
    task,
    preprocess: {
      formatVersion: 1,
      task,
      features: Array.from({ length: width }, (_, i) => ({
        name: `f${i}`,
        type: 'numeric',
        mean: 0,
        std: 1,
        fill: 0,
      })),
      target:
        task === 'classification'
          ? { type: 'label', name: 'label', labels: Array.from({ length: targetSize }, (_, i) => `c${i}`) }
          : { type: 'numeric', name: 'y', mean: 0, std: 1 },
      encodedWidth: width,
      inputShape,
      ...(inputShape.length === 2 && { window: { size: inputShape[0], horizon: 1, timeColumn: 't' } }),
    },
    train: parts.train,
    validation: parts.validation,
    targetSize,
    fingerprint: `synthetic-${task}-${seed}-${parts.train.count}`,
    columnTypes: {},
    rows: {
      total: parts.train.count + parts.validation.count,
      train: parts.train.count,
      validation: parts.validation.count,
      dropped: 0,
    },
  };
}

/** y = a smooth nonlinear function of the features plus a little noise, roughly unit variance. */
export function syntheticRegression(options: {
  count: number;
  features: number;
  seed?: number;
  validation?: number;
}): PreparedData {
  const { count, features: f, seed = 1, validation = 0.25 } = options;
  const rng = new Rng(seed);
  const weights = Array.from({ length: f }, () => normal(rng));
  const x = new Float32Array(count * f);
  const y = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    let s = 0;
    for (let k = 0; k < f; k++) {
      const v = normal(rng);
      x[i * f + k] = v;
      s += weights[k] * v;
    }
    y[i] = s / Math.sqrt(f) + 0.5 * Math.sin(2 * x[i * f]) + 0.05 * normal(rng);
  }
  return prepared('regression', [f], 1, split(x, y, count, f, 1, validation), seed);
}

/** Classes from the argmax of fixed random projections: learnable, a little noisy at the borders. */
export function syntheticClassification(options: {
  count: number;
  features: number;
  classes: number;
  seed?: number;
}): PreparedData {
  const { count, features: f, classes, seed = 1 } = options;
  const rng = new Rng(seed);
  const projections = Array.from({ length: classes * f }, () => normal(rng));
  const x = new Float32Array(count * f);
  const y = new Float32Array(count * classes);
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < f; k++) x[i * f + k] = normal(rng);
    let best = 0;
    let bestScore = -Infinity;
    for (let c = 0; c < classes; c++) {
      let s = 0;
      for (let k = 0; k < f; k++) s += projections[c * f + k] * x[i * f + k];
      if (s > bestScore) {
        bestScore = s;
        best = c;
      }
    }
    y[i * classes + best] = 1;
  }
  return prepared('classification', [f], classes, split(x, y, count, f, classes, 0.25), seed);
}

/** Windows of a noisy sine: predict the next value from `window` steps of (value, phase). */
export function syntheticSequence(options: { count: number; window: number; seed?: number }): PreparedData {
  const { count, window, seed = 1 } = options;
  const rng = new Rng(seed);
  const f = 2;
  const x = new Float32Array(count * window * f);
  const y = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const phase = rng.next() * 2 * Math.PI;
    for (let t = 0; t < window; t++) {
      x[(i * window + t) * f] = Math.sin(phase + t * 0.3) + 0.05 * normal(rng);
      x[(i * window + t) * f + 1] = Math.cos(phase + t * 0.3);
    }
    y[i] = Math.sin(phase + window * 0.3);
  }
  return prepared('forecasting', [window, f], 1, split(x, y, count, window * f, 1, 0.25), seed);
}

export function builtinFor(
  task: Task,
  overrides: {
    network?: Partial<BuiltinTrainer['network']>;
    hyperparameters?: Partial<BuiltinTrainer['hyperparameters']>;
    seed?: number;
  } = {},
): BuiltinTrainer {
  return {
    task,
    data: { uri: 'file://synthetic.csv', target: 'y', validationSplit: 0.25, maxCategories: 64 },
    network: { type: 'mlp', layers: [16, 16], activation: 'relu', dropout: 0, ...overrides.network },
    hyperparameters: {
      epochs: 5,
      batchSize: 32,
      learningRate: 0.01,
      optimizer: 'adam',
      ...overrides.hyperparameters,
    },
    seed: overrides.seed ?? 42,
  };
}
