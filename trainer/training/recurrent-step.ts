/**
 * The fast training step for LSTM networks on the wasm and cpu backends.
 *
 * Measured on wasm (LSTM 32 units over 24 steps, batch 32), an autodiff step through tfjs-layers
 * dispatches ~3,400 kernels: per time step the cell's ~15 ops, hardSigmoid's gradient as four
 * more (GreaterEqual, LessEqual, LogicalAnd, Select), Identity and Reshape bookkeeping, and the
 * transposed matMuls of the backward pass (300+ µs each on wasm against ~50 µs for the same
 * product without a transpose). Each dispatch costs 10-60 µs, whatever its size: the arithmetic
 * of a 32-unit cell is a few µs. So this step:
 * - keeps the sequential part on tfjs for the one op that needs it, h(t-1)·R (forward) and
 *   dz(t)·Rᵀ (backward, with Rᵀ transposed once per batch), and computes the cell's gates, state
 *   and their derivatives in plain typed-array loops between them (one read and one upload per
 *   time step instead of ~30 dispatches);
 * - batches every product that does not depend on the previous step over all time steps at
 *   once: x·W for the whole sequence before the loop, dW = Xᵀ·dZ, dR = H(t-1)ᵀ·dZ, db and the
 *   gradient to a lower layer after it;
 * - trains one flat parameter vector with one optimizer update per step, like mlp-step.ts.
 *
 * Per-step reads are cheap only where tensors live in host memory, hence wasm and cpu only; the
 * tensorflow backend (tfjs-node, tfjs-node-gpu) keeps the autodiff step in step.ts.
 *
 * The math is the model's own: Keras gate order (i, f, c, o), the cell's recurrent activation
 * (hardSigmoid, whose gradient passes on the closed interval like tfjs's ClipByValue, or
 * sigmoid), tanh, the same dropout masks as SeededDropout (same seeds, same draw). Sums are
 * rounded in a different order than the layers model's, so results agree with LayersStep to
 * float32 rounding, not bit for bit; a run is still bit-for-bit reproducible on its own.
 * test/trainer/training-recurrent-step.test.ts checks the gradients against autodiff.
 */
import * as tf from '@tensorflow/tfjs';
import type { LayerVariable } from '@tensorflow/tfjs';
import { SeededDropout } from '../network/seeded-dropout.js';
import type { Objective } from './objective.js';
import type { StepRunner } from './step.js';

/** Backends whose reads are synchronous copies from host memory (see the header). */
const FUSED_BACKENDS = new Set(['wasm', 'cpu']);

type Gate = 'hardSigmoid' | 'sigmoid';

interface LstmUnit {
  kernel: LayerVariable;
  recurrent: LayerVariable;
  bias: LayerVariable;
  inputSize: number;
  units: number;
  gate: Gate;
  returnSequences: boolean;
  dropout?: SeededDropout;
  /** Offsets into the flat vector. */
  kernelOffset: number;
  recurrentOffset: number;
  biasOffset: number;
}

interface OutputUnit {
  kernel: LayerVariable;
  bias: LayerVariable;
  activation: 'linear' | 'softmax';
  inputSize: number;
  units: number;
  kernelOffset: number;
  biasOffset: number;
}

export interface LstmPlan {
  lstms: LstmUnit[];
  output: OutputUnit;
  timeSteps: number;
}

/** A StepRunner of its own kind; train.ts accepts it next to the kinds step.ts defines. */
export type FusedLstmRunner = Omit<StepRunner, 'kind'> & { readonly kind: 'fused-lstm' };

const EXTRAS = [
  'kernelRegularizer',
  'recurrentRegularizer',
  'biasRegularizer',
  'activityRegularizer',
  'kernelConstraint',
  'recurrentConstraint',
  'biasConstraint',
];
const hasExtras = (config: tf.serialization.ConfigDict): boolean =>
  EXTRAS.some((key) => config[key] !== null && config[key] !== undefined);

