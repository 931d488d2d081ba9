/**
 * A git branch as the source: one clone in a work directory, then on every update a fetch of
 * exactly `+refs/heads/<branch>:refs/remotes/origin/<branch>` and `reset --hard` to the fetched
 * commit, like Argo CD's repo server. The fully qualified refspec matters: `git fetch origin main`
 * resolves `main` on the remote as a tag before a branch, so a pushed `git tag main` would pin the
 * controller to the tag's commit forever. Tags are never fetched. Untracked files survive the
 * reset (nothing is cleaned).
 *
 * Every git command names the clone with `--git-dir`/`--work-tree` (no discovery, whatever
 * `GIT_DIR` the operator's environment holds) and runs with hooks, fsmonitor and pagers off
 * (trainer/git-commit.ts): the checkout is written by whoever can push.
 *
 * Credentials (git-credentials.ts) never enter a URL that git, `.git/config`, a log or the status
 * shows: userinfo is stripped here too, a token travels in git's environment, and every git error
 * is redacted before it becomes a diagnostic.
 */
import { execFile } from 'node:child_process';
import { lstat, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { redactCredentials } from '../../resources/credential.js';
import { error } from '../../resources/diagnostic.js';
import { HARDENED_GIT_CONFIG } from '../../trainer/git-commit.js';
import { gitAuthEnv, splitRepoUrl, type GitAuth } from './git-credentials.js';
import type { ManifestSource, SourceUpdate } from './source.js';
import { errorMessage } from '../../resources/error-message.js';

export interface GitSourceOptions {
  repo: string;
  /** A branch name (`branchNameProblem` says whether git would take it). */
  branch: string;
  /** Folder of the manifests inside the repository. */
  path: string;
  /** Where the clone lives; reused across restarts when it is a clone of the same repository. */
  workDir: string;
  /** A token for http(s) repositories (git-credentials.ts); none: git's credential helper or SSH key. */
  auth?: GitAuth;
}

// git quotes URLs in its messages; the URL has no credentials any more, but a helper's or a
// server's message might.
const redactedMessage = (e: unknown): string => redactCredentials(errorMessage(e).trim());

/** Local paths are made absolute so the clone's remote does not depend on the working directory. */
function normaliseRepo(repo: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[^/]+@[^:]+:/.test(repo) ? repo : resolve(repo);
}

/**
 * Why `name` is not a branch name git accepts (`git check-ref-format --branch`), or undefined. The
 * name goes into a refspec, so `:`, `*`, a leading `-` or `+` would change what is fetched.
 */
export function branchNameProblem(name: string): string | undefined {
  if (name === '' || name.length > 255) return 'must have 1 to 255 characters';
  if (name.startsWith('-') || name.startsWith('+')) return 'must not start with "-" or "+"';
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name))
    return 'must not contain spaces, control characters or ~ ^ : ? * [ \\';
  if (name.includes('..') || name.includes('@{') || name === '@')
    return 'must not contain ".." or "@{", nor be "@"';
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//') || name.endsWith('.'))
    return 'must not start or end with "/", contain "//", or end with "."';
  if (name.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock')))
    return 'no part may start with "." or end with ".lock"';
  return undefined;
}

/** The operator's environment, minus what would point git at another repository than the clone. */
const REPOSITORY_ENV = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR',
  'GIT_NAMESPACE',
];

const FETCH_TIMEOUT_MS = 10 * 60_000;
const COMMAND_TIMEOUT_MS = 60_000;

export function createGitSource(options: GitSourceOptions): ManifestSource {
  const repo = normaliseRepo(splitRepoUrl(options.repo).url);
  const shownRepo = splitRepoUrl(options.repo).url;
  const useAuth = options.auth !== undefined && /^https?:\/\//i.test(repo);
  const workDir = resolve(options.workDir);
  const gitDir = join(workDir, '.git');
  let opened = false;
  let revision: string | undefined;
  // A controller has nobody to answer a credentials prompt: fail instead of hanging. The token
  // rides in git's environment (GIT_CONFIG_*); the rest of the operator's environment
  // (GIT_SSH_COMMAND, a credential helper in their global config) is trusted.
  const env: NodeJS.ProcessEnv = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !REPOSITORY_ENV.includes(k))),
    GIT_TERMINAL_PROMPT: process.env.GIT_TERMINAL_PROMPT ?? '0',
    ...(useAuth && options.auth ? gitAuthEnv(repo, options.auth, process.env) : {}),
  };

  function git(args: readonly string[], timeout = COMMAND_TIMEOUT_MS): Promise<string> {
    const argv = [
      '--no-pager',
      `--git-dir=${gitDir}`,
      `--work-tree=${workDir}`,
      ...HARDENED_GIT_CONFIG.flatMap((setting) => ['-c', setting]),
      ...args,
    ];
    return new Promise((done, fail) => {
      execFile(
        'git',
        argv,
        { cwd: workDir, env, timeout, maxBuffer: 16 << 20, encoding: 'utf8' },
        (err, stdout, stderr) => {
          if (!err) done(stdout);
          else fail(new Error(stderr.trim() || err.message));
        },
      );
    });
  }

  async function open(): Promise<void> {
    if (opened) return;
    await mkdir(workDir, { recursive: true, mode: 0o700 });
    const isClone = (await lstat(gitDir).catch(() => undefined))?.isDirectory() ?? false;
    if (!isClone) {
      // init + remote instead of clone: works for an empty repository and a branch that appears later.
      await git(['init', '--quiet']);
      await git(['remote', 'add', 'origin', repo]);
    } else {
      const origin = (await git(['config', '--get', 'remote.origin.url']).catch(() => undefined))?.trim();
      if (origin === undefined) await git(['remote', 'add', 'origin', repo]);
      else if (origin !== repo) await git(['remote', 'set-url', 'origin', repo]);
      revision =
        (await git(['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']).catch(() => '')).trim() ||
        undefined;
    }
    opened = true;
  }

  return {
    kind: 'git',
    description: `git ${shownRepo}#${options.branch}${options.path && options.path !== '.' ? `:${options.path}` : ''}`,
    manifestsPath: join(workDir, options.path),
    treeRoot: workDir,
    async update(): Promise<SourceUpdate> {
      try {
        const problem = branchNameProblem(options.branch);
        if (problem) throw new Error(`the branch name ${JSON.stringify(options.branch)} ${problem}`);
        await open();
        const tracking = `refs/remotes/origin/${options.branch}`;
        await git(
          ['fetch', '--quiet', '--no-tags', 'origin', `+refs/heads/${options.branch}:${tracking}`],
          FETCH_TIMEOUT_MS,
        );
        const fetched = (await git(['rev-parse', '--verify', '--quiet', `${tracking}^{commit}`])).trim();
        if (fetched === revision) return { revision, changed: false, diagnostics: [] };
        await git(['reset', '--hard', '--quiet', fetched]);
        revision = fetched;
        return { revision, changed: true, diagnostics: [] };
      } catch (e) {
        return {
          revision,
          changed: false,
          diagnostics: [
            error(
              'git-source',
              `fetching ${shownRepo} branch ${options.branch} failed: ${redactedMessage(e)}`,
              {
                hint: 'check --repo and --branch, and that the controller can reach the repository',
              },
            ),
          ],
        };
      }
    },
    async close() {
      // Nothing is running between updates: one git process per command.
    },
  };
}
