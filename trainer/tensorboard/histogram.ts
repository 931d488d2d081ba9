/**
 * Bucketing for histogram summaries. Equal-width buckets between min and max, like TensorBoard's own
 * `tf.summary.histogram` (30 by default), rather than TensorFlow 1's ~1500 exponential edges:
 * TensorBoard re-bins for display anyway, and weight tensors are read and summarised per epoch.
 */
import type { HistogramMessage } from './protos.js';

export const DEFAULT_BUCKET_COUNT = 30;

/**
 * Summarises the finite entries of `values`. NaN and ±Infinity cannot be placed in a bucket and are
 * left out of every statistic (TensorFlow rejects them outright).
 *
 * `bucket_limit[i]` is the right edge of bucket i; the left edge of bucket 0 is `min` and the last
 * edge is exactly `max`, which is how TensorBoard reads HistogramProto.
 */
export function histogramOf(values: ArrayLike<number>, bucketCount = DEFAULT_BUCKET_COUNT): HistogramMessage {
  if (!Number.isInteger(bucketCount) || bucketCount < 1) {
    throw new RangeError(`bucket count must be a positive integer, got ${bucketCount}`);
  }
  let min = Infinity;
  let max = -Infinity;
  let num = 0;
  let sum = 0;
  let sumSquares = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
    num++;
    sum += v;
    sumSquares += v * v;
  }
  // One empty bucket keeps readers that pair limits with [min, ...limits] from seeing ragged arrays.
  if (num === 0) return { min: 0, max: 0, num: 0, sum: 0, sum_squares: 0, bucket_limit: [0], bucket: [0] };
  const base = { min, max, num, sum, sum_squares: sumSquares };
  if (min === max) return { ...base, bucket_limit: [max], bucket: [num] };

  const width = (max - min) / bucketCount;
  const bucket = new Array<number>(bucketCount).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) continue;
    // max itself lands on index bucketCount; it belongs to the last (closed) bucket.
    bucket[Math.min(bucketCount - 1, Math.floor((v - min) / width))]++;
  }
  const bucketLimit = bucket.map((_, i) => (i === bucketCount - 1 ? max : min + (i + 1) * width));
  return { ...base, bucket_limit: bucketLimit, bucket };
}