/**
 * The layers of a model this step can train on `backend`, or undefined: LSTM layers (tanh, a
 * hardSigmoid or sigmoid recurrent activation, bias; no cell dropout, regularisers, constraints,
 * state or reversal; all but the last returning sequences), each optionally followed by a
 * SeededDropout, then one Dense layer, linear or softmax.
 */
export function planFusedLstm(model: tf.LayersModel, backend: string): LstmPlan | undefined {
  if (!FUSED_BACKENDS.has(backend)) return undefined;
  const inputShape = model.inputs[0]?.shape;
  const timeSteps = inputShape?.length === 3 ? inputShape[1] : null;
  if (typeof timeSteps !== 'number' || timeSteps < 1) return undefined;

  const lstms: LstmUnit[] = [];
  let output: OutputUnit | undefined;
  let offset = 0;
  for (const layer of model.layers) {
    if (output) return undefined;
    if (layer instanceof SeededDropout) {
      const previous = lstms.at(-1);
      if (!previous || previous.dropout) return undefined;
      previous.dropout = layer;
      continue;
    }
    const className = layer.getClassName();
    const config = layer.getConfig();
    const weights = layer.trainableWeights;
    if (className === 'LSTM') {
      const gate = config.recurrentActivation;
      if (
        config.activation !== 'tanh' ||
        (gate !== 'hardSigmoid' && gate !== 'sigmoid') ||
        config.useBias !== true ||
        (config.dropout ?? 0) !== 0 ||
        (config.recurrentDropout ?? 0) !== 0 ||
        config.returnState === true ||
        config.goBackwards === true ||
        config.stateful === true ||
        hasExtras(config) ||
        weights.length !== 3 ||
        lstms.at(-1)?.returnSequences === false
      ) {
        return undefined;
      }
      const [inputSize, gates] = weights[0].shape as [number, number];
      const units = gates / 4;
      lstms.push({
        kernel: weights[0],
        recurrent: weights[1],
        bias: weights[2],
        inputSize,
        units,
        gate,
        returnSequences: config.returnSequences === true,
        kernelOffset: offset,
        recurrentOffset: offset + inputSize * gates,
        biasOffset: offset + (inputSize + units) * gates,
      });
      offset += (inputSize + units + 1) * gates;
      continue;
    }
    const activation = config.activation;
    if (
      className !== 'Dense' ||
      lstms.length === 0 ||
      (activation !== 'linear' && activation !== 'softmax') ||
      config.useBias !== true ||
      hasExtras(config) ||
      weights.length !== 2
    ) {
      return undefined;
    }
    const [inputSize, units] = weights[0].shape as [number, number];
    output = {
      kernel: weights[0],
      bias: weights[1],
      activation,
      inputSize,
      units,
      kernelOffset: offset,
      biasOffset: offset + inputSize * units,
    };
  }
  if (!output || lstms.at(-1)?.returnSequences !== false) return undefined;
  return { lstms, output, timeSteps };
}

/** tfjs computes hardSigmoid as clip(0.5 + 0.2·x, 0, 1) with float32 scalars. */
const HARD_SLOPE = Math.fround(0.2);
const HARD_OFFSET = 0.5;

/**
 * Host-side state of one LSTM layer for a batch of `n`, time-major: row (t, b) is at t·n + b.
 * `cells` and `hidden` carry a leading block of zeros, the state before the first step, so that
 * block t holds the state after step t-1.
 */
class LayerBuffers {
  readonly gates: Float32Array;
  /** d(gate)/d(pre-activation) per gate, from the forward pass. */
  readonly slopes: Float32Array;
  readonly cells: Float32Array;
  readonly tanhCells: Float32Array;
  readonly hidden: Float32Array;
  /** The layer's output after dropout (aliases `hidden` when there is none). */
  readonly out: Float32Array;
  readonly dZ: Float32Array;
  readonly dhAbove: Float32Array;
  readonly dcNext: Float32Array;

