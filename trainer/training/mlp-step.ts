/**
 * The fast training step for MLPs.
 *
 * Measured on the wasm backend (32-128-128-1, batch 32), an autodiff step through tfjs-layers is
 * dominated by per-op overhead and slow kernels rather than arithmetic:
 * - wasm's BatchMatMul is fast only without transposes (XNNPACK); the transposed products that
 *   autodiff emits for dW = xᵀ·dz and dx = dz·Wᵀ take 2-4x longer than transpose + plain matmul;
 * - Adam costs ~12 ops per variable, so 6 variables cost ~70 op dispatches per step.
 * This step trains one flat parameter vector (one Adam update of ~12 ops for the whole network)
 * with a hand-written backward pass using explicit transposes, about 3x the samples/s of
 * `model.fit`. The model's own variables are refreshed from the flat vector by syncToModel()
 * (end of epoch: validation, checkpoint, observers), and the math is the same as the model's:
 * same fused dense kernels, same activations, same dropout masks (same seeds, same draw).
 * test/trainer/training-mlp-step.test.ts checks the gradients against autodiff.
 */
import * as tf from '@tensorflow/tfjs';
import type { LayerVariable } from '@tensorflow/tfjs';
import { SeededDropout } from '../network/seeded-dropout.js';
import type { Objective } from './objective.js';
import type { StepRunner } from './step.js';

/** tfjs-core's selu constants. */
const SELU_SCALE = 1.0507009873554805;
const SELU_SCALE_ALPHA = 1.7580993408473766;

const ACTIVATIONS = ['relu', 'linear', 'sigmoid', 'elu', 'tanh', 'selu', 'swish', 'softmax'] as const;
type Activation = (typeof ACTIVATIONS)[number];
/** Activations the fused matMul kernel applies itself. */
const FUSED = new Set<Activation>(['relu', 'linear', 'sigmoid', 'elu']);

export interface DenseUnit {
  /** The Dense layer's name (what health reports gradient norms under). */
  layer: string;
  kernel: LayerVariable;
  bias: LayerVariable;
  activation: Activation;
  inputSize: number;
  units: number;
  dropout?: SeededDropout;
  /** Offsets into the flat vector. */
  kernelOffset: number;
  biasOffset: number;
}

const isActivation = (value: unknown): value is Activation =>
  typeof value === 'string' && (ACTIVATIONS as readonly string[]).includes(value);

/**
 * The dense units of a model this step can train, or undefined: Flatten first, then Dense layers
 * (with bias, no regularisers or constraints) each optionally followed by a SeededDropout, the
 * last Dense linear or softmax.
 */
export function planFlatMlp(model: tf.LayersModel): DenseUnit[] | undefined {
  const units: DenseUnit[] = [];
  let offset = 0;
  for (const [index, layer] of model.layers.entries()) {
    const className = layer.getClassName();
    if (className === 'Flatten' && index === 0) continue;
    if (layer instanceof SeededDropout) {
      const previous = units.at(-1);
      if (!previous || previous.dropout) return undefined;
      previous.dropout = layer;
      continue;
    }
    if (className !== 'Dense') return undefined;
    const config = layer.getConfig();
    const weights = layer.trainableWeights;
    if (
      !isActivation(config.activation) ||
      config.useBias !== true ||
      config.kernelRegularizer ||
      config.biasRegularizer ||
      config.activityRegularizer ||
      config.kernelConstraint ||
      config.biasConstraint ||
      weights.length !== 2 ||
      weights[0].shape.length !== 2
    ) {
      return undefined;
    }
    const [inputSize, size] = weights[0].shape as [number, number];
    units.push({
      layer: layer.name,
      kernel: weights[0],
      bias: weights[1],
      activation: config.activation,
      inputSize,
      units: size,
      kernelOffset: offset,
      biasOffset: offset + inputSize * size,
    });
    offset += inputSize * size + size;
  }
  const last = units.at(-1);
  if (!last || last.dropout || !(last.activation === 'linear' || last.activation === 'softmax'))
    return undefined;
  if (units.slice(0, -1).some((u) => u.activation === 'softmax')) return undefined;
  return units;
}

