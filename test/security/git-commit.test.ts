/**
 * Issue 18 item 1, played by an attacker: a commit carries a folder shaped like a bare repository
 * (`HEAD`, `config`, `objects/`, `refs/`) with its manifests inside it. Git run in that folder
 * takes it as the repository, so the run would record the folder's forged HEAD, and its config
 * names programs (fsmonitor, hooks, pager, ssh, external diff, filters, credential helper...).
 * Through `mlform apply` and through `mlform controller` following a real git repository, the run
 * records the real commit and no program the folder names ever runs. The lookup itself
 * (trainer/git-commit.ts) is then tried with a hostile `.git` of its own. Needs `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitCommitAt } from '../../trainer/git-commit.js';
import { killQuietly, startController, waitFor, type RunningController } from '../controller/helpers.js';

const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', CI: 'true', MLFORM_BACKEND: 'wasm' };
delete env.MLFORM_STATE_DIR;

let root: string;
let bare: string;
let work: string;
let git: SimpleGit;
let realCommit: string;
const controllers: RunningController[] = [];
const trainers: number[] = [];
/** Every program the fake repository's config names touches `${marker}-<key>`. */
const marker = join(tmpdir(), `pwned-${randomBytes(6).toString('hex')}`);
const FORGED = '1'.repeat(40);

const rows = Array.from({ length: 24 }, (_, i) => ({ x: i / 10, y: 2 * (i / 10) + 1 }));
const training = [
  'apiVersion: mlform/v1',
  'kind: TrainingRun',
  'metadata: {name: tiny}',
  'spec:',
  '  trainer:',
  '    builtin:',
  '      task: regression',
  '      data: {uri: "file://data.json", target: y, features: [x], validationSplit: 0.25}',
  '      network: {type: mlp, layers: [2]}',
  '      hyperparameters: {epochs: 1, batchSize: 8}',
  '',
].join('\n');

/** A repository config naming a program under every key that can run one. */
const hostileConfig = (hooks: string) =>
  [
    '[core]',
    '\trepositoryformatversion = 0',
    '\tbare = true',
    `\tfsmonitor = touch ${marker}-fsmonitor`,
    `\tpager = touch ${marker}-pager`,
    `\tsshCommand = touch ${marker}-ssh`,
    `\teditor = touch ${marker}-editor`,
    `\thooksPath = ${hooks}`,
    `\talternateRefsCommand = touch ${marker}-alternate-refs`,
    '\tuntrackedCache = true',
    '[diff]',
    `\texternal = touch ${marker}-diff`,
    '[filter "lfs"]',
    `\tclean = touch ${marker}-clean`,
    `\tsmudge = touch ${marker}-smudge`,
    '\tprocess = touch ' + `${marker}-filter-process`,
    '[credential]',
    `\thelper = !touch ${marker}-credential`,
    '[gpg]',
    `\tprogram = touch ${marker}-gpg`,
    '[pager]',
    `\trev-parse = touch ${marker}-pager-rev-parse`,
    `\tstatus = touch ${marker}-pager-status`,
    '[alias]',
    `\tst = !touch ${marker}-alias`,
    '',
  ].join('\n');

const hookScript = (name: string) => `#!/bin/sh\ntouch ${marker}-hook-${name}\n`;
const HOOKS = [
  'post-checkout',
  'post-index-change',
  'reference-transaction',
  'pre-auto-gc',
  'fsmonitor-watchman',
];