  constructor(
    readonly capacity: number,
    timeSteps: number,
    units: number,
    withDropout: boolean,
  ) {
    const g = 4 * units;
    this.gates = new Float32Array(timeSteps * capacity * g);
    this.slopes = new Float32Array(timeSteps * capacity * g);
    this.dZ = new Float32Array(timeSteps * capacity * g);
    this.cells = new Float32Array((timeSteps + 1) * capacity * units);
    this.hidden = new Float32Array((timeSteps + 1) * capacity * units);
    this.out = withDropout ? new Float32Array((timeSteps + 1) * capacity * units) : this.hidden;
    this.tanhCells = new Float32Array(timeSteps * capacity * units);
    this.dhAbove = new Float32Array(timeSteps * capacity * units);
    this.dcNext = new Float32Array(capacity * units);
  }
}

/** a·b for a host matrix `a`, read back to the host. */
function matMulRead(a: Float32Array, rows: number, cols: number, b: tf.Tensor): Float32Array {
  const at = tf.tensor2d(a, [rows, cols]);
  const product = tf.matMul(at, b);
  // A copy on wasm; on cpu the backing array, which is never reused after the dispose below.
  const values = product.dataSync() as Float32Array;
  tf.dispose([at, product]);
  return values;
}

/** tf.dropout's multiplier for `shape`, drawn exactly as SeededDropout draws it. */
function dropoutMask(shape: number[], rate: number, seed: number): tf.Tensor {
  const keep = 1 - rate;
  return tf.div(tf.floor(tf.add(tf.randomUniform(shape, 0, 1, 'float32', seed), keep)), keep);
}

interface Params {
  kernel: tf.Tensor2D;
  recurrentT: tf.Tensor2D;
  recurrent: tf.Tensor2D;
  bias: tf.Tensor1D;
}

export class FusedLstmStep implements FusedLstmRunner {
  readonly kind = 'fused-lstm';
  private readonly flat: tf.Variable;
  private buffers: LayerBuffers[] = [];

  constructor(
    private readonly plan: LstmPlan,
    private readonly optimizer: tf.Optimizer,
    private readonly objective: Objective,
  ) {
    this.flat = tf.tidy(() =>
      tf.variable(tf.concat(this.modelWeights().map((w) => w.read().reshape([-1]))), true),
    );
  }

  /** The model's variables in flat-vector order. */
  private modelWeights(): LayerVariable[] {
    const { lstms, output } = this.plan;
    return [...lstms.flatMap((u) => [u.kernel, u.recurrent, u.bias]), output.kernel, output.bias];
  }

  private slice2d(offset: number, rows: number, cols: number): tf.Tensor2D {
    return tf.reshape(tf.slice(this.flat, offset, rows * cols), [rows, cols]);
  }

  private buffersFor(n: number): LayerBuffers[] {
    if ((this.buffers[0]?.capacity ?? 0) < n) {
      this.buffers = this.plan.lstms.map(
        (u) => new LayerBuffers(n, this.plan.timeSteps, u.units, (u.dropout?.rate ?? 0) > 0),
      );
    }
    return this.buffers;
  }

