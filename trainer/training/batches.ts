/**
 * Mini-batches without per-batch allocation. Each epoch the training samples are copied once, in
 * the epoch's shuffled order, into two preallocated buffers; a batch is then a contiguous
 * `subarray` view that becomes a tensor with a single copy (none on the cpu backend, which keeps
 * the view: safe, because the buffers are rewritten only at the next epoch, after every batch
 * tensor of this one is disposed).
 */
import type { Samples } from '../types.js';
import type { Rng } from './rng.js';

export interface Batch {
  x: Float32Array;
  y: Float32Array;
  /** Samples in this batch (the last one may be short). */
  n: number;
}

export class BatchSource {
  readonly stepsPerEpoch: number;
  private readonly order: Uint32Array;
  private readonly xs: Float32Array;
  private readonly ys: Float32Array;

  constructor(
    private readonly samples: Samples,
    private readonly featureSize: number,
    private readonly targetSize: number,
    readonly batchSize: number,
  ) {
    if (samples.count < 1) throw new Error('no training samples');
    if (samples.x.length !== samples.count * featureSize) {
      throw new Error(`train.x has ${samples.x.length} values, expected ${samples.count} x ${featureSize}`);
    }
    if (samples.y.length !== samples.count * targetSize) {
      throw new Error(`train.y has ${samples.y.length} values, expected ${samples.count} x ${targetSize}`);
    }
    this.stepsPerEpoch = Math.ceil(samples.count / batchSize);
    this.order = new Uint32Array(samples.count);
    this.xs = new Float32Array(samples.x.length);
    this.ys = new Float32Array(samples.y.length);
  }

  /**
   * Draws this epoch's order from `rng` (starting from the identity, so the order depends only on
   * the generator's state: a resumed epoch replays it) and lays the samples out in that order.
   */
  shuffle(rng: Rng): void {
    const { order, xs, ys, featureSize: f, targetSize: t } = this;
    const { x, y } = this.samples;
    for (let i = 0; i < order.length; i++) order[i] = i;
    rng.shuffle(order);
    for (let i = 0; i < order.length; i++) {
      const src = order[i];
      // Element loops beat set(subarray()) for short rows and allocate nothing.
      for (let k = 0, s = src * f, d = i * f; k < f; k++) xs[d + k] = x[s + k];
      for (let k = 0, s = src * t, d = i * t; k < t; k++) ys[d + k] = y[s + k];
    }
  }

  batch(index: number): Batch {
    const start = index * this.batchSize;
    const n = Math.min(this.batchSize, this.samples.count - start);
    return {
      x: this.xs.subarray(start * this.featureSize, (start + n) * this.featureSize),
      y: this.ys.subarray(start * this.targetSize, (start + n) * this.targetSize),
      n,
    };
  }
}
