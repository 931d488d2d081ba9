/**
 * `model.apply` on concrete tensors, typed. LayersModel.apply is declared to return symbolic
 * tensors or lists too; our models have one input and one output, so anything else is a bug.
 */
import * as tf from '@tensorflow/tfjs';

export function applyModel(model: tf.LayersModel, x: tf.Tensor, training: boolean): tf.Tensor {
  const out = model.apply(x, { training });
  if (out instanceof tf.Tensor) return out;
  throw new Error(`model ${model.name} did not return a single tensor`);
}
