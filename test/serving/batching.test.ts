/**
 * Dynamic batching: the Batcher on its own (coalescing, limits, splitting, failures), then over
 * HTTP: concurrent requests share model calls and each gets its own prediction back.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Batcher } from '../../serving/batcher.js';
import type { BatchingConfig } from '../../serving/config.js';
import type { ModelServer } from '../../serving/index.js';
import {
  call,
  expectClose,
  inProcess,
  instanceOf,
  metricValue,
  predict,
  startServer,
  tempDir,
  trainArtifact,
  type TinyArtifact,
} from './helpers.js';

/** A fake model: output = 10 * first input value + 1 (width 1), recording each call's size. */
function fakeModel(rowSize: number) {
  const calls: number[] = [];
  const run = (x: Float32Array, count: number): Float32Array => {
    calls.push(count);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = 10 * x[i * rowSize] + 1;
    return out;
  };
  return { calls, run };
}

const rows = (...firsts: number[]): Float32Array => {
  const x = new Float32Array(firsts.length * 2);
  firsts.forEach((v, i) => (x[i * 2] = v));
  return x;
};

const on = (options: Partial<BatchingConfig> = {}): BatchingConfig => ({
  enabled: true,
  maxBatchSize: 64,
  batchTimeoutMicros: 0,
  ...options,
});

