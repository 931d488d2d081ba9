/**
 * One optimizer step on one batch. Two implementations:
 * - FlatMlpStep (mlp-step.ts): MLPs, with a hand-written backward pass over one flat parameter
 *   vector (about 3x faster on wasm, see the file);
 * - LayersStep (here): any tfjs-layers model, through autodiff (LSTM, GRU).
 */
import * as tf from '@tensorflow/tfjs';
import { applyModel } from '../../artifact/apply-model.js';
import { seededDropouts, type SeededDropout } from '../network/seeded-dropout.js';
import type { Objective } from './objective.js';

export interface StepRunner {
  readonly kind: 'flat-mlp' | 'layers';
  /**
   * Trains on one batch and returns [loss, metric] of the batch before the update, as a tensor the
   * caller disposes. `globalStep` numbers the step across epochs and seeds its dropout masks.
   */
  step(x: tf.Tensor, y: tf.Tensor, globalStep: number): tf.Tensor1D;
  /** Makes the model's own weights current (the flat path trains a copy). */
  syncToModel(): void;
  /** Reloads the training copy after the model's weights were set (resume). */
  syncFromModel(): void;
  /**
   * Per-layer gradient norms on a probe batch in inference mode (no dropout), for trainer/health;
   * runners without it are probed through autodiff (health/gradient-norms.ts).
   */
  gradientNorms?(x: tf.Tensor, y: tf.Tensor): Record<string, number>;
  dispose(): void;
}

export class LayersStep implements StepRunner {
  readonly kind = 'layers';
  private readonly dropouts: SeededDropout[];
  private readonly variables: tf.Variable[];

  constructor(
    private readonly model: tf.LayersModel,
    private readonly optimizer: tf.Optimizer,
    private readonly objective: Objective,
  ) {
    this.dropouts = seededDropouts(model);
    this.variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  step(x: tf.Tensor, y: tf.Tensor, globalStep: number): tf.Tensor1D {
    for (const dropout of this.dropouts) dropout.step = globalStep;
    let metric: tf.Scalar | undefined;
    try {
      return tf.tidy(() => {
        const loss = this.optimizer.minimize(
          () => {
            const pred = applyModel(this.model, x, true);
            // Kept: tensors made inside the gradient function are freed when it returns.
            metric = tf.keep(this.objective.metricValue(pred, y));
            return this.objective.loss(pred, y);
          },
          true,
          this.variables,
        );
        if (!loss || !metric) throw new Error('optimizer returned no cost');
        return tf.stack([loss, metric]) as tf.Tensor1D;
      });
    } finally {
      metric?.dispose();
    }
  }

  syncToModel(): void {}
  syncFromModel(): void {}
  dispose(): void {}
}