export class FlatMlpStep implements StepRunner {
  readonly kind = 'flat-mlp';
  private readonly flat: tf.Variable;

  constructor(
    private readonly units: DenseUnit[],
    private readonly optimizer: tf.Optimizer,
    private readonly objective: Objective,
  ) {
    this.flat = tf.tidy(() =>
      tf.variable(tf.concat(units.flatMap((u) => [u.kernel.read().reshape([-1]), u.bias.read()])), true),
    );
  }

  /** The flat vector's slices as each layer's kernel and bias. */
  private params(): { w: tf.Tensor; b: tf.Tensor }[] {
    return this.units.map((u) => ({
      w: tf.reshape(tf.slice(this.flat, u.kernelOffset, u.inputSize * u.units), [u.inputSize, u.units]),
      b: tf.slice(this.flat, u.biasOffset, u.units),
    }));
  }

  /**
   * Forward and backward; returns the gradient of the flat vector and [loss, metric]. Without
   * `training`, no dropout (the inference-mode probe).
   */
  gradients(
    x: tf.Tensor,
    y: tf.Tensor,
    globalStep: number,
    training = true,
  ): { grad: tf.Tensor1D; lossAndMetric: tf.Tensor1D } {
    const params = this.params();
    const last = this.units.length - 1;
    const inputs: tf.Tensor[] = [];
    const outputs: tf.Tensor[] = [];
    const extras: (tf.Tensor | undefined)[] = [];
    const masks: (tf.Tensor | undefined)[] = [];
    let h = x.rank === 2 ? x : tf.reshape(x, [x.shape[0] ?? -1, -1]);
    this.units.forEach((unit, i) => {
      inputs.push(h);
      const { a, extra } = forward(h, params[i].w, params[i].b, unit.activation);
      outputs.push(a);
      extras.push(extra);
      let out = a;
      const rate = unit.dropout?.rate ?? 0;
      if (training && unit.dropout && rate > 0) {
        // tf.dropout's own draw, so masks equal SeededDropout's for the same step.
        const keep = 1 - rate;
        const uniform = tf.randomUniform(a.shape, 0, 1, 'float32', unit.dropout.maskSeed(globalStep));
        const mask = tf.div(tf.floor(tf.add(uniform, keep)), keep);
        masks.push(mask);
        out = tf.mul(a, mask);
      } else {
        masks.push(undefined);
      }
      h = out;
    });
    const pred = h;
    const lossAndMetric = tf.stack([
      this.objective.loss(pred, y),
      this.objective.metricValue(pred, y),
    ]) as tf.Tensor1D;

    const grads: tf.Tensor[] = new Array<tf.Tensor>(2 * this.units.length);
    // The output layer is linear or softmax + cross-entropy: the objective gives d/d(pre-activation).
    let dz = this.objective.outputGrad(pred, y);
    for (let i = last; i >= 0; i--) {
      if (i < last) {
        const mask = masks[i];
        if (mask) dz = tf.mul(dz, mask);
        dz = backward(dz, outputs[i], extras[i], this.units[i].activation);
      }
      grads[2 * i] = tf.reshape(tf.matMul(tf.transpose(inputs[i]), dz), [-1]);
      grads[2 * i + 1] = tf.sum(dz, 0);
      if (i > 0) dz = tf.matMul(dz, tf.transpose(params[i].w));
    }
    return { grad: tf.concat(grads) as tf.Tensor1D, lossAndMetric };
  }

  step(x: tf.Tensor, y: tf.Tensor, globalStep: number): tf.Tensor1D {
    return tf.tidy(() => {
      const { grad, lossAndMetric } = this.gradients(x, y, globalStep);
      this.optimizer.applyGradients([{ name: this.flat.name, tensor: grad }]);
      return lossAndMetric;
    });
  }

