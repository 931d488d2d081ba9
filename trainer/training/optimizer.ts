/**
 * Optimizers and their state as plain arrays, for checkpoints.
 *
 * `getWeights()` / `setWeights()` carry the iteration count and the slot variables (Adam moments,
 * RMSProp accumulators). They do not carry Adam's running products beta1^t and beta2^t:
 * setWeights recomputes them with pow(), which differs from the product accumulated step by step
 * in the last float32 bit, and that is enough to make a resumed run drift from an uninterrupted
 * one. So those two scalars are saved and restored alongside.
 */
import * as tf from '@tensorflow/tfjs';
import type { BuiltinTrainer } from '../../resources/training-run.js';
import type { NamedArray } from './checkpoint.js';

export type OptimizerName = BuiltinTrainer['hyperparameters']['optimizer'];

export function makeOptimizer(name: OptimizerName, learningRate: number): tf.Optimizer {
  switch (name) {
    case 'adam':
      return tf.train.adam(learningRate);
    case 'sgd':
      return tf.train.sgd(learningRate);
    case 'rmsprop':
      return tf.train.rmsprop(learningRate);
  }
}

const ADAM_PRODUCTS = ['accBeta1', 'accBeta2'] as const;
const EXTRA_PREFIX = 'mlform:';

/** Adam's private running products, when this optimizer has them. */
function runningProducts(optimizer: tf.Optimizer): Map<string, tf.Variable> {
  const out = new Map<string, tf.Variable>();
  const fields = optimizer as unknown as Record<string, unknown>;
  for (const key of ADAM_PRODUCTS) {
    const value = fields[key];
    if (value instanceof tf.Variable) out.set(key, value);
  }
  return out;
}

export function toNamedArray(name: string, tensor: tf.Tensor): NamedArray {
  const data = tensor.dataSync();
  if (tensor.dtype === 'int32' && data instanceof Int32Array) {
    return { name, shape: tensor.shape, dtype: 'int32', data: data.slice() };
  }
  if (tensor.dtype === 'float32' && data instanceof Float32Array) {
    return { name, shape: tensor.shape, dtype: 'float32', data: data.slice() };
  }
  throw new Error(`cannot checkpoint ${name}: dtype ${tensor.dtype}`);
}

const toTensor = (a: NamedArray): tf.Tensor => tf.tensor(a.data, a.shape, a.dtype);

export async function captureOptimizer(optimizer: tf.Optimizer): Promise<NamedArray[]> {
  const weights = await optimizer.getWeights();
  const out = weights.map((w) => toNamedArray(w.name, w.tensor));
  // getWeights() makes a fresh scalar for the iteration count; the slots are the live variables.
  tf.dispose(weights.filter((w) => !(w.tensor instanceof tf.Variable)).map((w) => w.tensor));
  for (const [key, variable] of runningProducts(optimizer))
    out.push(toNamedArray(EXTRA_PREFIX + key, variable));
  return out;
}

/**
 * Restores state captured by captureOptimizer into a fresh optimizer of the same kind. Slot
 * variables are matched to model variables by position, as tfjs optimizers do, so the model must
 * have the same architecture (the checkpoint fingerprint guarantees it).
 */
export async function restoreOptimizer(optimizer: tf.Optimizer, arrays: NamedArray[]): Promise<void> {
  const slots = arrays.filter((a) => !a.name.startsWith(EXTRA_PREFIX));
  const tensors = slots.map((a) => ({ name: a.name, tensor: toTensor(a) }));
  await optimizer.setWeights(tensors);
  // setWeights turned the tensors into variables (which hold their own reference to the data).
  tf.dispose(tensors.map((t) => t.tensor));
  const products = runningProducts(optimizer);
  for (const a of arrays) {
    const variable = products.get(a.name.slice(EXTRA_PREFIX.length));
    if (a.name.startsWith(EXTRA_PREFIX) && variable) tf.tidy(() => variable.assign(toTensor(a)));
  }
}