  /**
   * Forward and backward; returns the gradient of the flat vector and [loss, metric]. Call it
   * inside tf.tidy: intermediate tensors are left to the caller's scope, as in mlp-step.ts.
   */
  gradients(
    x: tf.Tensor,
    y: tf.Tensor,
    globalStep: number,
  ): { grad: tf.Tensor1D; lossAndMetric: tf.Tensor1D } {
    const { lstms, output, timeSteps: T } = this.plan;
    const n = x.shape[0];
    if (x.rank !== 3 || x.shape[1] !== T) {
      throw new Error(`expected inputs of shape [batch, ${T}, features], got [${x.shape.join(', ')}]`);
    }
    const buffers = this.buffersFor(n);
    const params: Params[] = lstms.map((u) => {
      const recurrent = this.slice2d(u.recurrentOffset, u.units, 4 * u.units);
      return {
        kernel: this.slice2d(u.kernelOffset, u.inputSize, 4 * u.units),
        recurrent,
        recurrentT: tf.transpose(recurrent),
        bias: tf.slice(this.flat, u.biasOffset, 4 * u.units) as tf.Tensor1D,
      };
    });

    // Forward, layer by layer over the whole sequence. inputs[l] is [T·n, features] time-major.
    const inputs: tf.Tensor2D[] = [tf.reshape(tf.transpose(x, [1, 0, 2]), [T * n, lstms[0].inputSize])];
    const masks: (Float32Array | undefined)[] = [];
    lstms.forEach((unit, l) => {
      const buf = buffers[l];
      const xw = tf.fused.matMul({ a: inputs[l], b: params[l].kernel, bias: params[l].bias });
      forwardLayer(unit, buf, n, T, xw.dataSync() as Float32Array, params[l].recurrent);
      xw.dispose();
      masks.push(this.applyDropout(unit, buf, n, T, globalStep));
      const seqSize = T * n * unit.units;
      if (l < lstms.length - 1) {
        inputs.push(
          tf.tensor2d(buf.out.subarray(n * unit.units, n * unit.units + seqSize), [T * n, unit.units]),
        );
      }
    });

    const top = lstms[lstms.length - 1];
    const topBuf = buffers[lstms.length - 1];
    const U = top.units;
    const last = tf.tensor2d(topBuf.out.subarray(T * n * U, (T + 1) * n * U), [n, U]);
    const wOut = this.slice2d(output.kernelOffset, output.inputSize, output.units);
    const bOut = tf.slice(this.flat, output.biasOffset, output.units);
    const z = tf.fused.matMul({ a: last, b: wOut, bias: bOut });
    const pred = output.activation === 'softmax' ? tf.softmax(z) : z;
    const lossAndMetric = tf.stack([
      this.objective.loss(pred, y),
      this.objective.metricValue(pred, y),
    ]) as tf.Tensor1D;

    // Backward. The objective gives d/d(output pre-activation), as for the MLP step.
    const dOut = this.objective.outputGrad(pred, y);
    const grads: tf.Tensor[] = [];
    const outGrads = [tf.reshape(tf.matMul(tf.transpose(last), dOut), [-1]), tf.sum(dOut, 0)];
    const dLast = tf.matMul(dOut, tf.transpose(wOut)).dataSync() as Float32Array;
    topBuf.dhAbove.fill(0, 0, T * n * U);
    const lastBlock = (T - 1) * n * U;
    const topMask = masks[lstms.length - 1];
    for (let k = 0; k < n * U; k++) {
      // Dropout on the last hidden state: its mask holds only that step's n·U values.
      topBuf.dhAbove[lastBlock + k] = topMask ? dLast[k] * topMask[k] : dLast[k];
    }
    for (let l = lstms.length - 1; l >= 0; l--) {
      const unit = lstms[l];
      const buf = buffers[l];
      const G = 4 * unit.units;
      backwardLayer(unit, buf, n, T, params[l].recurrentT);
      const dZ = tf.tensor2d(buf.dZ.subarray(0, T * n * G), [T * n, G]);
      const dKernel = tf.matMul(tf.transpose(inputs[l]), dZ);
      // Step 0 saw a zero state, so only steps 1..T-1 contribute to the recurrent gradient.
      const dRecurrent =
        T > 1
          ? tf.matMul(
              tf.transpose(
                tf.tensor2d(buf.hidden.subarray(n * unit.units, T * n * unit.units), [
                  (T - 1) * n,
                  unit.units,
                ]),
              ),
              tf.slice(dZ, [n, 0], [(T - 1) * n, G]),
            )
          : tf.zeros([unit.units, G]);
      grads.unshift(tf.reshape(dKernel, [-1]), tf.reshape(dRecurrent, [-1]), tf.sum(dZ, 0));
      if (l > 0) {
        const below = buffers[l - 1];
        const dInput = tf.matMul(dZ, tf.transpose(params[l].kernel)).dataSync() as Float32Array;
        const mask = masks[l - 1];
        const size = T * n * lstms[l - 1].units;
        for (let k = 0; k < size; k++) below.dhAbove[k] = mask ? dInput[k] * mask[k] : dInput[k];
      }
    }
    return { grad: tf.concat([...grads, ...outGrads]) as tf.Tensor1D, lossAndMetric };
  }

