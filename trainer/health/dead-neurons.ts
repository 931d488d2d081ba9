/**
 * Dead ReLU units: units whose output is 0 for every sample of a probe batch. A unit that never
 * activates gets no gradient and never recovers, so a large fraction means wasted capacity (too
 * high a learning rate, a bad initialisation, a large negative bias).
 */
import * as tf from '@tensorflow/tfjs';

/** Dense layers with a ReLU activation, the only ones whose units can be dead in this sense. */
function reluLayers(model: tf.LayersModel): tf.layers.Layer[] {
  return model.layers.filter(
    (layer) => layer.getClassName() === 'Dense' && layer.getConfig().activation === 'relu',
  );
}

/** Layer name -> fraction (0..1) of its units that output 0 for all of `x`. */
export function deadNeuronFractions(model: tf.LayersModel, x: tf.Tensor): Record<string, number> {
  const layers = reluLayers(model);
  if (layers.length === 0 || (x.shape[0] ?? 0) === 0) return {};
  // A view of the same layers with their activations as outputs: no new weights, nothing to free.
  const probe = tf.model({
    inputs: model.inputs,
    outputs: layers.map((layer) => layer.output as tf.SymbolicTensor),
  });
  const fractions = tf.tidy(() => {
    const out = probe.predict(x);
    const activations = Array.isArray(out) ? out : [out];
    return tf
      .stack(
        activations.map((a) => {
          const units = a.shape[a.shape.length - 1] ?? 1;
          const maxPerUnit = tf.max(tf.reshape(a, [-1, units]), 0);
          return tf.div(tf.sum(tf.cast(tf.lessEqual(maxPerUnit, 0), 'float32')), units);
        }),
      )
      .dataSync();
  });
  return Object.fromEntries(layers.map((layer, i) => [layer.name, fractions[i]]));
}
