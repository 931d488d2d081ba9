/**
 * The git commit of the manifests, for run lineage (run.json, run records, registry versions).
 *
 * Everything inside a manifest tree is written by whoever can push a commit (SECURITY.md), so git
 * is never pointed at a folder of the tree and left to discover a repository there: a committed
 * folder shaped like a bare repository (`HEAD`, `config`, `objects/`, `refs/`) would be taken as
 * the repository, its fake HEAD recorded, and its `config` obeyed (`core.fsmonitor`, hooks,
 * pagers, filters, transports). Instead git gets `--git-dir` and `--work-tree` at the repository
 * that holds the tree root (found with `lstat`, outside the tree's reach), settings that switch off
 * every configured program on the command line, and an environment built from scratch (no system
 * or global config, no inherited `GIT_*`, no prompts, no transports). Only `rev-parse` and
 * `ls-tree` run, which read refs and objects and nothing else; whether the manifest is dirty is
 * decided here by hashing its bytes, not by `git status` (which reads the index and may run
 * `core.fsmonitor`).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, readFile, readlink, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

/**
 * `-c` settings that stop git from running anything a repository's config names, for every git
 * mlform runs (the controller's fetch too). Command-line settings win over the repository's.
 */
export const HARDENED_GIT_CONFIG: readonly string[] = [
  'core.fsmonitor=false',
  'core.hooksPath=/dev/null',
  'safe.bareRepository=explicit',
  'core.pager=cat',
  'core.untrackedCache=false',
];

/** `<sha>`, or `<sha>-dirty` when the manifest's bytes differ from the committed file. */
export async function gitCommitAt(treeRoot: string, manifestPath?: string): Promise<string | undefined> {
  const repo = await repositoryAbove(resolve(treeRoot));
  if (!repo) return undefined;
  const head = await readOnlyGit(repo, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
  const sha = head?.trim();
  if (!sha || !/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(sha)) return undefined;
  if (manifestPath === undefined) return sha;
  const path = relative(repo.workTree, resolve(manifestPath));
  if (path === '' || path.startsWith(`..${sep}`) || path === '..' || isAbsolute(path)) return undefined;
  const dirty = await differsFromCommit(repo, sha, path);
  return dirty === undefined ? undefined : `${sha}${dirty ? '-dirty' : ''}`;
}

interface Repository {
  workTree: string;
  gitDir: string;
}

/**
 * The nearest folder at or above `start` holding a `.git` entry, with its git directory. A `.git`
 * file (a linked worktree or a submodule) is followed only to a folder inside some `.git`
 * directory, where git keeps those and where no commit can write; a `.git` symlink is refused.
 */
async function repositoryAbove(start: string): Promise<Repository | undefined> {
  for (let dir = start; ; dir = dirname(dir)) {
    const entry = await lstat(join(dir, '.git')).catch(() => undefined);
    if (entry) {
      if (entry.isDirectory()) return { workTree: dir, gitDir: join(dir, '.git') };
      if (!entry.isFile() || entry.size > MAX_GITFILE_BYTES) return undefined;
      const text = await readFile(join(dir, '.git'), 'utf8').catch(() => '');
      const pointer = /^gitdir: (.+)$/m.exec(text)?.[1]?.trim();
      if (!pointer) return undefined;
      const target = await realpath(resolve(dir, pointer)).catch(() => undefined);
      if (!target || !target.split(sep).includes('.git')) return undefined;
      if (!(await lstat(target).catch(() => undefined))?.isDirectory()) return undefined;
      return { workTree: dir, gitDir: target };
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** A `.git` file is one line; anything longer is not one git wrote. */
const MAX_GITFILE_BYTES = 4096;

/**
 * Whether the file at `path` (relative to the work tree) differs from the blob `commit` holds
 * there; a file the commit does not hold is dirty. Undefined when git cannot tell.
 */
async function differsFromCommit(
  repo: Repository,
  commit: string,
  path: string,
): Promise<boolean | undefined> {
  const listed = await readOnlyGit(repo, [
    '--literal-pathspecs',
    'ls-tree',
    '-z',
    '--full-tree',
    commit,
    '--',
    path,
  ]);
  if (listed === undefined) return undefined;
  const wanted = path.split(sep).join('/');
  const entry = listed
    .split('\0')
    .map((line) => /^(\d+) (\w+) ([0-9a-f]+)\t([\s\S]*)$/.exec(line))
    .find((m) => m?.[4] === wanted);
  if (!entry) return true;
  const [, mode, type, oid] = entry;
  const file = join(repo.workTree, path);
  const stats = await lstat(file).catch(() => undefined);
  if (!stats || type !== 'blob') return true;
  // Git stores a symbolic link as a blob holding its target.
  const isLink = mode === '120000';
  if (isLink !== stats.isSymbolicLink()) return true;
  const bytes = isLink ? Buffer.from(await readlink(file)) : await readFile(file);
  return blobId(bytes, oid.length === 64 ? 'sha256' : 'sha1') !== oid;
}

/** The object id git gives a blob of these bytes. */
function blobId(bytes: Buffer, algorithm: 'sha1' | 'sha256'): string {
  return createHash(algorithm).update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

/**
 * git with an explicit repository and nothing inherited: no system or global configuration, no
 * `GIT_DIR`/`GIT_CONFIG_*` from the caller, no prompts or pagers, no transport of any kind (so a
 * promisor remote cannot be fetched from while objects are read). Stdout, or undefined on failure.
 */
function readOnlyGit(repo: Repository, args: readonly string[]): Promise<string | undefined> {
  const argv = [
    '--no-pager',
    `--git-dir=${repo.gitDir}`,
    `--work-tree=${repo.workTree}`,
    ...HARDENED_GIT_CONFIG.flatMap((setting) => ['-c', setting]),
    ...args,
  ];
  return new Promise((done) => {
    execFile(
      'git',
      argv,
      { cwd: repo.workTree, env: readOnlyGitEnv(), timeout: 5_000, maxBuffer: 1 << 20, encoding: 'utf8' },
      (err, stdout) => done(err ? undefined : stdout),
    );
  });
}

function readOnlyGitEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_OPTIONAL_LOCKS: '0',
    GIT_NO_REPLACE_OBJECTS: '1',
    // An empty list: every protocol (file, ssh, http, ext, remote helpers) is refused, whatever
    // `protocol.<name>.allow` a repository's config sets.
    GIT_ALLOW_PROTOCOL: '',
  };
}
