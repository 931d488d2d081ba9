/**
 * Dynamic batching: concurrent requests for one version are queued and run as one model call of
 * up to `maxBatchSize` instances, then each request gets its own slice of the output.
 *
 * A batch runs when it is full, when its oldest request has waited `batchTimeoutMicros`, or, with
 * a timeout of 0, at the end of the event-loop turn in which it was queued (`setImmediate` runs
 * after the poll phase, so every request whose bytes arrived in that turn is in the batch). The
 * builtin model call is synchronous (wasm/cpu compute on this thread), so while one batch runs the
 * next one fills up in the socket buffers: under load batches grow by themselves and an idle
 * server adds no latency. An asynchronous call (ONNX Runtime computes on its own thread) keeps
 * that property by running one batch at a time per version: what arrives meanwhile waits for the
 * next batch.
 */
import type { BatchingConfig } from './config.js';

/** The rows a batch carries: the encoder's float32, or float64 values as sent (ONNX raw inputs). */
export type BatchValues = Float32Array | Float64Array;

/** Encoded instances in, count x width outputs out (ModelVersion.run). */
export type BatchRunner<X extends BatchValues = Float32Array> = (
  x: X,
  count: number,
) => Float32Array | Promise<Float32Array>;

interface Pending<X> {
  x: X;
  count: number;
  queuedAt: number;
  resolve: (output: Float32Array) => void;
  reject: (error: unknown) => void;
}

export interface BatchObserver {
  /** After every model call: instances in it and requests it served. */
  onBatch(instances: number, requests: number, seconds: number): void;
}

export class Batcher<X extends BatchValues = Float32Array> {
  private queue: Pending<X>[] = [];
  private queuedInstances = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private readonly rowSize: number;
  private readonly timeoutMs: number;
  /** An asynchronous batch is running: the next one starts when it settles. */
  private running = false;

  constructor(
    private readonly runner: BatchRunner<X>,
    /** Values per encoded instance (product of the input shape). */
    rowSize: number,
    /** Values per instance in the output. */
    private readonly outputWidth: number,
    private readonly options: BatchingConfig,
    private readonly observer?: BatchObserver,
  ) {
    this.rowSize = rowSize;
    this.timeoutMs = Math.ceil(options.batchTimeoutMicros / 1000);
  }

  /** Requests waiting for a batch. */
  get pending(): number {
    return this.queue.length;
  }

  /** Resolves with this request's `count x outputWidth` outputs. */
  submit(x: X, count: number): Promise<Float32Array> {
    if (!this.options.enabled) {
      try {
        const started = performance.now();
        const output = this.runner(x, count);
        const batch = [{ x, count }];
        return output instanceof Promise
          ? output.then((o) => this.split(batch, count, o, started)[0])
          : Promise.resolve(this.split(batch, count, output, started)[0]);
      } catch (e) {
        return Promise.reject(e);
      }
    }
    return new Promise<Float32Array>((resolve, reject) => {
      this.queue.push({ x, count, queuedAt: performance.now(), resolve, reject });
      this.queuedInstances += count;
      if (this.queuedInstances >= this.options.maxBatchSize) this.flush();
      else this.schedule();
    });
  }

  /** Runs everything queued now (shutdown: queued requests are answered, not dropped). */
  drain(): void {
    while (this.queue.length > 0) this.flush(true);
  }

  private schedule(): void {
    if (this.queue.length === 0 || this.timer !== undefined || this.immediate !== undefined) return;
    if (this.running) return; // the running batch schedules the next one when it settles
    if (this.timeoutMs === 0) {
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        this.flush();
      });
      return;
    }
    const waited = performance.now() - this.queue[0].queuedAt;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.flush();
      },
      Math.max(0, this.timeoutMs - waited),
    );
  }

  /** Runs one batch from the head of the queue, then schedules the rest. */
  private flush(evenIfRunning = false): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    if (this.queue.length === 0 || (this.running && !evenIfRunning)) return;

    // Whole requests only; a request larger than maxBatchSize runs alone.
    let take = 0;
    let instances = 0;
    while (take < this.queue.length) {
      const next = this.queue[take].count;
      if (take > 0 && instances + next > this.options.maxBatchSize) break;
      instances += next;
      take++;
    }
    const batch = this.queue.splice(0, take);
    this.queuedInstances -= instances;

    const started = performance.now();
    let output: Float32Array | Promise<Float32Array>;
    try {
      output = this.runner(this.join(batch, instances), instances);
    } catch (e) {
      for (const p of batch) p.reject(e);
      this.next();
      return;
    }
    if (output instanceof Promise) {
      this.running = true;
      output
        .then(
          (o) => this.settle(batch, instances, o, started),
          (e: unknown) => {
            for (const p of batch) p.reject(e);
          },
        )
        .finally(() => {
          this.running = false;
          this.next();
        });
      return;
    }
    this.settle(batch, instances, output, started);
    this.next();
  }

  private settle(batch: Pending<X>[], instances: number, output: Float32Array, started: number): void {
    let outputs: Float32Array[];
    try {
      outputs = this.split(batch, instances, output, started);
    } catch (e) {
      for (const p of batch) p.reject(e);
      return;
    }
    for (let i = 0; i < outputs.length; i++) batch[i].resolve(outputs[i]);
  }

  /** After a batch: the next one, if any. */
  private next(): void {
    if (this.queuedInstances >= this.options.maxBatchSize) {
      // Full again (requests that arrived while this one ran): the next turn takes it, so that
      // responses already resolved get written first.
      this.immediate = setImmediate(() => {
        this.immediate = undefined;
        this.flush();
      });
    } else this.schedule();
  }

  /** The batch's rows as one array (the request's own when it is alone). */
  private join(batch: readonly { x: X; count: number }[], instances: number): X {
    if (batch.length === 1) return batch[0].x;
    const x = new (batch[0].x.constructor as new (length: number) => X)(instances * this.rowSize);
    let offset = 0;
    for (const p of batch) {
      x.set(p.x, offset);
      offset += p.x.length;
    }
    return x;
  }

  /** Each request's slice of the output. */
  private split(
    batch: readonly { x: X; count: number }[],
    instances: number,
    output: Float32Array,
    started: number,
  ): Float32Array[] {
    const width = this.outputWidth;
    if (output.length !== instances * width) {
      throw new Error(`the model returned ${output.length} values for ${instances} instances x ${width}`);
    }
    const slices: Float32Array[] = [];
    let row = 0;
    for (const p of batch) {
      slices.push(output.subarray(row * width, (row + p.count) * width));
      row += p.count;
    }
    this.observer?.onBatch(instances, batch.length, (performance.now() - started) / 1000);
    return slices;
  }
}
