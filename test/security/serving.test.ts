/**
 * Issue 18, items 7, 8 and 11d, played by an attacker through the CLI (`node bin/mlform.js`,
 * built) on the local provider, around one real apply (a tiny regression, trained, registered and
 * served):
 * - 11d: the CLI runs with the controller's secrets in its environment; the training and serving
 *   processes it starts must not have them (read from /proc/<pid>/environ).
 * - 8: a category value of the training data holds `'` and `;`; the curl that apply prints, run
 *   through `sh -c`, must send it as data (a prediction comes back) and run nothing.
 * - 7: a local user binds the endpoint's port once its server is gone and answers 200 to
 *   everything; the endpoint must not be reported healthy, and apply must fail naming the port
 *   and its holder instead of moving the endpoint to another port.
 * Needs `npm run build`; Linux (/proc).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHALLENGE_HEADER, PROOF_HEADER, newChallenge, verifyProof } from '../../serving/launch-proof.js';
import { runCli } from './cli.js';

const SECRETS = {
  MLFORM_WEBHOOK_SECRET: `webhook-${randomBytes(8).toString('hex')}`,
  MLFORM_GIT_TOKEN: `ghp_${randomBytes(8).toString('hex')}`,
  MLFORM_SERVER_TOKEN: `server-${randomBytes(8).toString('hex')}`,
  SOME_SECRET: `some-${randomBytes(8).toString('hex')}`,
};

const env: NodeJS.ProcessEnv = {
  ...process.env,
  NO_COLOR: '1',
  FORCE_COLOR: undefined,
  CI: 'true',
  MLFORM_BACKEND: 'wasm',
  // Its own port range: other test files' endpoints count up from 8501 at the same time, and the
  // heal below must find this endpoint's port free again.
  MLFORM_BASE_PORT: String(20_000 + Math.floor(Math.random() * 20_000)),
  ...SECRETS,
};
delete env.MLFORM_STATE_DIR;

function mlform(...args: string[]): { code: number | null; out: string } {
  const r = runCli(args, { env, timeoutMs: 120_000 });
  return { code: r.code, out: r.all };
}

const marker = join(tmpdir(), `pwned-${randomBytes(6).toString('hex')}`);
/** The most frequent category, so it is the first of the vocabulary and lands in the curl. */
const EVIL = `x'; touch ${marker}; echo '`;

let root: string;
let project: string;
let applyOut = '';
let applyCode: number | null = null;
let trainerEnviron: string | undefined;
let trainerCmdline: string | undefined;
const squatters: ChildProcess[] = [];

const environOf = (pid: number) => readFile(`/proc/${pid}/environ`, 'utf8');
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function endpointRecord(): Promise<{ pid: number; port: number; url: string }> {
  const text = await readFile(join(project, '.mlform', 'endpoints', 'api', 'endpoint.json'), 'utf8');
  return JSON.parse(text) as { pid: number; port: number; url: string };
}

/** The training's pid as soon as its record has one (the run is short: polled closely). */
async function watchTrainer(done: () => boolean): Promise<void> {
  const runs = join(project, '.mlform', 'runs', 'tiny');
  while (!done()) {
    for (const n of await readdir(runs).catch(() => [] as string[])) {
      const text = await readFile(join(runs, n, 'run.json'), 'utf8').catch(() => undefined);
      const pid = text ? (JSON.parse(text) as { pid?: number }).pid : undefined;
      if (pid && trainerEnviron === undefined) {
        trainerEnviron = await environOf(pid).catch(() => undefined);
        trainerCmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
      }
    }
    if (trainerEnviron !== undefined) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-sec-serving-'));
  project = join(root, 'p');
  await mkdir(project);
  const rows = Array.from({ length: 48 }, (_, i) => ({
    a: i % 12,
    kind: i % 4 === 0 ? 'yes' : i % 4 === 1 ? 'zed' : EVIL,
    y: 2 * (i % 12) + (i % 4 === 0 ? 3 : 1),
  }));
  await writeFile(join(project, 'data.json'), JSON.stringify(rows));
  await writeFile(join(project, 'mlform.yaml'), 'stack: sec-serving\nprovider: local\n');
  await writeFile(
    join(project, 'all.yaml'),
    [
      'apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata:\n  name: tiny\nspec:\n  description: tiny\n  aliases:\n    champion: {policy: latest}\n',
      'apiVersion: mlform/v1\nkind: TrainingRun\nmetadata:\n  name: tiny\nspec:\n  model: tiny\n  trainer:\n    builtin:\n      task: regression\n      data: {uri: file://data.json, target: y, features: [a, kind], validationSplit: 0.25}\n      network: {type: mlp, layers: [4]}\n      hyperparameters: {epochs: 40, batchSize: 16}\n      seed: 1\n',
      'apiVersion: mlform/v1\nkind: DeployedEndpoint\nmetadata:\n  name: api\nspec:\n  model: tiny\n',
    ].join('---\n'),
  );
  let finished = false;
  const child = spawn(process.execPath, ['bin/mlform.js', 'apply', '-y', project], { env });
  child.stdout.on('data', (d: Buffer) => (applyOut += d.toString()));
  child.stderr.on('data', (d: Buffer) => (applyOut += d.toString()));
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code) => {
      applyCode = code;
      finished = true;
      resolve();
    }),
  );
  await watchTrainer(() => finished);
  await exited;
}, 180_000);

