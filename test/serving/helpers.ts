/**
 * Shared pieces of the serving tests: a trained tiny artifact, an in-process server with logs
 * captured, HTTP calls on loopback, and the in-process reference prediction.
 */
import { Writable } from 'node:stream';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, expect } from 'vitest';
import { selectBackend } from '../../artifact/tfjs-backend.js';
import { decodeOutputs, encodeInstances, type Prediction } from '../../trainer/data/index.js';
import {
  createServingLogger,
  normalizeServingConfig,
  ModelServer,
  type ModelServerOptions,
  type RawServingConfig,
  type ServingConfig,
} from '../../serving/index.js';
import { trainTinyArtifact, type ArtifactKind, type TinyArtifact } from '../../bench/serving-artifact.js';

export { instanceOf } from '../../bench/serving-artifact.js';
import { tempDir } from './temp-dir.js';

export { tempDir };
export type { TinyArtifact };

export async function trainArtifact(
  kind: ArtifactKind,
  dir: string,
  options: { epochs?: number; seed?: number } = {},
): Promise<TinyArtifact> {
  await selectBackend({ acceleratorRequested: false });
  return trainTinyArtifact(kind, dir, { epochs: 2, ...options });
}

export function config(raw: RawServingConfig): ServingConfig {
  const { config, diagnostics } = normalizeServingConfig(raw);
  if (!config) throw new Error(diagnostics.map((d) => `${d.path?.join('.')}: ${d.message}`).join('\n'));
  return config;
}

/** Log lines the server wrote, parsed. */
export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _encoding: string, callback: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim()) this.lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    callback();
  }
}

export async function startServer(
  raw: RawServingConfig,
  options: Partial<ModelServerOptions> = {},
): Promise<{ server: ModelServer; url: string; logs: LogCapture }> {
  const logs = new LogCapture();
  const server = new ModelServer({
    config: config(raw),
    logger: createServingLogger('info', logs),
    processMetrics: false,
    ...options,
  });
  const url = await server.listen(0, '127.0.0.1');
  await server.load();
  return { server, url, logs };
}

export interface Answer {
  status: number;
  headers: Headers;
  json: Record<string, unknown>;
  text: string;
}

export async function call(
  url: string,
  options: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const response = await fetch(url, {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    headers:
      options.body === undefined
        ? options.headers
        : { 'content-type': 'application/json', ...options.headers },
    body: options.body,
  });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // /metrics and errors from outside the app are not JSON
  }
  return { status: response.status, headers: response.headers, json, text };
}

export const predict = (url: string, model: string, body: unknown, version?: number): Promise<Answer> =>
  call(`${url}/v1/models/${model}${version === undefined ? '' : `/versions/${version}`}:predict`, {
    body: JSON.stringify(body),
  });

/** What the trainer computes in process for these raw instances: encode, model.predict, decode. */
export function inProcess(artifact: TinyArtifact, instances: unknown[]): Prediction[] {
  const encoded = encodeInstances(artifact.preprocess, instances);
  if (!encoded.ok) throw new Error(JSON.stringify(encoded.errors));
  const output = tf.tidy(() => {
    const x = tf.tensor(encoded.x, [encoded.count, ...artifact.preprocess.inputShape]);
    return (artifact.model.predict(x) as tf.Tensor).dataSync() as Float32Array;
  });
  return decodeOutputs(artifact.preprocess, output, encoded.count, encoded.anchor);
}

/** Equal to float tolerance: |a - b| <= 1e-6 * max(1, |b|), for numbers and class probabilities. */
export function expectClose(actual: unknown, expected: Prediction[]): void {
  const close = (a: unknown, b: number): boolean =>
    typeof a === 'number' && Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
  expect(Array.isArray(actual) ? actual.length : actual).toBe(expected.length);
  expected.forEach((e, i) => {
    const a: unknown = (actual as unknown[])[i];
    if (typeof e === 'number') {
      expect(close(a, e), `prediction ${i}: served ${JSON.stringify(a)}, in-process ${e}`).toBe(true);
      return;
    }
    const served = a as { label?: unknown; probabilities?: Record<string, unknown> };
    expect(served.label, `prediction ${i}`).toBe(e.label);
    for (const [label, p] of Object.entries(e.probabilities)) {
      const got = served.probabilities?.[label];
      expect(close(got, p), `prediction ${i}: p(${label}) served ${String(got)}, in-process ${p}`).toBe(true);
    }
  });
}

/** The value of a metric sample line `name{labels} value` (the first one matching all labels). */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

export interface ServedModels {
  cars: TinyArtifact;
  iris: TinyArtifact;
  /** `mpg` (cars regression) and `iris` (classification), version 1 each. */
  carsServer: { server: ModelServer; url: string };
  irisServer: { server: ModelServer; url: string };
}

/**
 * The two tiny models trained and served for the tests of one file (registers its beforeAll and
 * afterAll); read the fields inside tests, once beforeAll has run.
 */
export function serveCarsAndIris(): ServedModels {
  const served = {} as ServedModels;
  let dir: { path: string; remove(): Promise<void> } | undefined;
  beforeAll(async () => {
    dir = await tempDir();
    served.cars = await trainArtifact('cars', `${dir.path}/cars`);
    served.iris = await trainArtifact('iris', `${dir.path}/iris`);
    served.carsServer = await startServer({ name: 'mpg', versions: [{ version: 1, uri: served.cars.dir }] });
    served.irisServer = await startServer({ name: 'iris', versions: [{ version: 1, uri: served.iris.dir }] });
  });
  afterAll(async () => {
    await served.carsServer?.server.shutdown();
    await served.irisServer?.server.shutdown();
    await dir?.remove();
  });
  return served;
}
