/**
 * Issue 11 point 1 through `mlform controller` following a real git repository: a commit that
 * carries its own `.mlform/` (a run record whose pid is a live process of the test, a lock "held"
 * until 2099) neither kills that process nor blocks the apply, because the controller keeps its
 * state in a folder of its own outside the checkout. Needs `npm run build`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  getStatus,
  killQuietly,
  startController,
  waitFor,
  type RunningController,
} from '../controller/helpers.js';

let root: string;
let bare: string;
let victim: ChildProcess;
/** Every controller started here, killed at the end whatever happened. */
const controllers: RunningController[] = [];

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const labels = (kind: string, name: string) => ({
  'mlform-stack': 'sec',
  'mlform-kind': kind,
  'mlform-name': name,
  'mlform-spec': 'ffffffffffff',
});

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-sec-ctl-'));
  bare = join(root, 'remote.git');
  const work = join(root, 'work');
  await mkdir(bare, { recursive: true });
  await simpleGit(bare).init(true, ['--initial-branch=main']);
  await mkdir(join(work, '.mlform', 'runs', 'victim', '1'), { recursive: true });
  const git = simpleGit(work);
  await git.init(['--initial-branch=main']);
  await git.addConfig('user.name', 'attacker', false, 'local');
  await git.addConfig('user.email', 'attacker@mlform.invalid', false, 'local');
  await git.addRemote('origin', bare);

  // Someone else's process; its command line carries what the forged record names as marker.
  victim = spawn('sleep', ['3600'], { stdio: 'ignore' });
  await writeFile(join(work, 'mlform.yaml'), 'stack: sec\nprovider: local\n');
  await writeFile(
    join(work, 'model.yaml'),
    'apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata:\n  name: mpg\nspec:\n  description: from the commit\n',
  );
  // A "running" run whose manifest is gone: with --prune, the controller would cancel it (SIGTERM).
  await writeFile(
    join(work, '.mlform', 'runs', 'victim', '1', 'run.json'),
    JSON.stringify({
      formatVersion: 1,
      name: 'victim',
      number: 1,
      specHash: 'f'.repeat(64),
      labels: labels('TrainingRun', 'victim'),
      annotations: {},
      attempt: 1,
      createdAt: new Date().toISOString(),
      manifestPath: join(work, 'gone.yaml'),
      spec: {},
      marker: '3600',
      pid: victim.pid,
      startedAt: new Date().toISOString(),
    }),
  );
  // The apply lock, held by a live process of this host until 2099.
  const now = new Date().toISOString();
  await writeFile(
    join(work, '.mlform', 'lock.json'),
    JSON.stringify({
      formatVersion: 1,
      holder: 'attacker',
      pid: victim.pid,
      hostname: hostname(),
      token: 'forged',
      acquiredAt: now,
      expiresAt: '2099-01-01T00:00:00.000Z',
    }),
  );
  await git.add('-A');
  await git.commit('a model, and some state of our own');
  await git.push('origin', 'HEAD:main');
});

afterAll(async () => {
  for (const c of controllers) killQuietly(c.pid);
  killQuietly(victim.pid);
  await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

describe('a commit carrying its own state', () => {
  it('neither kills the process its run record names nor holds the lock; state goes to the operator folder', async () => {
    const workdir = join(root, 'controller');
    const controller = await startController([
      '--repo',
      bare,
      '--workdir',
      workdir,
      '--listen',
      '127.0.0.1:0',
      '--poll',
      '1s',
      '--requeue',
      '1s',
      '--prune',
    ]);
    controllers.push(controller);
    const status = await waitFor(
      'the commit to be applied',
      async () => {
        const s = await getStatus(controller.url);
        return s.resources.some((r) => r.address === 'RegisteredModel/mpg' && r.syncStatus === 'Synced')
          ? s
          : undefined;
      },
      30_000,
    );
    expect(status.controller.appliedCommit).toMatch(/^[0-9a-f]{40}$/);
    // The prune saw no "running" run to cancel: the commit's records were never read.
    expect(status.resources.map((r) => r.address)).not.toContain('TrainingRun/victim');
    expect(alive(victim.pid as number)).toBe(true);

    // The state is the controller's (<workdir>/state), ignored by git; the checkout is untouched.
    const state = join(workdir, 'state');
    await expect(stat(join(state, 'registry', 'mpg', 'model.json'))).resolves.toBeDefined();
    expect(await readFile(join(state, '.gitignore'), 'utf8')).toContain('*');
    const checkout = join(workdir, 'checkouts', String(controller.pid));
    expect(await readdir(join(checkout, '.mlform'))).toEqual(['lock.json', 'runs']);
    expect(await readFile(join(checkout, '.mlform', 'lock.json'), 'utf8')).toContain('2099');
    expect(
      controller.lines.some((l) => String(l.msg).includes('local.stateDir of the manifests is ignored')),
    ).toBe(true);
    controller.child.kill('SIGTERM');
    await controller.exited;
  }, 60_000);

  it('keeps one state per source across restarts by default, outside the per-process checkouts', async () => {
    // The default workdir lives under $XDG_STATE_HOME (else ~/.local/state): a private one here.
    const temp = join(root, 'xdg-state');
    await mkdir(temp, { recursive: true });
    const args = ['--repo', bare, '--listen', '127.0.0.1:0', '--poll', '1s', '--requeue', '1s'];
    const synced = async (c: RunningController) =>
      waitFor(
        'the model to be in sync',
        async () => {
          const s = await getStatus(c.url);
          return s.resources.some((r) => r.address === 'RegisteredModel/mpg' && r.syncStatus === 'Synced');
        },
        30_000,
      );
    const stateOf = (c: RunningController) => String(c.lines.find((l) => l.msg === 'listening')?.stateDir);

    const first = await startController(args, { XDG_STATE_HOME: temp });
    controllers.push(first);
    await synced(first);
    const state = stateOf(first);
    expect(state.startsWith(temp)).toBe(true);
    const model = await readFile(join(state, 'registry', 'mpg', 'model.json'), 'utf8');
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = await startController(args, { XDG_STATE_HOME: temp });
    controllers.push(second);
    expect(stateOf(second)).toBe(state);
    await synced(second);
    // Found again, not created again; the first process's checkout is gone, the second's is there.
    expect(await readFile(join(state, 'registry', 'mpg', 'model.json'), 'utf8')).toBe(model);
    const checkouts = join(state, '..', 'checkouts');
    expect(await readdir(checkouts)).toEqual([String(second.pid)]);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(alive(victim.pid as number)).toBe(true);
  }, 90_000);

  it('refuses to start with a state directory inside the followed tree', async () => {
    const tree = join(root, 'tree');
    await mkdir(tree, { recursive: true });
    const r = spawnSync(
      process.execPath,
      [
        'bin/mlform.js',
        'controller',
        '--dir',
        tree,
        '--state-dir',
        join(tree, '.state'),
        '--listen',
        '127.0.0.1:0',
      ],
      { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', CI: 'true' }, timeout: 15_000 },
    );
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(1);
    expect(r.stderr).toContain('[state-dir-in-checkout]');
  }, 30_000);
});