afterAll(async () => {
  await Promise.all(squatters.map(stop));
  mlform('destroy', '-y', project);
  const record = await endpointRecord().catch(() => undefined);
  if (record?.pid && alive(record.pid)) process.kill(record.pid, 'SIGKILL');
  await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  await rm(marker, { force: true });
});

describe('trainer and serving processes get a scrubbed environment (item 11d)', () => {
  it('neither the training nor the serving process holds the controller secrets', async () => {
    expect(applyCode, applyOut).toBe(0);
    expect(trainerEnviron, 'the training process was seen').toBeDefined();
    const { pid } = await endpointRecord();
    const serving = await environOf(pid);
    for (const [name, environ] of [
      ['trainer', trainerEnviron ?? ''],
      ['server', serving],
    ] as const) {
      const names = environ.split('\0').map((kv) => kv.slice(0, kv.indexOf('=')));
      expect(names, name).toContain('PATH');
      expect(names, name).toContain('MLFORM_BACKEND');
      for (const [key, value] of Object.entries(SECRETS)) {
        expect(names, `${name} ${key}`).not.toContain(key);
        expect(environ.includes(value), `${name} holds the value of ${key}`).toBe(false);
      }
    }
    expect(trainerCmdline).toContain('train');
  });
});

describe('the curl that apply prints is shell-quoted (item 8)', () => {
  it('pasted into sh, it sends the category value as data and runs nothing', () => {
    expect(applyCode, applyOut).toBe(0);
    const line = applyOut.split('\n').find((l) => l.trim().startsWith('curl '));
    expect(line, applyOut).toBeDefined();
    expect(line).toContain('touch');
    const run = spawnSync('sh', ['-c', line ?? ''], { encoding: 'utf8', timeout: 10_000 });
    expect(existsSync(marker)).toBe(false);
    const body = JSON.parse(run.stdout) as { predictions?: unknown[] };
    expect(body.predictions).toHaveLength(1);
    expect(typeof body.predictions?.[0]).toBe('number');
  });
});

/**
 * The attacker, another process: a plain HTTP server answering 200 to everything on `port`,
 * bound as soon as the port is free (retried for up to 5 s). A process of its own, since the
 * test's own event loop is blocked while it waits for the CLI.
 */
const SQUATTER = `
const port = Number(process.argv[1]);
const server = require('node:http').createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(req.url.includes(':predict') ? '{"predictions":[42]}' : '{"live":true,"ready":true}');
});
let attempts = 0;
server.on('error', () => (++attempts > 250 ? process.exit(1) : setTimeout(() => server.listen(port, '127.0.0.1'), 20)));
server.listen(port, '127.0.0.1', () => console.log('listening'));
`;

