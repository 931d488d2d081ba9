/**
 * Notifications end to end on the local provider: `apply` of the quickstart with a signed webhook
 * sink delivers run.started, run.succeeded, version.registered, alias.moved and rollout.done to a
 * local HTTPS receiver; an apply killed (SIGKILL) between enqueue and delivery loses nothing: the
 * next apply delivers what is missing.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ENV, copyQuickstart } from './cli.js';
import { killProcessesUnder, waitFor } from '../providers/local/helpers.js';
import { startReceiver, type Received, type Receiver } from '../notify/receiver.js';

const KEY = 'e2e-signing-key-0123456789';
let root: string;
let project: string;
let receiver: Receiver;

function start(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; out: string }> } {
  const child = spawn(process.execPath, ['bin/mlform.js', ...args], {
    env: {
      ...process.env,
      ...CLI_ENV,
      MLFORM_SECRET_HOOK_URL: receiver.url('/mlform'),
      MLFORM_SECRET_HOOK_SIGNING: KEY,
      MLFORM_NOTIFY_ALLOW_PRIVATE: '1',
      MLFORM_NOTIFY_CA: receiver.certFile,
    },
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const done = new Promise<{ code: number | null; out: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, out })),
  );
  return { child, done };
}

const verified = (r: Received): boolean => {
  const expected = `sha256=${createHmac('sha256', KEY)
    .update(`${String(r.headers['x-mlform-timestamp'])}.${r.body}`)
    .digest('hex')}`;
  return r.headers['x-mlform-signature'] === expected;
};
const typeOf = (r: Received) => String(r.headers['x-mlform-event']);
const outbox = () =>
  readdir(join(project, '.mlform', 'store', 'notifications', 'outbox')).catch(() => [] as string[]);

beforeAll(async () => {
  receiver = await startReceiver();
  ({ root, project } = await copyQuickstart('mlform-notify-e2e-', /schedule\.yaml$/));
  execFileSync('git', ['init', '-q', root]);
  // A few seconds of training, a gate it passes.
  const training = join(project, 'training.yaml');
  await writeFile(training, (await readFile(training, 'utf8')).replace('epochs: 150', 'epochs: 30'));
  const model = join(project, 'model.yaml');
  await writeFile(model, (await readFile(model, 'utf8')).replace('max: 4.0', 'max: 20.0'));
  await appendFile(
    join(project, 'mlform.yaml'),
    `notifications:
  - name: ops
    type: webhook
    url: {secretRef: {name: hook, key: url}}
    signingKey: {secretRef: {name: hook, key: signing}}
`,
  );
});

afterAll(async () => {
  await receiver?.close();
  if (root) await killProcessesUnder(root);
});

describe('notifications from apply', () => {
  it('delivers the events of the first apply, signed, and says so', async () => {
    const { code, out } = await start(['apply', '-y', project]).done;
    expect(code, out).toBe(0);
    const types = receiver.received.map(typeOf);
    expect(new Set(types)).toEqual(
      new Set(['run.started', 'run.succeeded', 'version.registered', 'alias.moved', 'rollout.done']),
    );
    expect(types).toHaveLength(5);
    expect(receiver.received.every(verified)).toBe(true);
    const ids = receiver.received.map((r) => String(r.headers['x-mlform-delivery']));
    expect(new Set(ids).size).toBe(5);
    expect(out).toContain('Notifications: 5 delivered.');
    expect(out).not.toContain(receiver.url('/mlform'));
    const rollout = receiver.received.find((r) => typeOf(r) === 'rollout.done');
    expect(JSON.parse(rollout?.body ?? '{}')).toMatchObject({
      stack: 'quickstart',
      resource: 'DeployedEndpoint/mpg-api',
      summary: 'DeployedEndpoint/mpg-api serves v1 100%',
    });
    expect(await outbox()).toEqual([]);
  }, 180_000);

  it('loses nothing when apply is killed between enqueue and delivery', async () => {
    receiver.received.length = 0;
    const answered: string[] = [];
    // The receiver takes requests but answers none: the apply hangs in its drain.
    receiver.respond = () => {};
    const training = join(project, 'training.yaml');
    await writeFile(training, (await readFile(training, 'utf8')).replace('seed: 42', 'seed: 7'));
    const killed = start(['apply', '-y', project]);
    await receiver.waitFor((all) => all.length > 0, 120_000);
    const queued = await outbox();
    expect(queued.length).toBeGreaterThanOrEqual(3);
    killed.child.kill('SIGKILL');
    await killed.done;
    receiver.respond = (r, res) => {
      answered.push(String(r.headers['x-mlform-delivery']));
      res.writeHead(200).end('ok');
    };
    const { code, out } = await start(['apply', '-y', project]).done;
    expect(code, out).toBe(0);
    // Every queued event answered exactly once; the one the killed apply had sent comes again
    // with the same delivery id (at least once: the receiver dedupes by it).
    expect(answered.sort()).toEqual(queued.map((f) => f.replace(/\.json$/, '')).sort());
    const types = receiver.received
      .filter((r) => answered.includes(String(r.headers['x-mlform-delivery'])))
      .map(typeOf);
    expect(types).toEqual(expect.arrayContaining(['run.started', 'run.succeeded', 'version.registered']));
    expect(new Set(receiver.received.map((r) => String(r.headers['x-mlform-delivery'])))).toEqual(
      new Set(answered),
    );
    await waitFor(outbox, (files) => files.length === 0, { timeoutMs: 5_000 });
  }, 240_000);
});
