/**
 * What a task optimises and reports, in the scaled space the network works in (standardised
 * targets, one-hot labels). Final metrics in original units come from trainer/metrics/.
 *
 * Regression and forecasting minimise the mean squared error rather than Huber: targets are
 * standardised, so MSE is already well scaled, it is what `val_loss` means to most users, and
 * robustness to outliers is better handled in the data than by a loss with a tuning knob.
 */
import * as tf from '@tensorflow/tfjs';
import type { Task } from '../../resources/training-run.js';

/** tfjs-layers' epsilon: probabilities are clipped to [EPS, 1 - EPS] before the log. */
const EPS = 1e-7;

export interface Objective {
  task: Task;
  /** The per-batch metric reported next to the loss: `mae` or `accuracy`. */
  metric: 'mae' | 'accuracy';
  /** Mean loss over the batch. */
  loss(pred: tf.Tensor, y: tf.Tensor): tf.Scalar;
  /** Mean of the metric over the batch. */
  metricValue(pred: tf.Tensor, y: tf.Tensor): tf.Scalar;
  /**
   * d(loss)/d(output layer pre-activation) for the hand-written MLP backward pass. For softmax +
   * cross-entropy this is (p - y) / n, the gradient of the unclipped loss; the clip only matters
   * for probabilities below 1e-7, where it would zero the gradient and stall learning anyway.
   */
  outputGrad(pred: tf.Tensor, y: tf.Tensor): tf.Tensor;
}

const regression = (task: Task): Objective => ({
  task,
  metric: 'mae',
  loss: (pred, y) => tf.mean(tf.squaredDifference(pred, y)),
  metricValue: (pred, y) => tf.mean(tf.abs(tf.sub(pred, y))),
  outputGrad: (pred, y) => tf.mul(tf.sub(pred, y), 2 / pred.size),
});

const classification: Objective = {
  task: 'classification',
  metric: 'accuracy',
  loss: (pred, y) =>
    tf.neg(tf.mean(tf.sum(tf.mul(y, tf.log(tf.clipByValue(pred, EPS, 1 - EPS))), -1))) as tf.Scalar,
  metricValue: (pred, y) => tf.mean(tf.cast(tf.equal(tf.argMax(pred, -1), tf.argMax(y, -1)), 'float32')),
  outputGrad: (pred, y) => tf.div(tf.sub(pred, y), pred.shape[0] ?? 1),
};

export function objectiveFor(task: Task): Objective {
  return task === 'classification' ? classification : regression(task);
}

/** Metric names a training with this objective reports each epoch (history, early stopping). */
export function reportedMetrics(objective: Objective, withValidation: boolean): string[] {
  const train = ['loss', objective.metric];
  return withValidation ? [...train, ...train.map((m) => `val_${m}`)] : train;
}

/** Accuracy-like metrics improve upwards, everything else (losses, errors) downwards. */
export const metricMode = (metric: string): 'min' | 'max' => (/acc/.test(metric) ? 'max' : 'min');
