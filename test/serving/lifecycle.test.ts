/**
 * Health and lifecycle in process: live at once, ready only after load and warm-up, /metrics,
 * a version that fails to load, and the graceful drain (queued batches answered, new connections
 * refused, models freed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createServingLogger,
  loadModelVersion,
  ModelServer,
  warmUp,
  type ModelVersion,
} from '../../serving/index.js';
import {
  LogCapture,
  call,
  config,
  expectClose,
  inProcess,
  instanceOf,
  predict,
  startServer,
  tempDir,
  trainArtifact,
  type TinyArtifact,
} from './helpers.js';
import { waitFor } from '../controller/helpers.js';

let dir: { path: string; remove(): Promise<void> };
let cars: TinyArtifact;

beforeAll(async () => {
  dir = await tempDir();
  cars = await trainArtifact('cars', dir.path);
});

afterAll(async () => {
  await dir?.remove();
});

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('readiness', () => {
  it('is live at once, ready only after the model is loaded and warmed up', async () => {
    const loadGate = deferred();
    const warmGate = deferred();
    const events: string[] = [];
    let warming = false;
    const server = new ModelServer({
      config: config({ name: 'mpg', versions: [{ version: 1, uri: cars.dir }] }),
      logger: createServingLogger('silent', new LogCapture()),
      processMetrics: false,
      loadVersion: async (v) => {
        await loadGate.promise;
        events.push('loaded');
        return loadModelVersion(v);
      },
      warmUp: async (version: ModelVersion, size: number) => {
        warming = true;
        await warmGate.promise;
        warmUp(version, size);
        events.push('warmed');
      },
    });
    const url = await server.listen();
    const loading = server.load();
    try {
      expect((await call(`${url}/v2/health/live`)).status).toBe(200);
      expect((await call(`${url}/v2/health/ready`)).json).toEqual({ ready: false });
      expect((await call(`${url}/v2/health/ready`)).status).toBe(503);
      expect((await call(`${url}/v2/models/mpg/ready`)).status).toBe(503);
      const early = await predict(url, 'mpg', { instances: [{}] });
      expect(early.status).toBe(503);
      expect(early.json.error).toContain('is loading');
      expect(early.headers.get('retry-after')).toBe('1');
      const status = await call(`${url}/v1/models/mpg`);
      expect((status.json.model_version_status as { state: string }[])[0].state).toBe('LOADING');

      loadGate.resolve();
      await waitFor('the warm-up to start', async () => warming, 10_000, 5);
      // Loaded but not warmed up: still not ready.
      expect(events).toEqual(['loaded']);
      expect((await call(`${url}/v2/health/ready`)).status).toBe(503);

      warmGate.resolve();
      await loading;
      expect(events).toEqual(['loaded', 'warmed']);
      expect((await call(`${url}/v2/health/ready`)).status).toBe(200);
      const missing = Object.fromEntries(cars.features.map((name) => [name, null]));
      expect((await predict(url, 'mpg', { instances: [missing] })).status).toBe(200);
    } finally {
      loadGate.resolve();
      warmGate.resolve();
      await server.shutdown();
    }
  });

  it('fails the start when a version cannot be loaded, naming the version and the file', async () => {
    const logs = new LogCapture();
    const server = new ModelServer({
      config: config({
        name: 'mpg',
        versions: [
          { version: 1, uri: cars.dir },
          { version: 2, uri: `${dir.path}/nothing-here` },
        ],
      }),
      logger: createServingLogger('info', logs),
      processMetrics: false,
    });
    const url = await server.listen();
    await expect(server.load()).rejects.toThrow(/version 2: cannot read .*nothing-here\/preprocess\.json/);
    expect(server.state).toBe('failed');
    const status = await call(`${url}/v1/models/mpg/versions/2`);
    expect(status.json.model_version_status).toMatchObject([
      { version: '2', state: 'END', status: { error_code: 'UNKNOWN' } },
    ]);
    expect((await call(`${url}/v2/health/ready`)).status).toBe(503);
    await server.shutdown();
    expect(logs.lines.some((l) => l.message === 'version failed to load')).toBe(true);
  });
});

describe('/metrics', () => {
  it('exposes requests, latency, batch sizes and errors by code', async () => {
    const { server, url } = await startServer({ name: 'mpg', versions: [{ version: 1, uri: cars.dir }] });
    try {
      await predict(url, 'mpg', { instances: [instanceOf(cars, cars.rows[0])] });
      await predict(url, 'mpg', { instances: 'no' });
      const metrics = await call(`${url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get('content-type')).toContain('text/plain');
      for (const name of [
        'mlform_serving_requests_total{model="mpg",route="predict",code="200",version="1"} 1',
        'mlform_serving_requests_total{model="mpg",route="predict",code="400",version="1"} 1',
        'mlform_serving_request_duration_seconds_bucket',
        'mlform_serving_batch_size_bucket',
        'mlform_serving_batch_duration_seconds_bucket',
        'mlform_serving_errors_total{model="mpg",code="400"} 1',
        'mlform_serving_instances_total{model="mpg",version="1"}',
        'mlform_serving_version_ready{model="mpg",version="1"} 1',
        'mlform_serving_inflight_requests',
      ]) {
        expect(metrics.text).toContain(name);
      }
      // Warm-up calls are not traffic: only the one good request's instance is counted.
      expect(metrics.text).toContain('mlform_serving_batch_size_count{model="mpg",version="1"} 1');
    } finally {
      await server.shutdown();
    }
  });
});

describe('graceful shutdown', () => {
  it('answers queued and in-flight requests, refuses new connections, then frees the models', async () => {
    // A 10 s batch window: requests sit in the queue until shutdown flushes them.
    const { server, url, logs } = await startServer({
      name: 'mpg',
      versions: [{ version: 1, uri: cars.dir }],
      batching: { maxBatchSize: 1000, batchTimeoutMicros: 10_000_000 },
    });
    const requests = Array.from({ length: 8 }, (_, i) => [instanceOf(cars, cars.rows[i])]);
    const answers = requests.map((instances) => predict(url, 'mpg', { instances }));
    // Wait until all eight are queued in the batcher (else the shutdown would not be draining them).
    await waitFor('eight requests queued in the batcher', async () => server.app.queued === 8, 10_000, 10);
    const started = performance.now();
    const stopping = server.shutdown('test');
    expect((await call(`${url}/v2/health/live`).catch(() => ({ status: 0 }))).status).toBe(0);
    const settled = await Promise.all(answers);
    settled.forEach((answer, i) => {
      expect(answer.status).toBe(200);
      expectClose(answer.json.predictions, inProcess(cars, requests[i]));
    });
    await stopping;
    expect(performance.now() - started).toBeLessThan(5000);
    expect(server.state).toBe('closed');
    expect(logs.lines.map((l) => l.message)).toEqual(expect.arrayContaining(['draining', 'stopped']));
  });

  it('shut down while loading: stops without ever turning ready', async () => {
    const gate = deferred();
    const server = new ModelServer({
      config: config({ name: 'mpg', versions: [{ version: 1, uri: cars.dir }] }),
      logger: createServingLogger('silent', new LogCapture()),
      processMetrics: false,
      loadVersion: async (v) => {
        await gate.promise;
        return loadModelVersion(v);
      },
    });
    await server.listen();
    const loading = server.load();
    const stopping = server.shutdown('test');
    gate.resolve();
    await Promise.all([loading, stopping]);
    expect(server.state).toBe('closed');
    expect(server.app.ready).toBe(false);
  });
});