  /**
   * SeededDropout after the layer: the same mask as the layers model, laid out time-major;
   * writes `out`. Returns the mask, for the backward pass (n·U values for a last-step output).
   */
  private applyDropout(
    unit: LstmUnit,
    buf: LayerBuffers,
    n: number,
    T: number,
    globalStep: number,
  ): Float32Array | undefined {
    const rate = unit.dropout?.rate ?? 0;
    if (!unit.dropout || rate <= 0) return undefined;
    const U = unit.units;
    const seed = unit.dropout.maskSeed(globalStep);
    if (unit.returnSequences) {
      const mask = dropoutMask([n, T, U], rate, seed);
      const timeMajor = tf.transpose(mask, [1, 0, 2]);
      const values = timeMajor.dataSync() as Float32Array;
      tf.dispose([mask, timeMajor]);
      const offset = n * U;
      for (let k = 0; k < T * n * U; k++) buf.out[offset + k] = buf.hidden[offset + k] * values[k];
      return values;
    }
    const mask = dropoutMask([n, U], rate, seed);
    const values = mask.dataSync() as Float32Array;
    mask.dispose();
    const offset = T * n * U;
    for (let k = 0; k < n * U; k++) buf.out[offset + k] = buf.hidden[offset + k] * values[k];
    return values;
  }

  step(x: tf.Tensor, y: tf.Tensor, globalStep: number): tf.Tensor1D {
    return tf.tidy(() => {
      const { grad, lossAndMetric } = this.gradients(x, y, globalStep);
      this.optimizer.applyGradients([{ name: this.flat.name, tensor: grad }]);
      return lossAndMetric;
    });
  }

  syncToModel(): void {
    tf.tidy(() => {
      let offset = 0;
      for (const w of this.modelWeights()) {
        const { shape, size } = w.read();
        w.write(tf.reshape(tf.slice(this.flat, offset, size), shape));
        offset += size;
      }
    });
  }

  syncFromModel(): void {
    tf.tidy(() => {
      this.flat.assign(tf.concat(this.modelWeights().map((w) => w.read().reshape([-1]))));
    });
  }

  dispose(): void {
    this.flat.dispose();
  }
}

/**
 * One layer over the sequence: xw holds x·W + b for every (t, b), time-major. Per step, the
 * recurrent product on tfjs, then the cell on the host.
 */
