/**
 * Attacks on `mlform controller`'s HTTP server (issue 11, points 7 and 8), played through the
 * built CLI: an unauthenticated client reading /api/status on a non-loopback bind, a replayed
 * webhook, an oversized webhook body, and slowloris clients. The server binds 0.0.0.0 and the
 * tests connect through 127.0.0.1 only.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signBody, startController, waitFor, type RunningController } from '../controller/helpers.js';
import { slowloris, upload } from './http-clients.js';

const TOKEN = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934c';
const SECRET = 'webhook-secret-for-the-test';

let root: string;
let project: string;
let tokenFile: string;
let secretFile: string;
const running: RunningController[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-sec-http-'));
  project = join(root, 'project');
  await mkdir(project);
  // An empty stack: nothing to train, the loop idles and the HTTP side is all there is.
  await writeFile(join(project, 'mlform.yaml'), 'stack: sec-http\nprovider: local\n');
  tokenFile = join(root, 'token');
  await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  secretFile = join(root, 'webhook-secret');
  await writeFile(secretFile, SECRET, { mode: 0o600 });
});

afterEach(async () => {
  for (const c of running.splice(0)) {
    c.child.kill('SIGTERM');
    await c.exited;
  }
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

async function controller(...extra: string[]): Promise<{ base: string; port: number; c: RunningController }> {
  const c = await startController([
    '--dir',
    project,
    '--state-dir',
    join(root, 'state'),
    '--listen',
    '0.0.0.0:0',
    '--auth-token-file',
    tokenFile,
    ...extra,
  ]);
  running.push(c);
  const port = Number(new URL(c.url).port);
  return { base: `http://127.0.0.1:${port}`, port, c };
}

/** The CLI run to completion: exit status and output. */
function cli(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/mlform.js', ...args], {
      env: { ...process.env, NO_COLOR: '1', CI: 'true', MLFORM_SERVER_TOKEN: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    // A controller that starts when it should have refused would run forever.
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

describe('controller HTTP: who may read what', () => {
  it('refuses to listen beyond loopback without a token file, and says how to fix it', async () => {
    const refused = await cli([
      'controller',
      '--dir',
      project,
      '--state-dir',
      join(root, 'state'),
      '--listen',
      '0.0.0.0:0',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('/api/status would answer anyone');
    expect(refused.err).toContain('--auth-token-file');
  });

  it('refuses a world-readable or short token file', async () => {
    const readable = join(root, 'readable-token');
    await writeFile(readable, TOKEN);
    await chmod(readable, 0o644);
    const open = await cli([
      'controller',
      '--dir',
      project,
      '--listen',
      '0.0.0.0:0',
      '--auth-token-file',
      readable,
    ]);
    expect(open.code).toBe(1);
    expect(open.err).toContain('can be read by every user');
    expect(open.err).not.toContain(TOKEN);
    const short = join(root, 'short-token');
    await writeFile(short, 'abc', { mode: 0o600 });
    const weak = await cli([
      'controller',
      '--dir',
      project,
      '--listen',
      '0.0.0.0:0',
      '--auth-token-file',
      short,
    ]);
    expect(weak.code).toBe(1);
    expect(weak.err).toContain('at least 16 are required');
  });

  it('bound to 0.0.0.0: /api/status needs the bearer token; probes and metrics stay open', async () => {
    const { base } = await controller();
    const anonymous = await fetch(`${base}/api/status`);
    expect(anonymous.status).toBe(401);
    const refusal = await anonymous.text();
    expect(refusal).toContain('Authorization: Bearer');
    expect(refusal).not.toContain('sec-http'); // nothing of the status leaks
    expect(
      (await fetch(`${base}/api/status`, { headers: { authorization: 'Bearer guessed-token-123456' } }))
        .status,
    ).toBe(401);
    expect((await fetch(`${base}/some/future/ui`)).status).toBe(401);

    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect([200, 503]).toContain((await fetch(`${base}/readyz`)).status);
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('mlform_sync_total');

    const authorized = await fetch(`${base}/api/status`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(authorized.status).toBe(200);
    expect(await authorized.json()).toMatchObject({ controller: { source: expect.any(String) } });
  });

  it('mlform get --server: a clear error without the token, the table with --token-file or the environment', async () => {
    const { base } = await controller();
    const without = await cli(['get', '--server', base]);
    expect(without.code).toBe(1);
    expect(without.err).toContain('requires a bearer token (HTTP 401)');
    expect(without.err).toContain('--token-file');
    const wrong = join(root, 'wrong-token');
    await writeFile(wrong, 'not-the-right-token-at-all', { mode: 0o600 });
    const mismatch = await cli(['get', '--server', base, '--token-file', wrong]);
    expect(mismatch.code).toBe(1);
    expect(mismatch.err).toContain('refused the token');
    expect(mismatch.err).not.toContain('not-the-right-token-at-all');

    const withFile = await cli(['get', '--server', base, '--token-file', tokenFile]);
    expect(withFile.err).toBe('');
    expect(withFile.code).toBe(0);
    const withEnv = await cli(['get', '--server', base, '-o', 'json'], { MLFORM_SERVER_TOKEN: TOKEN });
    expect(withEnv.code).toBe(0);
    expect(JSON.parse(withEnv.out)).toMatchObject({ resources: [] });
  });
});

describe('controller HTTP: the webhook', () => {
  it('a replayed X-GitHub-Delivery (valid signature) is acknowledged without a sync', async () => {
    const { base, c } = await controller('--webhook-secret-file', secretFile);
    const body = JSON.stringify({ ref: 'refs/heads/main', after: 'abc' });
    const post = () =>
      fetch(`${base}/hooks/git`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'push',
          'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
          'x-hub-signature-256': signBody(SECRET, body),
        },
        body,
      });
    const first = await post();
    // 503 until the replica leads; the test's empty stack elects itself within a second or two.
    const deadline = Date.now() + 20_000;
    let status = first.status;
    while (status === 503 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      status = (await post()).status;
    }
    expect(status).toBe(202);
    for (let i = 0; i < 3; i++) {
      const replay = await post();
      expect(replay.status).toBe(200);
      expect(await replay.text()).toContain('duplicate delivery ignored');
    }
    // The log arrives through a pipe, after the responses: a new delivery marks where the replays'
    // lines would be. Accepted syncs logged once it is in: the first delivery's and its own.
    const fresh = JSON.stringify({ ref: 'refs/heads/main', after: 'def' });
    const sentinel = await fetch(`${base}/hooks/git`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': '0b2bd7c4-cc79-11e3-81ab-4c9367dc0958',
        'x-hub-signature-256': signBody(SECRET, fresh),
      },
      body: fresh,
    });
    expect(sentinel.status).toBe(202);
    const accepted = () =>
      c.lines.filter((l) => l.msg === 'webhook received' && l.outcome === 'accepted').length;
    await waitFor('the new delivery in the log', async () => accepted() >= 2, 10_000, 20);
    expect(accepted()).toBe(2);
  });

  it('an oversized body gets a 413 response, not a reset, declared or streamed', async () => {
    const { port } = await controller('--webhook-secret-file', secretFile);
    const size = 6 * 1024 * 1024;
    const declared = await upload(
      port,
      `POST /hooks/git HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${size}\r\n\r\n`,
      size,
    );
    expect(declared.response).toMatch(/^HTTP\/1\.1 413 /);
    expect(declared.response.toLowerCase()).toContain('connection: close');
    expect(declared.response).toContain('at most 5242880 bytes');
    // No Content-Length: the cap is found while reading, and the answer still arrives.
    const streamed = await upload(
      port,
      'POST /hooks/git HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n',
      size,
      true,
    );
    expect(streamed.response).toMatch(/^HTTP\/1\.1 413 /);
    expect(streamed.response).toContain('over 5242880 bytes');
  });
});

describe('controller HTTP: slowloris', () => {
  it('headers trickled one byte at a time are cut at --headers-timeout', async () => {
    const { port } = await controller('--headers-timeout', '1s', '--request-timeout', '2s');
    const outcome = await slowloris(
      port,
      'GET /healthz HTTP/1.1\r\n',
      'x-slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      100,
    );
    expect(outcome.closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(outcome.closedAfterMs).toBeLessThan(2_500);
    expect(outcome.received).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('idle keep-alive connections close after --keep-alive-timeout; connections past --max-connections are closed', async () => {
    const { port } = await controller('--keep-alive-timeout', '1s', '--max-connections', '2');
    // One request, then silence: the server closes the idle connection.
    const idle = await slowloris(port, 'GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n', '', 60_000);
    expect(idle.received).toMatch(/^HTTP\/1\.1 200 /);
    expect(idle.closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(idle.closedAfterMs).toBeLessThan(2_500);

    const held = [connect(port, '127.0.0.1'), connect(port, '127.0.0.1')];
    await Promise.all(held.map((s) => new Promise((r) => s.once('connect', r))));
    await new Promise((r) => setTimeout(r, 100)); // let the server count them
    const third = await slowloris(port, '', '', 60_000);
    expect(third.received).toBe('');
    expect(third.closedAfterMs).toBeLessThan(1_000);
    for (const s of held) s.destroy();
  });

  it('a body trickled slowly is cut at --request-timeout', async () => {
    const { port } = await controller(
      '--headers-timeout',
      '1s',
      '--request-timeout',
      '2s',
      '--webhook-secret-file',
      secretFile,
    );
    const outcome = await slowloris(
      port,
      'POST /hooks/git HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n',
      '{',
      100,
    );
    expect(outcome.closedAfterMs).toBeGreaterThanOrEqual(1_900);
    expect(outcome.closedAfterMs).toBeLessThan(3_500);
    expect(outcome.sent).toBeLessThan(200);
  });
});