  /**
   * The gradient-norm probe through this step's own backward pass: one flat gradient, then one
   * norm per layer over its kernel and bias slices. Autodiff through the layers model costs ~5x
   * as much (10-60 ms of a ~100 ms cars epoch on wasm); the math is the same loss and gradient.
   */
  gradientNorms(x: tf.Tensor, y: tf.Tensor): Record<string, number> {
    const norms = tf.tidy(() => {
      const { grad } = this.gradients(x, y, 0, false);
      const squared = tf.square(grad);
      return tf
        .stack(
          this.units.map((u) =>
            tf.sqrt(tf.sum(tf.slice(squared, u.kernelOffset, u.inputSize * u.units + u.units))),
          ),
        )
        .dataSync();
    });
    return Object.fromEntries(this.units.map((u, i) => [u.layer, norms[i]]));
  }

  syncToModel(): void {
    tf.tidy(() => {
      this.params().forEach((p, i) => {
        this.units[i].kernel.write(p.w);
        this.units[i].bias.write(p.b);
      });
    });
  }

  syncFromModel(): void {
    tf.tidy(() => {
      this.flat.assign(tf.concat(this.units.flatMap((u) => [u.kernel.read().reshape([-1]), u.bias.read()])));
    });
  }

  dispose(): void {
    this.flat.dispose();
  }
}

/** Dense forward: a = act(h·W + b), plus what the backward pass needs beyond `a`. */
function forward(
  h: tf.Tensor,
  w: tf.Tensor,
  b: tf.Tensor,
  activation: Activation,
): { a: tf.Tensor; extra?: tf.Tensor } {
  if (FUSED.has(activation)) {
    const fused = activation as 'relu' | 'linear' | 'sigmoid' | 'elu';
    return { a: tf.fused.matMul({ a: h, b: w, bias: b, activation: fused }) };
  }
  const z = tf.fused.matMul({ a: h, b: w, bias: b });
  switch (activation) {
    case 'tanh':
      return { a: tf.tanh(z) };
    case 'selu':
      return { a: tf.selu(z) };
    case 'softmax':
      return { a: tf.softmax(z) };
    case 'swish': {
      const s = tf.sigmoid(z);
      return { a: tf.mul(z, s), extra: s };
    }
    default:
      throw new Error(`unreachable activation ${activation}`);
  }
}

/** d(loss)/d(pre-activation) from d(loss)/d(a), using the activation's output (and extra). */
function backward(
  da: tf.Tensor,
  a: tf.Tensor,
  extra: tf.Tensor | undefined,
  activation: Activation,
): tf.Tensor {
  switch (activation) {
    case 'linear':
      return da;
    case 'relu':
      return tf.mul(da, tf.step(a));
    case 'sigmoid':
      return tf.mul(da, tf.mul(a, tf.sub(1, a)));
    case 'tanh':
      return tf.mul(da, tf.sub(1, tf.square(a)));
    case 'elu':
      // a > 0: 1; otherwise a = exp(z) - 1, so da/dz = a + 1.
      return tf.mul(da, tf.add(tf.minimum(a, 0), 1));
    case 'selu':
      // a > 0: scale; otherwise a = scale*alpha*(exp(z) - 1), so da/dz = a + scale*alpha.
      return tf.mul(
        da,
        tf.add(tf.mul(tf.step(a), SELU_SCALE - SELU_SCALE_ALPHA), tf.add(tf.minimum(a, 0), SELU_SCALE_ALPHA)),
      );
    case 'swish': {
      // a = z*s, s = sigmoid(z): da/dz = s + a*(1 - s).
      if (!extra) throw new Error('swish backward needs sigmoid(z)');
      return tf.mul(da, tf.add(extra, tf.mul(a, tf.sub(1, extra))));
    }
    case 'softmax':
      throw new Error('softmax is only supported on the output layer');
  }
}