async function markersLeft(): Promise<string[]> {
  const name = marker.slice(tmpdir().length + 1);
  return (await readdir(tmpdir())).filter((f) => f.startsWith(name));
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-sec-git-'));
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

  // The project lives inside a folder that git would take for a bare repository.
  const evil = join(work, 'evil');
  await mkdir(join(evil, 'objects', 'info'), { recursive: true });
  await mkdir(join(evil, 'refs', 'heads'), { recursive: true });
  await mkdir(join(evil, 'hooks'), { recursive: true });
  await writeFile(join(evil, 'HEAD'), 'ref: refs/heads/main\n');
  await writeFile(join(evil, 'refs', 'heads', 'main'), `${FORGED}\n`);
  await writeFile(join(evil, 'objects', 'info', 'packs'), '\n');
  await writeFile(join(evil, 'config'), hostileConfig(join(evil, 'hooks')));
  for (const hook of HOOKS) {
    await writeFile(join(evil, 'hooks', hook), hookScript(hook));
    await chmod(join(evil, 'hooks', hook), 0o755);
  }
  await writeFile(join(evil, 'mlform.yaml'), 'stack: gitsec\nprovider: local\n');
  await writeFile(join(evil, 'data.json'), JSON.stringify(rows));
  await writeFile(join(evil, 'training.yaml'), training);
  // A file the fake repository's filter would be asked to clean or smudge, were it obeyed.
  await writeFile(join(evil, '.gitattributes'), '* filter=lfs diff=lfs\n');
  await git.add('-A');
  await git.commit('a TrainingRun inside something that looks like a repository');
  await git.push('origin', 'HEAD:main');
  realCommit = (await git.revparse(['HEAD'])).trim();

  // The attack works on git's own discovery: run in the folder, git takes its forged HEAD.
  const discovered = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: evil, encoding: 'utf8' });
  expect(discovered.stdout.trim()).toBe(FORGED);
}, 30_000);

