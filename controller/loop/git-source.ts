/**
 * A git branch as the source: one clone in a work directory, `fetch origin <branch>` then
 * `reset --hard` to the fetched commit, like Argo CD's repo server. Untracked files survive the
 * reset (nothing is cleaned), so a relative `local.stateDir` inside the checkout is kept.
 *
 * Credentials (git-credentials.ts) never enter a URL that git, `.git/config`, a log or the status
 * shows: userinfo is stripped here too, a token travels in git's environment, and every git error
 * is redacted before it becomes a diagnostic.
 */
import { mkdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { redactCredentials } from '../../resources/credential.js';
import { error } from '../../resources/diagnostic.js';
import { gitAuthEnv, splitRepoUrl, type GitAuth } from './git-credentials.js';
import type { ManifestSource, SourceUpdate } from './source.js';

export interface GitSourceOptions {
  repo: string;
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
const messageOf = (e: unknown): string =>
  redactCredentials((e instanceof Error ? e.message : String(e)).trim());

/** Local paths are made absolute so the clone's remote does not depend on the working directory. */
function normaliseRepo(repo: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(repo) || /^[^/]+@[^:]+:/.test(repo) ? repo : resolve(repo);
}

export function createGitSource(options: GitSourceOptions): ManifestSource {
  const repo = normaliseRepo(splitRepoUrl(options.repo).url);
  const shownRepo = splitRepoUrl(options.repo).url;
  const useAuth = options.auth !== undefined && /^https?:\/\//i.test(repo);
  const workDir = resolve(options.workDir);
  let git: SimpleGit | undefined;
  let revision: string | undefined;

  async function open(): Promise<SimpleGit> {
    if (git) return git;
    await mkdir(workDir, { recursive: true });
    // A controller has nobody to answer a credentials prompt: fail instead of hanging. (Set on the
    // process, not through simple-git's env(), which rejects environments that contain EDITOR.)
    process.env.GIT_TERMINAL_PROMPT ??= '0';
    // The token rides in git's environment (GIT_CONFIG_*), which simple-git refuses unless allowed;
    // the rest of the operator's environment (GIT_SSH_COMMAND, a credential helper) is trusted too.
    const g =
      useAuth && options.auth
        ? simpleGit({
            baseDir: workDir,
            unsafe: {
              allowUnsafeConfigEnvCount: true,
              allowUnsafeConfigPaths: true,
              allowUnsafeEditor: true,
              allowUnsafeAskPass: true,
              allowUnsafePager: true,
              allowUnsafeSshCommand: true,
              allowUnsafeGitProxy: true,
              allowUnsafeTemplateDir: true,
              allowUnsafeDiffExternal: true,
            },
          }).env({ ...definedEnv(process.env), ...gitAuthEnv(repo, options.auth, process.env) })
        : simpleGit({ baseDir: workDir });
    const isClone = await stat(join(workDir, '.git')).then(
      () => true,
      () => false,
    );
    if (!isClone) {
      // init + remote instead of clone: works for an empty repository and a branch that appears later.
      await g.init();
      await g.addRemote('origin', repo);
    } else {
      const remotes = await g.getRemotes(true);
      const origin = remotes.find((r) => r.name === 'origin');
      if (!origin) await g.addRemote('origin', repo);
      else if (origin.refs.fetch !== repo) await g.remote(['set-url', 'origin', repo]);
      revision = (await g.revparse(['HEAD']).catch(() => '')) || undefined;
    }
    git = g;
    return g;
  }

  return {
    kind: 'git',
    description: `git ${shownRepo}#${options.branch}${options.path && options.path !== '.' ? `:${options.path}` : ''}`,
    manifestsPath: join(workDir, options.path),
    treeRoot: workDir,
    async update(): Promise<SourceUpdate> {
      try {
        const g = await open();
        await g.fetch('origin', options.branch);
        const fetched = (await g.revparse([`refs/remotes/origin/${options.branch}`])).trim();
        if (fetched === revision) return { revision, changed: false, diagnostics: [] };
        await g.reset(['--hard', fetched]);
        revision = fetched;
        return { revision, changed: true, diagnostics: [] };
      } catch (e) {
        return {
          revision,
          changed: false,
          diagnostics: [
            error('git-source', `fetching ${shownRepo} branch ${options.branch} failed: ${messageOf(e)}`, {
              hint: 'check --repo and --branch, and that the controller can reach the repository',
            }),
          ],
        };
      }
    },
    async close() {
      // Nothing is running between updates: simple-git spawns one process per command.
    },
  };
}

const definedEnv = (env: NodeJS.ProcessEnv): Record<string, string> =>
  Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
