/**
 * Issue 18 item 5, played by an attacker who can push a tag: `git tag main` at an old commit. A
 * fetch of the bare name `main` resolves the tag before the branch, which pinned the controller
 * to the old commit with no error. The controller fetches `refs/heads/<branch>` exactly, so it
 * follows the branch past the tag. A branch name that would change the refspec is refused at
 * start. Needs `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
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
let work: string;
let git: SimpleGit;
const controllers: RunningController[] = [];

const model = (description: string) =>
  `apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata:\n  name: mpg\nspec:\n  description: ${description}\n`;

/** Commits and pushes to the branch by its full name (a bare `main` is ambiguous once tagged). */
async function commit(description: string): Promise<string> {
  await writeFile(join(work, 'model.yaml'), model(description));
  await git.add('-A');
  await git.commit(description);
  await git.push('origin', 'HEAD:refs/heads/main');
  return (await git.revparse(['HEAD'])).trim();
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-sec-branch-'));
  bare = join(root, 'remote.git');
  work = join(root, 'work');
  await mkdir(bare, { recursive: true });
  await simpleGit(bare).init(true, ['--initial-branch=main']);
  await mkdir(work, { recursive: true });
  git = simpleGit(work);
  await git.init(['--initial-branch=main']);
  await git.addConfig('user.name', 'attacker', false, 'local');
  await git.addConfig('user.email', 'attacker@mlform.invalid', false, 'local');
  await git.addRemote('origin', bare);
  await writeFile(join(work, 'mlform.yaml'), 'stack: branch\nprovider: local\n');
});

afterAll(async () => {
  for (const c of controllers) killQuietly(c.pid);
  await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

describe('a tag named like the followed branch', () => {
  it('does not win: the controller follows refs/heads/main past `git tag main`', async () => {
    const old = await commit('old');
    await git.addTag('main');
    await git.push('origin', 'refs/tags/main:refs/tags/main');
    const newer = await commit('new');
    // The trap is real: a bare `main` on the remote means the tag.
    const ls = spawnSync('git', ['ls-remote', bare, 'main'], { encoding: 'utf8' }).stdout;
    expect(ls).toContain(`${old}\trefs/tags/main`);
    expect(ls).toContain(`${newer}\trefs/heads/main`);

    const workdir = join(root, 'controller');
    const controller = await startController([
      '--repo',
      bare,
      '--branch',
      'main',
      '--workdir',
      workdir,
      '--listen',
      '127.0.0.1:0',
      '--poll',
      '1s',
      '--requeue',
      '1s',
    ]);
    controllers.push(controller);
    const applied = (commitSha: string) =>
      waitFor(
        `commit ${commitSha} to be applied`,
        async () => {
          const s = await getStatus(controller.url);
          return s.controller.appliedCommit === commitSha &&
            s.resources.some((r) => r.address === 'RegisteredModel/mpg' && r.syncStatus === 'Synced')
            ? s
            : undefined;
        },
        30_000,
      );
    const first = await applied(newer);
    expect(first.controller.lastError ?? '').not.toContain('git-source');

    // It keeps following the branch; the tag was never fetched into the clone.
    const latest = await commit('newest');
    await applied(latest);
    const clone = join(workdir, 'checkouts', String(controller.pid));
    const tags = spawnSync('git', ['--git-dir', join(clone, '.git'), 'tag', '--list'], { encoding: 'utf8' });
    expect(tags.stdout.trim()).toBe('');
    controller.child.kill('SIGTERM');
    expect(await controller.exited).toBe(0);
  }, 60_000);

  it('refuses at start a --branch that would change what the refspec fetches', () => {
    for (const branch of ['main:refs/heads/x', '+main', 'refs/*', '-upload-pack=x', 'a..b', 'main.lock']) {
      const r = spawnSync(
        process.execPath,
        [
          'bin/mlform.js',
          'controller',
          '--repo',
          bare,
          '--branch',
          branch,
          '--workdir',
          join(root, 'refused'),
        ],
        { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 20_000 },
      );
      expect(r.status, `${branch}: ${r.stdout}${r.stderr}`).toBe(1);
      expect(`${r.stdout}${r.stderr}`).toContain('bad-branch');
    }
  }, 60_000);
});