describe('Batcher', () => {
  it('coalesces requests queued in the same event-loop turn into one call and splits the outputs', async () => {
    const model = fakeModel(2);
    const batcher = new Batcher(model.run, 2, 1, on());
    const results = await Promise.all([
      batcher.submit(rows(1), 1),
      batcher.submit(rows(2, 3), 2),
      batcher.submit(rows(4), 1),
    ]);
    expect(model.calls).toEqual([4]);
    expect(results.map((r) => [...r])).toEqual([[11], [21, 31], [41]]);
  });

  it('runs a full batch at once and never exceeds maxBatchSize', async () => {
    const model = fakeModel(2);
    const batcher = new Batcher(model.run, 2, 1, on({ maxBatchSize: 3 }));
    const pending = [1, 2, 3, 4, 5, 6, 7].map((v) => batcher.submit(rows(v), 1));
    // The first three ran synchronously when the third arrived, and so did the next three.
    expect(model.calls).toEqual([3, 3]);
    const results = await Promise.all(pending);
    expect(model.calls).toEqual([3, 3, 1]);
    expect(results.map((r) => r[0])).toEqual([11, 21, 31, 41, 51, 61, 71]);
  });

  it('runs a request larger than maxBatchSize alone, whole', async () => {
    const model = fakeModel(2);
    const batcher = new Batcher(model.run, 2, 1, on({ maxBatchSize: 2 }));
    const [small, big] = await Promise.all([batcher.submit(rows(1), 1), batcher.submit(rows(2, 3, 4, 5), 4)]);
    expect(model.calls).toEqual([1, 4]);
    expect([...small]).toEqual([11]);
    expect([...big]).toEqual([21, 31, 41, 51]);
  });

  it('waits up to batchTimeoutMicros for companions', async () => {
    // A mocked clock: on a busy machine a real 5 ms pause can outlast the 30 ms window.
    vi.useFakeTimers({
      toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance'],
    });
    try {
      const model = fakeModel(2);
      const batcher = new Batcher(model.run, 2, 1, on({ batchTimeoutMicros: 30_000 }));
      const first = batcher.submit(rows(1), 1);
      await vi.advanceTimersByTimeAsync(29);
      expect(model.calls).toEqual([]);
      const second = batcher.submit(rows(2), 1);
      // The window counts from the first request: one more millisecond runs both, together.
      await vi.advanceTimersByTimeAsync(1);
      expect(model.calls).toEqual([2]);
      expect([...(await first), ...(await second)]).toEqual([11, 21]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('calls the model once per request when batching is off', async () => {
    const model = fakeModel(2);
    const batcher = new Batcher(model.run, 2, 1, on({ enabled: false }));
    await Promise.all([batcher.submit(rows(1), 1), batcher.submit(rows(2), 1)]);
    expect(model.calls).toEqual([1, 1]);
  });

  it('rejects every request of a failed batch and keeps working', async () => {
    let fail = true;
    const model = fakeModel(2);
    const batcher = new Batcher(
      (x, n) => {
        if (fail) throw new Error('kernel exploded');
        return model.run(x, n);
      },
      2,
      1,
      on(),
    );
    const failed = await Promise.allSettled([batcher.submit(rows(1), 1), batcher.submit(rows(2), 1)]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect([...(await batcher.submit(rows(3), 1))]).toEqual([31]);
  });

  it('drain() answers everything queued now', async () => {
    const model = fakeModel(2);
    const batcher = new Batcher(model.run, 2, 1, on({ batchTimeoutMicros: 10_000_000 }));
    const pending = Promise.all([batcher.submit(rows(1), 1), batcher.submit(rows(2), 1)]);
    batcher.drain();
    expect((await pending).map((r) => r[0])).toEqual([11, 21]);
  });
});

describe('Batcher with an asynchronous model call (ONNX Runtime)', () => {
  /** The fake model, answering when the test releases the call. */
  function asyncModel() {
    const model = fakeModel(2);
    const waiting: (() => void)[] = [];
    const run = (x: Float64Array, count: number): Promise<Float32Array> => {
      const output = model.run(Float32Array.from(x), count); // records the call now
      return new Promise((resolve) => waiting.push(() => resolve(output)));
    };
    return { calls: model.calls, run, release: () => waiting.shift()?.() };
  }
  const rows64 = (...firsts: number[]): Float64Array => Float64Array.from(rows(...firsts));

  it('runs one batch at a time; what arrives meanwhile is the next batch, in float64 as sent', async () => {
    const model = asyncModel();
    const batcher = new Batcher<Float64Array>(model.run, 2, 1, on());
    const first = batcher.submit(rows64(1), 1);
    await new Promise((r) => setImmediate(r));
    expect(model.calls).toEqual([1]);
    const later = [batcher.submit(rows64(2), 1), batcher.submit(rows64(3, 4), 2)];
    await new Promise((r) => setImmediate(r));
    expect(model.calls).toEqual([1]); // the first call is still running
    model.release();
    expect([...(await first)]).toEqual([11]);
    await vi.waitFor(() => expect(model.calls).toEqual([1, 3]));
    model.release();
    expect((await Promise.all(later)).map((r) => [...r])).toEqual([[21], [31, 41]]);
  });

  it('rejects a failed batch and runs the next one', async () => {
    let fail = true;
    const batcher = new Batcher<Float64Array>(
      (x, n) =>
        fail ? Promise.reject(new Error('session.run failed')) : Promise.resolve(new Float32Array(n).fill(7)),
      2,
      1,
      on(),
    );
    await expect(batcher.submit(rows64(1), 1)).rejects.toThrow('session.run failed');
    fail = false;
    expect([...(await batcher.submit(rows64(2), 1))]).toEqual([7]);
  });

  it('answers with batching off too', async () => {
    const batcher = new Batcher<Float64Array>(
      (x, n) => Promise.resolve(new Float32Array(n).fill(x[0])),
      2,
      1,
      on({ enabled: false }),
    );
    expect([...(await batcher.submit(rows64(5), 1))]).toEqual([5]);
  });
});

describe('batching over HTTP', () => {
  let dir: { path: string; remove(): Promise<void> };
  let cars: TinyArtifact;
  let batched: { server: ModelServer; url: string };
  let unbatched: { server: ModelServer; url: string };

  beforeAll(async () => {
    dir = await tempDir();
    cars = await trainArtifact('cars', dir.path);
    // A 50 ms window makes coalescing certain even on a loaded machine.
    batched = await startServer({
      name: 'mpg',
      versions: [{ version: 1, uri: cars.dir }],
      batching: { maxBatchSize: 16, batchTimeoutMicros: 50_000 },
    });
    unbatched = await startServer({
      name: 'mpg',
      versions: [{ version: 1, uri: cars.dir }],
      batching: { enabled: false },
    });
  });

  afterAll(async () => {
    await batched?.server.shutdown();
    await unbatched?.server.shutdown();
    await dir?.remove();
  });

  async function batchCounts(url: string): Promise<{ batches: number; instances: number; requests: number }> {
    const text = (await call(`${url}/metrics`)).text;
    return {
      batches: metricValue(text, 'mlform_serving_batch_size_count', { version: '1' }) ?? 0,
      instances: metricValue(text, 'mlform_serving_batch_size_sum', { version: '1' }) ?? 0,
      requests: metricValue(text, 'mlform_serving_batch_requests_sum', { version: '1' }) ?? 0,
    };
  }

  it('coalesces 40 concurrent requests into a few model calls; each gets its own prediction', async () => {
    const before = await batchCounts(batched.url);
    // Different rows and sizes (1 to 3 instances), so a mixed-up split would show.
    const requests = Array.from({ length: 40 }, (_, i) =>
      cars.rows.slice(i * 3, i * 3 + 1 + (i % 3)).map((row) => instanceOf(cars, row)),
    );
    const answers = await Promise.all(
      requests.map((instances) => predict(batched.url, 'mpg', { instances })),
    );
    answers.forEach((answer, i) => {
      expect(answer.status).toBe(200);
      expectClose(answer.json.predictions, inProcess(cars, requests[i]));
    });
    const after = await batchCounts(batched.url);
    const batches = after.batches - before.batches;
    const instances = after.instances - before.instances;
    expect(after.requests - before.requests).toBe(40);
    expect(instances).toBe(requests.reduce((n, r) => n + r.length, 0));
    // 80 instances at most 16 per call: at least 5 calls; far fewer than 40 proves coalescing.
    expect(batches).toBeGreaterThanOrEqual(5);
    expect(batches).toBeLessThan(20);
    const metrics = (await call(`${batched.url}/metrics`)).text;
    // No call went over maxBatchSize: every batch is in the <= 16 bucket.
    expect(metricValue(metrics, 'mlform_serving_batch_size_bucket', { le: '16' })).toBe(
      metricValue(metrics, 'mlform_serving_batch_size_count'),
    );
  });

  it('makes one model call per request with batching off', async () => {
    const before = await batchCounts(unbatched.url);
    const instances = [instanceOf(cars, cars.rows[1])];
    await Promise.all(Array.from({ length: 10 }, () => predict(unbatched.url, 'mpg', { instances })));
    const after = await batchCounts(unbatched.url);
    expect(after.batches - before.batches).toBe(10);
  });
});