async function squat(port: number): Promise<ChildProcess> {
  const squatter = spawn(process.execPath, ['-e', SQUATTER, String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  squatters.push(squatter);
  await new Promise<void>((resolve, reject) => {
    squatter.stdout?.once('data', () => resolve());
    squatter.once('exit', (code) => reject(new Error(`the squatter could not bind ${port} (${code})`)));
  });
  return squatter;
}

const stop = async (child: ChildProcess): Promise<void> => {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
};

/** GET with a fresh challenge: the status, and whether the answer proved `key`. */
function challenge(url: string, key: string): Promise<{ status?: number; proven: boolean }> {
  const c = newChallenge();
  return new Promise((resolve) => {
    const req = request(url, { headers: { [CHALLENGE_HEADER]: c }, agent: false }, (res) => {
      res.resume();
      const proof = res.headers[PROOF_HEADER];
      resolve({ status: res.statusCode, proven: typeof proof === 'string' && verifyProof(key, c, proof) });
    });
    req.on('error', () => resolve({ proven: false }));
    req.end();
  });
}

describe('a serving port cannot be stolen (item 7)', () => {
  it('the server answers health checks with the proof of its launch key, kept out of its argv', async () => {
    expect(applyCode, applyOut).toBe(0);
    const { pid, url } = await endpointRecord();
    const key = (await readFile(join(project, '.mlform', 'endpoints', 'api', 'serve.key'), 'utf8')).trim();
    expect(await challenge(`${url}/v2/health/ready`, key)).toEqual({ status: 200, proven: true });
    expect(await challenge(`${url}/v2/health/live`, key)).toEqual({ status: 200, proven: true });
    expect(await challenge(`${url}/v2/health/ready`, 'f'.repeat(64))).toEqual({ status: 200, proven: false });
    expect(await readFile(`/proc/${pid}/cmdline`, 'utf8')).not.toContain(key);
  });

  it('a squatter on the port of a draining server (its pid still ours) is not taken for it', async () => {
    expect(applyCode, applyOut).toBe(0);
    const { pid, port } = await endpointRecord();
    // A request in flight keeps the server draining (pid alive, listener closed) after SIGTERM.
    const slow = connect(port, '127.0.0.1');
    await new Promise((resolve) => slow.once('connect', resolve));
    slow.write(
      'POST /v1/models/tiny:predict HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{',
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Waiting already (retrying every 20 ms): no other endpoint can take the port before it.
    const squatting = squat(port);
    process.kill(pid, 'SIGTERM');
    const squatter = await squatting;
    expect(alive(pid)).toBe(true);

    const plan = mlform('plan', '--detailed-exitcode', project);
    expect(plan.code, plan.out).toBe(2);
    expect(plan.out).toContain('~ DeployedEndpoint/api (drift)');
    expect(plan.out, plan.out).toContain('without the launch proof');

    await stop(squatter);
    slow.destroy();
    for (let i = 0; i < 200 && alive(pid); i++) await new Promise((r) => setTimeout(r, 25));
    const healed = mlform('apply', '-y', project);
    expect(healed.code, healed.out).toBe(0);
    expect((await endpointRecord()).port).toBe(port);
  });

  it('a squatter on the freed port is not healthy, and apply fails naming the port instead of moving', async () => {
    expect(applyCode, applyOut).toBe(0);
    const before = await endpointRecord();
    const squatting = squat(before.port);
    process.kill(before.pid, 'SIGKILL');
    const squatter = await squatting;

    const plan = mlform('plan', '--detailed-exitcode', project);
    expect(plan.code, plan.out).toBe(2);
    expect(plan.out).toContain('~ DeployedEndpoint/api (drift)');

    const applied = mlform('apply', '-y', project);
    expect(applied.code, applied.out).toBe(1);
    expect(applied.out).toContain(`port ${before.port}`);
    expect(applied.out).toContain(`process ${squatter.pid} `);
    expect(applied.out).not.toContain('curl ');
    const after = await endpointRecord();
    expect(after.port).toBe(before.port);
    expect(after.url).toBe(before.url);
    // Nothing of ours serves anywhere else: the record's pid (if any) is no running server.
    expect(after.pid === undefined || !alive(after.pid) || after.pid === before.pid).toBe(true);

    // The squatter leaves: the endpoint comes back on its own port.
    await stop(squatter);
    const healed = mlform('apply', '-y', project);
    expect(healed.code, healed.out).toBe(0);
    const back = await endpointRecord();
    expect(back.port).toBe(before.port);
    expect(back.pid).not.toBe(before.pid);
  });
});
