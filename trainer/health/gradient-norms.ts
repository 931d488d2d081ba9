/**
 * Per-layer gradient norms on a probe batch. Computed once per epoch by the training loop (not
 * every step: a second backward pass per step would cost as much as training), in inference mode
 * so the probe draws no dropout masks and leaves the training's random stream untouched.
 */
import * as tf from '@tensorflow/tfjs';
import { applyModel } from '../../artifact/apply-model.js';

export type LossFn = (pred: tf.Tensor, y: tf.Tensor) => tf.Scalar;

/** Layer name -> global L2 norm of the gradients of all its trainable weights. */
export function layerGradientNorms(
  model: tf.LayersModel,
  x: tf.Tensor,
  y: tf.Tensor,
  loss: LossFn,
): Record<string, number> {
  const layers = model.layers.filter((layer) => layer.trainableWeights.length > 0);
  if (layers.length === 0) return {};
  const values = tf.tidy(() => {
    const variables = layers.flatMap((layer) => layer.trainableWeights.map((w) => w.read() as tf.Variable));
    const { grads } = tf.variableGrads(() => loss(applyModel(model, x, false), y), variables);
    const perLayer = layers.map((layer) =>
      tf.sqrt(tf.addN(layer.trainableWeights.map((w) => tf.sum(tf.square(grads[w.name]))))),
    );
    return tf.stack(perLayer).dataSync();
  });
  return Object.fromEntries(layers.map((layer, i) => [layer.name, values[i]]));
}

/** The norm of the whole gradient from per-layer norms. */
export const globalNorm = (norms: Record<string, number>): number =>
  Math.sqrt(Object.values(norms).reduce((sum, n) => sum + n * n, 0));