function forwardLayer(
  unit: LstmUnit,
  buf: LayerBuffers,
  n: number,
  T: number,
  xw: Float32Array,
  recurrent: tf.Tensor,
): void {
  const U = unit.units;
  const G = 4 * U;
  const hard = unit.gate === 'hardSigmoid';
  const { gates, slopes, cells, tanhCells, hidden } = buf;
  // Block 0 is the zero initial state; a smaller batch may have left values there.
  cells.fill(0, 0, n * U);
  hidden.fill(0, 0, n * U);
  for (let t = 0; t < T; t++) {
    const hr = t > 0 ? matMulRead(hidden.subarray(t * n * U, (t + 1) * n * U), n, U, recurrent) : undefined;
    for (let b = 0; b < n; b++) {
      const row = (t * n + b) * G;
      const r = b * G;
      const prev = t * n * U + b * U;
      const next = prev + n * U;
      for (let u = 0; u < U; u++) {
        // Gate pre-activations in Keras order i, f, c, o.
        const zi = xw[row + u] + (hr ? hr[r + u] : 0);
        const zf = xw[row + U + u] + (hr ? hr[r + U + u] : 0);
        const zc = xw[row + 2 * U + u] + (hr ? hr[r + 2 * U + u] : 0);
        const zo = xw[row + 3 * U + u] + (hr ? hr[r + 3 * U + u] : 0);
        let i: number, f: number, o: number;
        if (hard) {
          const yi = HARD_OFFSET + HARD_SLOPE * zi;
          const yf = HARD_OFFSET + HARD_SLOPE * zf;
          const yo = HARD_OFFSET + HARD_SLOPE * zo;
          i = yi < 0 ? 0 : yi > 1 ? 1 : yi;
          f = yf < 0 ? 0 : yf > 1 ? 1 : yf;
          o = yo < 0 ? 0 : yo > 1 ? 1 : yo;
          // tfjs's ClipByValue gradient passes on the closed interval [0, 1].
          slopes[row + u] = yi >= 0 && yi <= 1 ? HARD_SLOPE : 0;
          slopes[row + U + u] = yf >= 0 && yf <= 1 ? HARD_SLOPE : 0;
          slopes[row + 3 * U + u] = yo >= 0 && yo <= 1 ? HARD_SLOPE : 0;
        } else {
          i = 1 / (1 + Math.exp(-zi));
          f = 1 / (1 + Math.exp(-zf));
          o = 1 / (1 + Math.exp(-zo));
          slopes[row + u] = i * (1 - i);
          slopes[row + U + u] = f * (1 - f);
          slopes[row + 3 * U + u] = o * (1 - o);
        }
        const g = Math.tanh(zc);
        slopes[row + 2 * U + u] = 1 - g * g;
        gates[row + u] = i;
        gates[row + U + u] = f;
        gates[row + 2 * U + u] = g;
        gates[row + 3 * U + u] = o;
        const c = f * cells[prev + u] + i * g;
        const tc = Math.tanh(c);
        cells[next + u] = c;
        tanhCells[prev + u] = tc;
        hidden[next + u] = o * tc;
      }
    }
  }
}

/**
 * Backpropagation through time for one layer, from dhAbove (the gradient reaching each step's
 * output from above, time-major) into dZ (the gradient of the gate pre-activations).
 */
function backwardLayer(unit: LstmUnit, buf: LayerBuffers, n: number, T: number, recurrentT: tf.Tensor): void {
  const U = unit.units;
  const G = 4 * U;
  const { gates, slopes, cells, tanhCells, dZ, dhAbove, dcNext } = buf;
  dcNext.fill(0, 0, n * U);
  let dhRecurrent: Float32Array | undefined;
  for (let t = T - 1; t >= 0; t--) {
    for (let b = 0; b < n; b++) {
      const row = (t * n + b) * G;
      const s = b * U;
      const k = t * n * U + s;
      for (let u = 0; u < U; u++) {
        const dh = dhAbove[k + u] + (dhRecurrent ? dhRecurrent[s + u] : 0);
        const i = gates[row + u];
        const f = gates[row + U + u];
        const g = gates[row + 2 * U + u];
        const o = gates[row + 3 * U + u];
        const tc = tanhCells[k + u];
        const dc = dcNext[s + u] + dh * o * (1 - tc * tc);
        dZ[row + u] = dc * g * slopes[row + u];
        // cells block t is the state before step t.
        dZ[row + U + u] = dc * cells[k + u] * slopes[row + U + u];
        dZ[row + 2 * U + u] = dc * i * slopes[row + 2 * U + u];
        dZ[row + 3 * U + u] = dh * tc * slopes[row + 3 * U + u];
        dcNext[s + u] = dc * f;
      }
    }
    dhRecurrent = t > 0 ? matMulRead(dZ.subarray(t * n * G, (t + 1) * n * G), n, G, recurrentT) : undefined;
  }
}
