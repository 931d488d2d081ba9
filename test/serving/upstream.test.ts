/**
 * mlform's server in front of servers of their own (config `upstream`): the traffic split,
 * pinned versions, the upstream's own predict path, readiness from the upstreams' health, bounded
 * forwarding, and a process handed over by the launcher that lives and dies with the server.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './temp-dir.js';
import { normalizeServingConfig, startModelServer, type ModelServer } from '../../serving/index.js';

interface Fake {
  server: Server;
  url: string;
  healthy: boolean;
  seen: { path: string; body: string; contentType?: string }[];
}

/** A model server of its own: 200 on /health while healthy, echoes predictions with its name. */
async function fakeUpstream(name: string): Promise<Fake> {
  const fake: Fake = { server: createServer(), url: '', healthy: true, seen: [] };
  fake.server.on('request', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/health') {
        res.writeHead(fake.healthy ? 200 : 503).end();
        return;
      }
      const body = Buffer.concat(chunks).toString();
      fake.seen.push({ path: req.url ?? '', body, contentType: req.headers['content-type'] });
      if (body.includes('big')) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(`"${'x'.repeat(4096)}"`);
        return;
      }
      if (body.includes('bad')) {
        res.writeHead(422, { 'content-type': 'application/json' }).end('{"detail": "bad input"}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ predictions: [name] }));
    });
  });
  await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
  return fake;
}

let a: Fake;
let b: Fake;
let server: ModelServer;

const upstream = (fake: Fake) => ({
  url: fake.url,
  healthPath: '/health',
  predictPath: '/v1/models/half:predict',
});

beforeAll(async () => {
  [a, b] = await Promise.all([fakeUpstream('a'), fakeUpstream('b')]);
  const { config, diagnostics } = normalizeServingConfig({
    name: 'mpg',
    versions: [
      { version: 1, upstream: upstream(a), percent: 50 },
      { version: 2, upstream: upstream(b), percent: 50 },
    ],
    limits: { maxBodyBytes: 2048 },
    logging: { level: 'silent' },
  });
  expect(diagnostics).toEqual([]);
  if (!config) throw new Error('no config');
  server = await startModelServer({ config, processMetrics: false });
});
afterAll(async () => {
  await server?.shutdown();
  for (const f of [a, b]) f?.server.close();
});

const post = async (path: string, body: string) => {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return { status: res.status, version: res.headers.get('x-model-version'), body: await res.text() };
};

describe('upstream versions', () => {
  it('splits unpinned predictions 50/50, on both the TF Serving route and the upstream predict path', async () => {
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await post('/v1/models/mpg:predict', '{"instances": [1]}'));
    for (let i = 0; i < 4; i++) answers.push(await post('/v1/models/half:predict', '{"instances": [2]}'));
    expect(answers.map((r) => r.status)).toEqual(Array(8).fill(200));
    const byVersion = answers.map((r) => [r.version, JSON.parse(r.body).predictions[0]]);
    expect(byVersion.filter(([v]) => v === '1')).toHaveLength(4);
    expect(byVersion.filter(([v]) => v === '2')).toHaveLength(4);
    for (const [version, name] of byVersion) expect(name).toBe(version === '1' ? 'a' : 'b');
    // The upstream got the body as sent, on its own predict path.
    expect(a.seen.at(-1)).toEqual({
      path: '/v1/models/half:predict',
      body: '{"instances": [2]}',
      contentType: 'application/json',
    });
  });

  it('a pinned version goes to that version; its status and body pass through', async () => {
    const pinned = await post('/v1/models/mpg/versions/2:predict', '{"instances": ["bad"]}');
    expect(pinned).toEqual({ status: 422, version: '2', body: '{"detail": "bad input"}' });
  });

  it('bounds: a request over limits.maxBodyBytes is refused here, an answer over it is a 502', async () => {
    expect((await post('/v1/models/mpg:predict', `"${'y'.repeat(4096)}"`)).status).toBe(413);
    const big = await post('/v1/models/mpg/versions/1:predict', '"big"');
    expect(big.status).toBe(502);
    expect(JSON.parse(big.body).error).toMatch(/version 1's server .* answered more than 2048 bytes/);
  });

  it('is ready only while every upstream answers its health path; metadata is not mlform’s to give', async () => {
    expect((await fetch(`${server.url}/v2/health/ready`)).status).toBe(200);
    b.healthy = false;
    expect((await fetch(`${server.url}/v2/health/ready`)).status).toBe(503);
    b.healthy = true;
    expect((await fetch(`${server.url}/v2/health/ready`)).status).toBe(200);
    expect((await fetch(`${server.url}/v1/models/mpg/metadata`)).status).toBe(404);
    const status = (await (await fetch(`${server.url}/v1/models/mpg`)).json()) as {
      model_version_status: { version: string; state: string }[];
    };
    expect(status.model_version_status.map((s) => [s.version, s.state])).toEqual([
      ['1', 'AVAILABLE'],
      ['2', 'AVAILABLE'],
    ]);
  });

  it('the config names the field at fault', () => {
    const { diagnostics } = normalizeServingConfig({
      versions: [
        { version: 1, uri: 'x', upstream: { url: 'ftp://h', healthPath: 'health', predictPath: '/p' } },
      ],
    });
    expect(diagnostics.map((d) => [d.code, d.path])).toEqual([
      ['upstream-url', ['versions', 0, 'upstream', 'url']],
      ['upstream-path', ['versions', 0, 'upstream', 'healthPath']],
    ]);
  });
});

describe('upstream processes handed over by the launcher', () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    temp = await tempDir('mlform-upstream-');
  });
  afterAll(() => temp?.remove());

  it('starts them, is ready once they answer, stops them on shutdown; one that exits ends the server', async () => {
    const port = await freePort();
    const script = [
      "const http = require('http');",
      "const answer = (q, s) => s.end(q.url === '/ok' ? 'ok' : JSON.stringify({ p: [process.env.MODEL_VERSION] }));",
      `http.createServer(answer).listen(${port}, '127.0.0.1');`,
    ].join('\n');
    const log = join(temp.path, 'v1.log');
    const { config } = normalizeServingConfig({
      versions: [
        { version: 1, upstream: { url: `http://127.0.0.1:${port}`, healthPath: '/ok', predictPath: '/p' } },
      ],
      logging: { level: 'silent' },
    });
    if (!config) throw new Error('no config');
    const launch = {
      version: 1,
      command: process.execPath,
      args: ['-e', script],
      env: { MODEL_VERSION: '1' },
      cwd: temp.path,
      logFile: log,
    };
    const front = await startModelServer({ config, processMetrics: false, upstreamLaunches: [launch] });
    const answer = await fetch(`${front.url}/v1/models/default:predict`, { method: 'POST', body: '{}' });
    expect(await answer.text()).toBe('{"p":["1"]}');
    await front.shutdown();
    // Stopped with the server: its port no longer answers.
    await expect(fetch(`http://127.0.0.1:${port}/ok`)).rejects.toThrow();

    // A process that exits at once: the server never turns ready and says why.
    const dying = { ...launch, args: ['-e', 'process.exit(3)'] };
    await expect(
      startModelServer({ config, processMetrics: false, upstreamLaunches: [dying] }),
    ).rejects.toThrow(/version 1: its process exited with 3/);
    expect(await readFile(log, 'utf8')).toBe('');
  });
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}
