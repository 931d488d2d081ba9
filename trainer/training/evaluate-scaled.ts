/**
 * Loss and metric of a model on a sample set, in the scaled space, for per-epoch validation.
 * Inference mode (no dropout), large chunks, one read per chunk; sums are weighted by chunk size
 * so the result is the mean over samples whatever the chunking.
 */
import * as tf from '@tensorflow/tfjs';
import { applyModel } from '../../artifact/apply-model.js';
import type { Samples } from '../types.js';
import type { Objective } from './objective.js';

export function evaluateScaled(
  model: tf.LayersModel,
  samples: Samples,
  inputShape: number[],
  objective: Objective,
  chunk = 1024,
): { loss: number; metric: number } {
  if (samples.count === 0) return { loss: Number.NaN, metric: Number.NaN };
  const featureSize = inputShape.reduce((a, b) => a * b, 1);
  const targetSize = samples.y.length / samples.count;
  let lossSum = 0;
  let metricSum = 0;
  for (let start = 0; start < samples.count; start += chunk) {
    const n = Math.min(chunk, samples.count - start);
    const [loss, metric] = tf.tidy(() => {
      const x = tf.tensor(samples.x.subarray(start * featureSize, (start + n) * featureSize), [
        n,
        ...inputShape,
      ]);
      const y = tf.tensor2d(samples.y.subarray(start * targetSize, (start + n) * targetSize), [
        n,
        targetSize,
      ]);
      const pred = applyModel(model, x, false);
      return tf.stack([objective.loss(pred, y), objective.metricValue(pred, y)]).dataSync();
    });
    lossSum += loss * n;
    metricSum += metric * n;
  }
  return { loss: lossSum / samples.count, metric: metricSum / samples.count };
}
