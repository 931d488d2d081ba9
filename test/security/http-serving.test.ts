/**
 * Attacks on the model server through a real `mlform serve` process (issue 11, points 8 and 11):
 * slowloris clients against short configured bounds, and predict requests that used to get a
 * prediction for a row the client did not send (a left-out feature silently imputed, a number
 * taken as a category, invalid UTF-8 turned into replacement characters).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expectClose,
  inProcess,
  instanceOf,
  tempDir,
  trainArtifact,
  type TinyArtifact,
} from '../serving/helpers.js';
import { slowloris } from './http-clients.js';

let dir: { path: string; remove(): Promise<void> };
let cars: TinyArtifact;
let child: ChildProcess;
let port: number;
let base: string;
let good: Record<string, unknown>;

/** Starts `mlform serve` and resolves once it is ready, with the port it listens on. */
function serve(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const proc = spawn(process.execPath, ['bin/mlform.js', 'serve', ...args], {
    env: { ...process.env, PORT: '', MODEL_URI: '', MODEL_NAME: '', NO_COLOR: '1', MLFORM_BACKEND: 'wasm' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let buffer = '';
    let stderr = '';
    let listening = 0;
    const timer = setTimeout(() => reject(new Error(`mlform serve did not get ready: ${stderr}`)), 30_000);
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffer.slice(0, newline)) as { message?: string; url?: string };
        buffer = buffer.slice(newline + 1);
        if (line.message === 'listening' && line.url) listening = Number(new URL(line.url).port);
        if (line.message === 'ready') {
          clearTimeout(timer);
          resolve({ child: proc, port: listening });
        }
      }
    });
    proc.once('exit', (code) => reject(new Error(`mlform serve exited with ${code}: ${stderr}`)));
  });
}

beforeAll(async () => {
  dir = await tempDir();
  cars = await trainArtifact('cars', join(dir.path, 'versions', '1'), { epochs: 1 });
  good = instanceOf(cars, cars.rows[0]);
  ({ child, port } = await serve([
    '--model',
    cars.dir,
    '--name',
    'mpg',
    '--port',
    '0',
    '--headers-timeout',
    '1',
    '--receive-timeout',
    '2',
  ]));
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  await dir?.remove();
});

/** POSTs raw bytes (fetch would re-encode a string as UTF-8). */
function post(
  path: string,
  body: Buffer | string,
): Promise<{ status: number; json: { error?: string; predictions?: unknown[]; outputs?: unknown } }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      { method: 'POST', headers: { 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as { error?: string } }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const PREDICT = '/v1/models/mpg:predict';
const PINNED = '/v1/models/mpg/versions/1:predict';

describe('mlform serve: strict prediction inputs', () => {
  it('a left-out feature is a 400 naming it, on every predict route and both formats', async () => {
    const { Horsepower: _left, ...partial } = good;
    for (const path of [PREDICT, PINNED]) {
      const rows = await post(path, JSON.stringify({ instances: [good, partial] }));
      expect(rows.status, path).toBe(400);
      expect(rows.json.error).toContain('instances[1].Horsepower: required');
      const inputs = Object.fromEntries(Object.entries(partial).map(([k, v]) => [k, [v]]));
      const columns = await post(path, JSON.stringify({ inputs }));
      expect(columns.status, path).toBe(400);
      expect(columns.json.error).toContain('inputs.Horsepower[0]: required');
    }
  });

  it('an explicit null or a missing marker still means "missing, fill as training did"', async () => {
    const withNull = { ...good, Horsepower: null, Origin: 'NA' };
    const answer = await post(PREDICT, JSON.stringify({ instances: [withNull] }));
    expect(answer.status).toBe(200);
    expectClose(
      answer.json.predictions,
      inProcess(cars, [{ ...good, Horsepower: undefined, Origin: undefined }]),
    );
  });

  it('a number for a categorical feature and a string for a numeric one are 400s naming the field', async () => {
    const number = await post(PREDICT, JSON.stringify({ instances: [{ ...good, Origin: 1 }] }));
    expect(number.status).toBe(400);
    expect(number.json.error).toContain('instances[0].Origin: expected a string');
    const text = await post(
      PINNED,
      JSON.stringify({
        inputs: {
          ...Object.fromEntries(Object.entries(good).map(([k, v]) => [k, [v]])),
          Weight_in_lbs: ['3000'],
        },
      }),
    );
    expect(text.status).toBe(400);
    expect(text.json.error).toContain('inputs.Weight_in_lbs[0]: expected a number, got string "3000"');
  });

  it('a body that is not valid UTF-8 is a 400 naming the field, not a replacement character', async () => {
    const json = JSON.stringify({ instances: [{ ...good, Origin: 'JAPAN_MARKER' }] });
    const [before, after] = json.split('JAPAN_MARKER');
    const body = Buffer.concat([
      Buffer.from(before),
      Buffer.from([0x4a, 0xff, 0xfe, 0x70]),
      Buffer.from(after),
    ]);
    const answer = await post(PREDICT, body);
    expect(answer.status).toBe(400);
    expect(answer.json.error).toContain('not valid UTF-8');
    expect(answer.json.error).toContain('instances[0].Origin');
  });
});

describe('mlform serve: slowloris', () => {
  it('headers trickled one byte at a time are cut at the headers timeout (1 s here)', async () => {
    const outcome = await slowloris(
      port,
      'GET /v2/health/live HTTP/1.1\r\n',
      'x-slow: aaaaaaaaaaaaaaaaaaaaaaaa',
      100,
    );
    expect(outcome.closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(outcome.closedAfterMs).toBeLessThan(2_500);
    expect(outcome.received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('a body trickled slowly is cut at the receive timeout (2 s here)', async () => {
    const outcome = await slowloris(
      port,
      `POST ${PREDICT} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n`,
      '{',
      100,
    );
    expect(outcome.closedAfterMs).toBeGreaterThanOrEqual(1_900);
    expect(outcome.closedAfterMs).toBeLessThan(3_500);
    // Still serving.
    expect((await post(PREDICT, JSON.stringify({ instances: [good] }))).status).toBe(200);
  });

  it('a keep-alive client is served many requests on one connection', async () => {
    // The bounds must not hurt well-behaved keep-alive clients (the benchmark's load).
    const { Agent } = await import('node:http');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = request(
          `${base}${PREDICT}`,
          { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
          (res) => {
            sockets.add(req.socket);
            expect(res.statusCode).toBe(200);
            res.resume();
            res.on('end', resolve);
          },
        );
        req.on('error', reject);
        req.end(JSON.stringify({ instances: [good] }));
      });
    }
    agent.destroy();
    expect(sockets.size).toBe(1);
  });
});