afterAll(async () => {
  for (const c of controllers) killQuietly(c.pid);
  for (const pid of trainers) killQuietly(pid);
  for (const f of await markersLeft()) await rm(join(tmpdir(), f), { force: true });
  await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

interface RunRecordFile {
  gitCommit?: string;
  pid?: number;
}

async function waitForExit(pid: number | undefined): Promise<void> {
  if (!pid) return;
  trainers.push(pid);
  await waitFor(
    'the training to end',
    async () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    },
    60_000,
    100,
  );
}

describe('a committed folder shaped like a bare repository', () => {
  it('`mlform apply` records the real commit, and nothing the folder configures runs', async () => {
    const state = join(root, 'state-cli');
    const r = spawnSync(
      process.execPath,
      ['bin/mlform.js', 'apply', '-y', '--no-wait', '--state-dir', state, join(work, 'evil')],
      { encoding: 'utf8', env, timeout: 120_000 },
    );
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    const record = JSON.parse(
      await readFile(join(state, 'runs', 'tiny', '1', 'run.json'), 'utf8'),
    ) as RunRecordFile;
    expect(record.gitCommit).toBe(realCommit);
    await waitForExit(record.pid);
    expect(await markersLeft()).toEqual([]);
  }, 120_000);

  it('the controller records the commit it checked out, and nothing the folder configures runs', async () => {
    const workdir = join(root, 'controller');
    const controller = await startController([
      '--repo',
      bare,
      '--path',
      'evil',
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
    const recordFile = join(workdir, 'state', 'runs', 'tiny', '1', 'run.json');
    const record = await waitFor(
      'the run to be created',
      async () => JSON.parse(await readFile(recordFile, 'utf8')) as RunRecordFile,
      60_000,
    );
    expect(record.gitCommit).toBe(realCommit);
    controller.child.kill('SIGTERM');
    expect(await controller.exited).toBe(0);
    const launched = JSON.parse(await readFile(recordFile, 'utf8')) as RunRecordFile;
    await waitForExit(launched.pid);
    expect(await markersLeft()).toEqual([]);
  }, 120_000);
});

describe('the commit lookup itself (trainer/git-commit.ts)', () => {
  it('reads the repository at the tree root, flags a changed or untracked manifest dirty', async () => {
    const manifest = join(work, 'evil', 'training.yaml');
    expect(await gitCommitAt(join(work, 'evil'), manifest)).toBe(realCommit);
    await writeFile(manifest, `${training}# edited\n`);
    expect(await gitCommitAt(work, manifest)).toBe(`${realCommit}-dirty`);
    await writeFile(manifest, training);
    expect(await gitCommitAt(work, manifest)).toBe(realCommit);
    await writeFile(join(work, 'evil', 'new.yaml'), training);
    expect(await gitCommitAt(work, join(work, 'evil', 'new.yaml'))).toBe(`${realCommit}-dirty`);
    await rm(join(work, 'evil', 'new.yaml'));
  });

  it("ignores the caller's GIT_DIR and GIT_CONFIG_* (no inherited repository or settings)", async () => {
    const saved = { ...process.env };
    try {
      process.env.GIT_DIR = join(work, 'evil');
      process.env.GIT_CONFIG_COUNT = '1';
      process.env.GIT_CONFIG_KEY_0 = 'core.fsmonitor';
      process.env.GIT_CONFIG_VALUE_0 = `touch ${marker}-env`;
      expect(await gitCommitAt(work, join(work, 'evil', 'training.yaml'))).toBe(realCommit);
    } finally {
      for (const key of ['GIT_DIR', 'GIT_CONFIG_COUNT', 'GIT_CONFIG_KEY_0', 'GIT_CONFIG_VALUE_0']) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
    expect(await markersLeft()).toEqual([]);
  });

  it('a hostile .git of its own (a tree copied with its .git): HEAD is read, nothing configured runs', async () => {
    const copy = join(root, 'copied');
    await mkdir(copy);
    const g = simpleGit(copy);
    await g.init(['--initial-branch=main']);
    await writeFile(join(copy, 'm.yaml'), 'x: 1\n');
    await g.add('m.yaml');
    await g
      .addConfig('user.name', 'a', false, 'local')
      .addConfig('user.email', 'a@b.invalid', false, 'local');
    await g.commit('one');
    const head = (await g.revparse(['HEAD'])).trim();
    const hooks = join(copy, '.git', 'evil-hooks');
    await mkdir(hooks);
    for (const hook of HOOKS) {
      await writeFile(join(hooks, hook), hookScript(hook));
      await chmod(join(hooks, hook), 0o755);
    }
    // Its config names programs, and a promisor remote whose transport would run one to fetch.
    const config = await readFile(join(copy, '.git', 'config'), 'utf8');
    await writeFile(
      join(copy, '.git', 'config'),
      `${config}${hostileConfig(hooks).replace('\tbare = true\n', '\tbare = false\n')}` +
        `[remote "origin"]\n\turl = ext::sh -c touch% ${marker}-ext\n\tpromisor = true\n` +
        '[extensions]\n\tpartialClone = origin\n[protocol "ext"]\n\tallow = always\n',
    );
    await writeFile(join(copy, 'm.yaml'), 'x: 2\n');
    expect(await gitCommitAt(copy, join(copy, 'm.yaml'))).toBe(`${head}-dirty`);
    expect(await markersLeft()).toEqual([]);

    // The commit's tree goes missing: git would fetch it lazily from the promisor remote, whose
    // `ext::` transport runs a command. No transport is allowed, so the lookup gives up instead.
    const tree = (await g.revparse(['HEAD^{tree}'])).trim();
    await rm(join(copy, '.git', 'objects', tree.slice(0, 2), tree.slice(2)));
    expect(await gitCommitAt(copy, join(copy, 'm.yaml'))).toBeUndefined();
    expect(await markersLeft()).toEqual([]);
  });

  it('follows a .git file only into a .git folder (worktrees, submodules), never into the tree', async () => {
    // A linked worktree: its .git file points into the main repository's .git/worktrees/.
    const linked = join(root, 'linked');
    await git.raw(['worktree', 'add', '--detach', linked, 'HEAD']);
    expect(await gitCommitAt(linked, join(linked, 'evil', 'training.yaml'))).toBe(realCommit);
    expect((await stat(join(linked, '.git'))).isFile()).toBe(true);

    // A .git file naming the committed fake repository: refused, not followed.
    const pointed = join(root, 'pointed');
    await mkdir(pointed);
    await writeFile(join(pointed, '.git'), `gitdir: ${join(work, 'evil')}\n`);
    await writeFile(join(pointed, 'm.yaml'), 'x: 1\n');
    expect(await gitCommitAt(pointed, join(pointed, 'm.yaml'))).toBeUndefined();
    expect(await markersLeft()).toEqual([]);
  });
});
