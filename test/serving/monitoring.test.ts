/**
 * Monitoring in the model server (issue 15), through a real server on loopback: request ids,
 * sampling into the prediction log, window summaries counted into a crafted statistics.json,
 * feedback joined to predictions, drops and failed writes counted, the drain writing what is
 * buffered, and retention.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { localStore, type ObjectStore } from '../../artifact/storage.js';
import { windowKey, windowStart } from '../../monitoring/layout.js';
import type { PredictionRecord } from '../../monitoring/prediction-log.js';
import type { WindowSummary } from '../../monitoring/window-summary.js';
import { sweepRetention } from '../../serving/monitoring-retention.js';
import type { ModelServer, ModelServerOptions, RawServingConfig } from '../../serving/index.js';
import { call, metricValue, predict } from './helpers.js';
import { instanceOf, startServer, tempDir, trainArtifact, type TinyArtifact } from './helpers.js';
import { reference } from '../monitoring/fixtures.js';

let dir: { path: string; remove(): Promise<void> };
let cars: TinyArtifact;
const running: ModelServer[] = [];
let roots = 0;

beforeAll(async () => {
  dir = await tempDir('mlform-monitoring-');
  cars = await trainArtifact('cars', join(dir.path, 'cars'));
  // The crafted reference: Horsepower [..100) [100..150) [150..), Origin USA/Japan, the prediction.
  await writeFile(join(cars.dir, 'statistics.json'), JSON.stringify(reference));
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.shutdown()));
});
afterAll(async () => {
  await dir?.remove();
});

async function serve(
  monitoring: RawServingConfig['monitoring'] | undefined,
  options: Partial<ModelServerOptions> = {},
): Promise<{ server: ModelServer; url: string; root: string }> {
  const root = join(dir.path, `root-${roots++}`);
  const { server, url } = await startServer(
    {
      name: 'mpg',
      versions: [{ version: 1, uri: cars.dir }],
      ...(monitoring && { monitoring: { root, endpoint: 'mpg-api', ...monitoring } }),
    },
    options,
  );
  running.push(server);
  return { server, url, root };
}

const row = (i: number, changes: Record<string, unknown> = {}) => ({
  ...instanceOf(cars, cars.rows[i]),
  ...changes,
});

/** Every JSON line of every object under `prefix`. */
async function jsonLines<T>(prefix: string): Promise<T[]> {
  const out: T[] = [];
  for (const file of await localStore.list(prefix)) {
    for (const line of (await readFile(file, 'utf8')).split('\n')) if (line) out.push(JSON.parse(line) as T);
  }
  return out;
}

async function summaries(root: string): Promise<WindowSummary[]> {
  const files = await localStore.list(join(root, 'windows'));
  return Promise.all(files.map(async (f) => JSON.parse(await readFile(f, 'utf8')) as WindowSummary));
}

const feedback = (url: string, body: unknown) =>
  call(`${url}/v1/models/mpg:feedback`, { body: JSON.stringify(body) });

