/**
 * Dropout whose masks are reproducible and differ from step to step.
 *
 * tfjs's Dropout either draws from Math.random (no seed: not reproducible) or restarts its
 * generator from the same seed on every call (seed: the same mask at every step, which is not
 * dropout at all). This layer derives each step's seed from a base seed and the step number the
 * training loop sets, so masks replay exactly after a resume.
 *
 * It serialises as a standard `Dropout` (same className and config), so saved models load with
 * any TensorFlow.js, where dropout is the identity at inference anyway.
 */
import * as tf from '@tensorflow/tfjs';
import { deriveSeed } from '../training/rng.js';

export interface SeededDropoutArgs {
  rate: number;
  seed: number;
  name?: string;
}

export class SeededDropout extends tf.layers.Layer {
  static readonly className = 'Dropout';
  readonly rate: number;
  readonly seed: number;
  /** The global training step; the training loop sets it before each step. */
  step = 0;

  constructor(args: SeededDropoutArgs) {
    super({ name: args.name });
    this.rate = Math.min(Math.max(args.rate, 0), 1);
    this.seed = args.seed >>> 0;
    this.supportsMasking = true;
  }

  /** The seed of this step's mask; the fast MLP path (training/mlp-step.ts) draws the same way. */
  maskSeed(step: number = this.step): number {
    return deriveSeed(this.seed, step);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const input = Array.isArray(inputs) ? inputs[0] : inputs;
    if (kwargs['training'] !== true || this.rate <= 0) return input;
    return tf.tidy(() => tf.dropout(input, this.rate, undefined, this.maskSeed()));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { rate: this.rate, noiseShape: null, seed: this.seed, ...super.getConfig() };
  }
}

/** The seeded dropout layers of a model, in order. */
export const seededDropouts = (model: tf.LayersModel): SeededDropout[] =>
  model.layers.filter((layer): layer is SeededDropout => layer instanceof SeededDropout);
