/**
 * Issue 18 item 6, played by another local user: the controller's workdir (its state, lease and
 * checkouts) used to default to `<tmp>/mlform-controller-<hash of the source>`, created with
 * `mkdir -p`, so a symlink planted there in advance put the controller's state in the planter's
 * folder. The default now lives under the user's own state folder, every folder mlform creates is
 * 0700 and checked with `lstat`, and an operator's folder that is a symlink, belongs to someone
 * else or is world-writable is refused at start. Needs `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmod,
  chown,
  lchown,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  getStatus,
  killQuietly,
  startController,
  waitFor,
  type RunningController,
} from '../controller/helpers.js';

let root: string;
let tree: string;
/** The other user's folder, where a planted link would lead. */
let attacker: string;
const controllers: RunningController[] = [];
const isRoot = process.getuid?.() === 0;
const FOREIGN_UID = 4242;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-sec-workdir-'));
  tree = join(root, 'tree');
  attacker = join(root, 'attacker');
  await mkdir(tree);
  await mkdir(attacker, { mode: 0o777 });
  await chmod(attacker, 0o777);
  await writeFile(join(tree, 'mlform.yaml'), 'stack: workdir\nprovider: local\n');
  await writeFile(
    join(tree, 'model.yaml'),
    'apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata:\n  name: mpg\nspec:\n  description: d\n',
  );
});

afterAll(async () => {
  for (const c of controllers) killQuietly(c.pid);
  await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

/** Starts a controller that must refuse to start; its exit status and output. */
function refused(args: string[], env: Record<string, string> = {}): { code: number | null; out: string } {
  const r = spawnSync(
    process.execPath,
    ['bin/mlform.js', 'controller', '--dir', tree, '--listen', '127.0.0.1:0', ...args],
    { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env }, timeout: 20_000 },
  );
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('the default workdir', () => {
  it('is not in the temp folder: a symlink planted at the old predictable name is never followed', async () => {
    const temp = join(root, 'tmp');
    const xdg = join(root, 'xdg-state');
    await mkdir(temp, { mode: 0o1777 });
    // Where the old default put this source's workdir, and its state folder.
    const id = createHash('sha256')
      .update(`dir ${resolve(tree)}`)
      .digest('hex')
      .slice(0, 12);
    await symlink(attacker, join(temp, `mlform-controller-${id}`));

    const controller = await startController(['--dir', tree, '--listen', '127.0.0.1:0'], {
      TMPDIR: temp,
      XDG_STATE_HOME: xdg,
    });
    controllers.push(controller);
    const stateDir = String(controller.lines.find((l) => l.msg === 'listening')?.stateDir);
    const workdir = join(xdg, 'mlform', `controller-${id}`);
    expect(stateDir).toBe(join(workdir, 'state'));
    // The state folder itself is the local provider's to make, inside the 0700 workdir.
    await waitFor(
      'the model to be in sync',
      async () =>
        (await getStatus(controller.url)).resources.some(
          (r) => r.address === 'RegisteredModel/mpg' && r.syncStatus === 'Synced',
        ),
      20_000,
    );
    expect((await lstat(join(stateDir, 'registry', 'mpg'))).isDirectory()).toBe(true);
    for (const dir of [join(xdg, 'mlform'), workdir, join(workdir, 'checkouts')]) {
      const stats = await lstat(dir);
      expect(stats.isDirectory(), dir).toBe(true);
      expect(stats.mode & 0o777, dir).toBe(0o700);
    }
    controller.child.kill('SIGTERM');
    expect(await controller.exited).toBe(0);
    expect(await readdir(attacker)).toEqual([]);
  }, 30_000);

  it('refuses to start when a folder of the default path is a planted symlink', async () => {
    const xdg = join(root, 'xdg-planted');
    await mkdir(xdg);
    await symlink(attacker, join(xdg, 'mlform'));
    const r = refused([], { XDG_STATE_HOME: xdg });
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain('workdir-unsafe');
    expect(r.out).toContain(`${join(xdg, 'mlform')} is a symbolic link`);
    expect(await readdir(attacker)).toEqual([]);
  });
});

describe('an operator-given --workdir or --state-dir', () => {
  it('refuses a symlink, even to a folder of our own', async () => {
    const own = join(root, 'own');
    await mkdir(own, { mode: 0o700 });
    await symlink(own, join(root, 'link-workdir'));
    const r = refused(['--workdir', join(root, 'link-workdir')]);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain(`--workdir: ${join(root, 'link-workdir')} is a symbolic link`);

    await symlink(attacker, join(root, 'link-state'));
    const s = refused(['--workdir', join(root, 'ok-workdir'), '--state-dir', join(root, 'link-state')]);
    expect(s.code, s.out).toBe(1);
    expect(s.out).toContain(`--state-dir: ${join(root, 'link-state')} is a symbolic link`);
    expect(await readdir(own)).toEqual([]);
    expect(await readdir(attacker)).toEqual([]);
  });

  it.runIf(isRoot)('refuses a path under a symlink another user planted in a shared folder', async () => {
    const shared = join(root, 'shared');
    await mkdir(shared, { mode: 0o1777 });
    await chmod(shared, 0o1777);
    await symlink(attacker, join(shared, 'mlform'));
    // The link itself belongs to the other user (as it would when they planted it).
    await lchown(join(shared, 'mlform'), FOREIGN_UID, FOREIGN_UID);
    const r = refused(['--workdir', join(shared, 'mlform', 'controller')]);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain('workdir-unsafe');
    expect(await readdir(attacker)).toEqual([]);
  });

  it.runIf(isRoot)("refuses another user's folder", async () => {
    const foreign = join(root, 'foreign');
    await mkdir(foreign, { mode: 0o700 });
    await chown(foreign, FOREIGN_UID, FOREIGN_UID);
    const r = refused(['--workdir', foreign]);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain(`--workdir: ${foreign} belongs to uid ${FOREIGN_UID}, not to this user`);
    const s = refused(['--workdir', join(root, 'ok-workdir'), '--state-dir', foreign]);
    expect(s.code, s.out).toBe(1);
    expect(s.out).toContain(`--state-dir: ${foreign} belongs to uid ${FOREIGN_UID}`);
    expect(await readdir(foreign)).toEqual([]);
  });

  it('refuses a world-writable folder', async () => {
    const open = join(root, 'open');
    await mkdir(open);
    await chmod(open, 0o777);
    const r = refused(['--workdir', open]);
    expect(r.code, r.out).toBe(1);
    expect(r.out).toContain(`--workdir: ${open} is writable by every user (mode 0777)`);
    expect(await readdir(open)).toEqual([]);
  });

  it('creates a new one with mode 0700 and accepts it on the next start', async () => {
    const fresh = join(root, 'fresh', 'nested');
    for (let i = 0; i < 2; i++) {
      const controller = await startController([
        '--dir',
        tree,
        '--listen',
        '127.0.0.1:0',
        '--workdir',
        fresh,
      ]);
      controllers.push(controller);
      controller.child.kill('SIGTERM');
      expect(await controller.exited, `start ${i}: ${JSON.stringify(controller.lines)}`).toBe(0);
    }
    for (const dir of [join(root, 'fresh'), fresh, join(fresh, 'checkouts')]) {
      expect((await lstat(dir)).mode & 0o777, dir).toBe(0o700);
    }
  }, 30_000);
});