describe('request ids', () => {
  it('answers every predict with x-mlform-request-id: the client id when safe, else a fresh one', async () => {
    const { url } = await serve(undefined);
    const fresh = await predict(url, 'mpg', { instances: [row(0)] });
    expect(fresh.headers.get('x-mlform-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const again = await predict(url, 'mpg', { instances: [row(0)] });
    expect(again.headers.get('x-mlform-request-id')).not.toBe(fresh.headers.get('x-mlform-request-id'));
    const body = JSON.stringify({ instances: [row(0)] });
    const mine = await call(`${url}/v1/models/mpg:predict`, {
      body,
      headers: { 'x-mlform-request-id': 'order-42:a' },
    });
    expect(mine.headers.get('x-mlform-request-id')).toBe('order-42:a');
    for (const unsafe of ['x'.repeat(129), 'a%20b', '../x', '-x', 'a/b', 'a b']) {
      const answer = await call(`${url}/v1/models/mpg:predict`, {
        body,
        headers: { 'x-mlform-request-id': unsafe },
      });
      expect(answer.headers.get('x-mlform-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
    // A refused request carries one too: the client can quote it.
    const bad = await predict(url, 'mpg', { instances: [] });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('x-mlform-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers 404 on the feedback route when monitoring is off, saying how to turn it on', async () => {
    const { url } = await serve(undefined);
    const answer = await feedback(url, { feedback: [{ id: 'a', truth: 1 }] });
    expect(answer.status).toBe(404);
    expect(answer.json.error).toMatch(/spec\.monitoring/);
  });
});

describe('prediction log', () => {
  it('logs about sampleRate of the requests, each with its id, inputs and predictions', async () => {
    const { server, url, root } = await serve({ sampleRate: 0.3 });
    const ids = new Map<string, unknown>();
    for (let i = 0; i < 400; i += 20) {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, k) => predict(url, 'mpg', { instances: [row((i + k) % 50)] })),
      );
      for (const a of answers) ids.set(a.headers.get('x-mlform-request-id') ?? '', a.json.predictions);
    }
    expect(ids.size).toBe(400);
    await server.monitor?.runTick(true);
    const records = await jsonLines<PredictionRecord>(join(root, 'logs'));
    // Binomial(400, 0.3): mean 120, sd 9.2; these bounds are 4.3 sd away.
    expect(records.length).toBeGreaterThan(80);
    expect(records.length).toBeLessThan(160);
    for (const r of records.slice(0, 20)) {
      expect(r).toMatchObject({ endpoint: 'mpg-api', model: 'mpg', version: 1 });
      expect(r.predictions).toEqual(ids.get(r.id));
      expect(r.instances).toHaveLength(1);
    }
    const metrics = (await call(`${url}/metrics`)).text;
    expect(metricValue(metrics, 'mlform_serving_monitoring_logged_total')).toBe(records.length);
    // Object names: logs/<day>/<hour>/<time>-<instance>-<seq>.jsonl, instance = prefix + random.
    const [file] = await localStore.list(join(root, 'logs'));
    expect(file).toMatch(/logs\/\d{4}-\d{2}-\d{2}\/\d{2}\/\d{6}\.\d{3}-server-[0-9a-f]{8}-0\.jsonl$/);
  });

  it('drops and counts records past a full buffer and batches a failing store cannot take; requests still succeed', async () => {
    // Writes hang until released, then fail: the buffer fills while a flush is under way.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let writes = 0;
    const failing: ObjectStore = {
      ...localStore,
      write: async () => {
        writes++;
        await gate;
        throw new Error('bucket unavailable');
      },
    };
    const { server, url } = await serve(
      { sampleRate: 1, bufferRecords: 2, flushRecords: 2 },
      { monitoringStore: failing },
    );
    const ask = async (i: number) =>
      expect((await predict(url, 'mpg', { instances: [row(i)] })).status).toBe(200);
    await ask(1);
    await ask(2); // the buffer reaches flushRecords: a flush starts and hangs
    await expect.poll(() => writes).toBe(1);
    for (let i = 3; i <= 7; i++) await ask(i); // 3 and 4 are buffered, 5 to 7 dropped
    release();
    await server.monitor?.runTick(true); // the hung flush fails, then the next one
    const metrics = (await call(`${url}/metrics`)).text;
    expect(metricValue(metrics, 'mlform_serving_monitoring_dropped_total', { reason: 'buffer_full' })).toBe(
      3,
    );
    expect(metricValue(metrics, 'mlform_serving_monitoring_dropped_total', { reason: 'flush_failed' })).toBe(
      4,
    );
    expect(metricValue(metrics, 'mlform_serving_monitoring_flush_errors_total', { object: 'log' })).toBe(2);
    expect(metricValue(metrics, 'mlform_serving_monitoring_flush_errors_total', { object: 'summary' })).toBe(
      1,
    );
    expect(metricValue(metrics, 'mlform_serving_monitoring_logged_total')).toBeUndefined();
    // The buffer is empty again: new records are taken, not dropped.
    await ask(8);
    await server.monitor?.runTick(true);
    const after = (await call(`${url}/metrics`)).text;
    expect(metricValue(after, 'mlform_serving_monitoring_dropped_total', { reason: 'buffer_full' })).toBe(3);
    expect(metricValue(after, 'mlform_serving_monitoring_dropped_total', { reason: 'flush_failed' })).toBe(5);
  });
});

describe('window summaries', () => {
  it("counts every request (not only the sampled) into the version's reference bins", async () => {
    const { server, url, root } = await serve({ sampleRate: 0 });
    const now = Date.now();
    await predict(url, 'mpg', {
      instances: [
        row(1, { Horsepower: 90, Origin: 'USA' }),
        row(2, { Horsepower: 100, Origin: 'Japan' }),
        row(3, { Horsepower: 200, Origin: 'Europe' }),
      ],
    });
    await predict(url, 'mpg', { inputs: { ...columns([row(4, { Horsepower: null, Origin: 'USA' })]) } });
    await server.monitor?.runTick(true);
    const [summary, ...others] = await summaries(root);
    expect(others).toEqual([]);
    const start = windowStart(now, 3_600_000);
    expect(summary).toMatchObject({
      endpoint: 'mpg-api',
      model: 'mpg',
      version: 1,
      instance: server.monitor?.instance,
      windowStart: new Date(start).toISOString(),
      windowEnd: new Date(start + 3_600_000).toISOString(),
      count: 4,
      features: {
        Horsepower: { type: 'numeric', counts: [1, 1, 1], missing: 1 },
        Origin: { type: 'categorical', categories: { USA: 2, Japan: 1 }, other: 1, missing: 0 },
      },
    });
    const prediction = summary.prediction;
    expect(prediction?.type === 'numeric' && prediction.counts.reduce((a, b) => a + b, 0)).toBe(4);
    const files = await readdir(join(root, 'windows', windowKey(start)));
    expect(files).toEqual([`v1-${server.monitor?.instance}.json`]);
    // Nothing logged at sampleRate 0.
    expect(await localStore.list(join(root, 'logs'))).toEqual([]);
  });

  it('writes the buffered log and the current window on shutdown (SIGTERM drain)', async () => {
    const { server, url, root } = await serve({ sampleRate: 1 });
    await predict(url, 'mpg', { instances: [row(1), row(2)] });
    running.splice(running.indexOf(server), 1);
    await server.shutdown('SIGTERM');
    expect(await jsonLines(join(root, 'logs'))).toHaveLength(1);
    expect((await summaries(root)).map((s) => s.count)).toEqual([2]);
  });
});

describe('feedback', () => {
  it('joins truth to earlier predictions by request id, into that window’s quality counts', async () => {
    const { server, url, root } = await serve({ sampleRate: 0 });
    const first = await predict(url, 'mpg', { instances: [row(1), row(2)] });
    const second = await predict(url, 'mpg', { instances: [row(3)] });
    const [p1, p2] = first.json.predictions as number[];
    const [p3] = second.json.predictions as number[];
    const id1 = first.headers.get('x-mlform-request-id') ?? '';
    const id2 = second.headers.get('x-mlform-request-id') ?? '';
    const answer = await feedback(url, {
      feedback: [
        { id: id1, truth: 20 },
        { id: id1, index: 1, truth: 30 },
        { id: id2, truth: 25 },
        { id: 'never-served', truth: 1 },
        { id: id1, index: 5, truth: 1 },
      ],
    });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({
      matched: 3,
      unmatched: 2,
      duplicates: 0,
      unmatchedIds: ['never-served', id1],
    });
    // The same truth twice is counted once.
    const repeat = await feedback(url, { feedback: [{ id: id2, truth: 25 }] });
    expect(repeat.json).toMatchObject({ matched: 0, duplicates: 1 });
    await server.monitor?.runTick(true);
    const [summary] = await summaries(root);
    const errors = [p1 - 20, p2 - 30, p3 - 25];
    expect(summary.quality?.count).toBe(3);
    expect(summary.quality?.unmatched).toBe(2);
    expect(summary.quality?.sumAbsError).toBeCloseTo(
      errors.reduce((s, e) => s + Math.abs(e), 0),
      6,
    );
    expect(summary.quality?.sumSquaredError).toBeCloseTo(
      errors.reduce((s, e) => s + e * e, 0),
      6,
    );
    // The raw feedback is kept too, for audits.
    const raw = await jsonLines<{ id: string; matched: boolean }>(join(root, 'feedback'));
    expect(raw.map((r) => [r.id, r.matched])).toEqual([
      [id1, true],
      [id1, true],
      [id2, true],
      ['never-served', false],
      [id1, false],
      [id2, false],
    ]);
    const metrics = (await call(`${url}/metrics`)).text;
    expect(metricValue(metrics, 'mlform_serving_feedback_items_total', { result: 'matched' })).toBe(3);
  });

  it('refuses bad bodies with 400 naming the field, and counts nothing then', async () => {
    const { server, url, root } = await serve({ sampleRate: 0 });
    const served = await predict(url, 'mpg', { instances: [row(1)] });
    const id = served.headers.get('x-mlform-request-id') ?? '';
    const cases: [unknown, RegExp][] = [
      [{}, /feedback/],
      [{ feedback: [] }, /^feedback:/],
      [{ feedback: [{ id, truth: 1, extra: 2 }] }, /feedback\[0\]/],
      [{ feedback: [{ id: 'x'.repeat(129), truth: 1 }] }, /feedback\[0\]\.id/],
      [
        {
          feedback: [
            { id, truth: 1 },
            { id, index: -1, truth: 1 },
          ],
        },
        /feedback\[1\]\.index/,
      ],
      [
        {
          feedback: [
            { id, truth: 1 },
            { id, truth: 'fast' },
          ],
        },
        /feedback\[1\]\.truth: expected a number/,
      ],
    ];
    for (const [body, message] of cases) {
      const answer = await feedback(url, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.json.error).toMatch(message);
    }
    const notJson = await call(`${url}/v1/models/mpg:feedback`, { body: '{' });
    expect(notJson.status).toBe(400);
    expect((await call(`${url}/v1/models/mpg:feedback`)).status).toBe(405);
    expect((await call(`${url}/v1/models/other:feedback`, { body: '{}' })).status).toBe(404);
    await server.monitor?.runTick(true);
    const [summary] = await summaries(root);
    expect(summary.quality).toBeUndefined();
  });
});

describe('retention', () => {
  it('deletes log, feedback and summary objects older than the retention, and nothing else', async () => {
    const root = join(dir.path, 'retention');
    const now = Date.parse('2026-12-05T10:30:00Z');
    const files = {
      oldLog: 'logs/2026-12-03/09/090000.000-a-0.jsonl',
      newLog: 'logs/2026-12-04/11/110000.000-a-1.jsonl',
      oldFeedback: 'feedback/2026-12-01/00/000000.000-a-0.jsonl',
      oldSummary: 'windows/20261204T090000Z/v1-a.json',
      newSummary: 'windows/20261204T110000Z/v1-a.json',
      foreign: 'windows/notes.txt',
    };
    for (const name of Object.values(files)) {
      await mkdir(join(root, name, '..'), { recursive: true });
      await writeFile(join(root, name), '{}\n');
    }
    const cutoff = now - 24 * 3_600_000;
    expect(await sweepRetention(localStore, root, cutoff, 3_600_000, 2)).toBe(2); // bounded: the two oldest
    expect(await sweepRetention(localStore, root, cutoff, 3_600_000)).toBe(1);
    const left = (await localStore.list(root)).map((f) => f.slice(root.length + 1));
    expect(left.sort()).toEqual([files.newLog, files.foreign, files.newSummary].sort());
  });
});

function columns(rows: Record<string, unknown>[]): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const r of rows) for (const [k, v] of Object.entries(r)) (out[k] ??= []).push(v);
  return out;
}
