/**
 * The inference pass of a plain MLP (what trainer/network builds for `type: mlp`) as a handful
 * of tfjs ops, without tfjs-layers' per-call machinery (symbolic checks, name scopes, per-layer
 * tidy): about twice as fast per model call on wasm for the small networks mlform trains.
 *
 * The result is bit-identical to `model.predict`, because it issues the very kernels
 * tfjs-layers' Dense.call issues: `fused.matMul` with the activation fused for relu, linear and
 * elu, else `matMul` + bias `add` + the activation op. Dropout is the identity at inference and
 * Flatten is a reshape. Any other layer (LSTM, GRU, ...) or activation: undefined, and the caller
 * falls back to `model.apply`. test/serving/dense-forward.test.ts compares both on every path.
 */
import * as tf from '@tensorflow/tfjs';

/** Activations the fused kernel applies (tfjs-layers' mapActivationToFusedKernel). */
const FUSED = new Set(['relu', 'linear', 'elu']);

/** The other activations a Dense layer may have here, as the ops tfjs-layers applies. */
const SEPARATE: Record<string, (x: tf.Tensor) => tf.Tensor> = {
  softmax: (x) => tf.softmax(x, -1),
  sigmoid: (x) => tf.sigmoid(x),
  tanh: (x) => tf.tanh(x),
  selu: (x) => tf.selu(x),
};

type DenseStep = { kernel: tf.Tensor2D; bias?: tf.Tensor1D; activation: string };

export type Forward = (x: tf.Tensor) => tf.Tensor;

function activationOf(layer: tf.layers.Layer): string | undefined {
  const activation = layer.getConfig().activation;
  return typeof activation === 'string' ? activation : undefined;
}

export function compileDenseForward(model: tf.LayersModel): Forward | undefined {
  const steps: DenseStep[] = [];
  let flatten = false;
  for (const [index, layer] of model.layers.entries()) {
    const kind = layer.getClassName();
    if (kind === 'Flatten' && index === 0) {
      flatten = true;
      continue;
    }
    if (kind === 'Dropout') continue;
    if (kind !== 'Dense') return undefined;
    const activation = activationOf(layer);
    if (activation === undefined || !(FUSED.has(activation) || activation in SEPARATE)) return undefined;
    const weights = layer.getWeights();
    const [kernel, bias] = weights;
    if (weights.length > 2 || kernel.rank !== 2 || (bias !== undefined && bias.rank !== 1)) return undefined;
    steps.push({
      kernel: kernel as tf.Tensor2D,
      ...(bias !== undefined && { bias: bias as tf.Tensor1D }),
      activation,
    });
  }
  if (steps.length === 0) return undefined;

  return (x) => {
    let h: tf.Tensor = flatten ? tf.reshape(x, [x.shape[0], -1]) : x;
    for (const step of steps) {
      if (FUSED.has(step.activation)) {
        h = tf.fused.matMul({
          a: h,
          b: step.kernel,
          bias: step.bias,
          activation: step.activation as tf.fused.Activation,
        });
      } else {
        let out: tf.Tensor = tf.fused.matMul({ a: h, b: step.kernel });
        if (step.bias) out = tf.add(out, step.bias);
        h = SEPARATE[step.activation](out);
      }
    }
    return h;
  };
}
