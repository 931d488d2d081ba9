/**
 * Point 6 of issue 11, played by an attacker's favourite leak: the operator's git credentials.
 * A token in `--repo https://user:token@host/...` must not reach the controller's logs,
 * /api/status, /metrics or the clone's .git/config; a token from --git-token-file (or the URL,
 * deprecated) must still authenticate against a real git HTTP server. The followed commit also
 * passes a secret by reference (set in the controller's environment) and a credential literal:
 * neither shows in what the controller prints or serves.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getStatus, startController, waitFor, type RunningController } from '../controller/helpers.js';
import { startGitHttpServer, type GitHttpServer } from './secrets-git-http-server.js';

const TOKEN = 's3cr3t-token';
/** The operator's secret, in the controller's environment: it exists, so it could leak. */
const SECRET_VALUE = 'hf-value-in-operator-env-51b7';
const LITERAL = 'glpat-Zq8rT3xY7wPm2LkN5vB9';

async function stop(c: RunningController): Promise<void> {
  c.child.kill('SIGTERM');
  await c.exited;
}

/** The controller clones into `<workdir>/checkouts/<its pid>`. */
const gitConfigOf = (c: RunningController, workdir: string): string =>
  join(workdir, 'checkouts', String(c.child.pid), '.git', 'config');

async function scrape(c: RunningController, workdir: string): Promise<string> {
  const status = JSON.stringify(await getStatus(c.url));
  const metrics = await (await fetch(`${c.url}/metrics`)).text();
  const gitConfig = await readFile(gitConfigOf(c, workdir), 'utf8').catch(() => '');
  return [JSON.stringify(c.lines), status, metrics, gitConfig].join('\n');
}

describe('git credentials are never shown', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'mlform-sec-git-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }));

  it('a token in the --repo URL appears nowhere: logs, /api/status, /metrics, .git/config', async () => {
    const workdir = join(root, 'refused');
    const c = await startController([
      '--repo',
      `https://user:${TOKEN}@127.0.0.1:1/x.git`,
      '--workdir',
      workdir,
      '--state-dir',
      join(root, 'refused-state'),
      '--listen',
      '127.0.0.1:0',
      '--poll',
      '1s',
    ]);
    try {
      const status = await waitFor(
        'the fetch to fail',
        async () => {
          const s = await getStatus(c.url);
          return s.controller.lastError ? s : undefined;
        },
        20_000,
      );
      // The failure is still reported usefully, with the URL minus its credentials.
      expect(status.controller.source).toBe('git https://127.0.0.1:1/x.git#main');
      expect(status.controller.lastError).toContain('https://127.0.0.1:1/x.git');
      const everything = await scrape(c, workdir);
      expect(everything).toContain('mlform_errors_total{type="source"}');
      expect(everything).not.toContain(TOKEN);
      expect(everything).not.toContain('user:');
      // The operator is told to move the token out of the URL.
      expect(c.lines.some((l) => l.level === 40 && String(l.msg).includes('--git-token-file'))).toBe(true);
    } finally {
      await stop(c);
    }
  }, 40_000);

  describe('against a git HTTP server that requires the token', () => {
    let server: GitHttpServer;
    let sha: string;
    beforeAll(async () => {
      const bare = join(root, 'served', 'ml.git');
      await mkdir(bare, { recursive: true });
      await simpleGit(bare).init(true, ['--initial-branch=main']);
      const work = join(root, 'work');
      await mkdir(work, { recursive: true });
      const git = simpleGit(work);
      await git.init(['--initial-branch=main']);
      await git.addConfig('user.name', 'mlform test', false, 'local');
      await git.addConfig('user.email', 'test@mlform.invalid', false, 'local');
      await writeFile(join(work, 'mlform.yaml'), 'stack: sec\nprovider: local\n');
      await writeFile(
        join(work, 'model.yaml'),
        'apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata: {name: m}\nspec: {description: only a model}\n',
      );
      // A commit passing a secret by reference and a credential as a literal.
      await writeFile(
        join(work, 'run.yaml'),
        [
          'apiVersion: mlform/v1',
          'kind: TrainingRun',
          'metadata: {name: custom}',
          'spec:',
          '  trainer:',
          '    container:',
          '      image: example.com/train:1',
          '      env:',
          '        HF_TOKEN: {secretRef: {name: huggingface, key: token}}',
          `        GITLAB_TOKEN: ${LITERAL}`,
          '',
        ].join('\n'),
      );
      await git.add('-A');
      await git.commit('a model');
      await git.push(bare, 'HEAD:main');
      sha = (await git.revparse(['HEAD'])).trim();
      server = await startGitHttpServer(join(root, 'served'), TOKEN);
    });
    afterAll(() => server.close());

    const follow = async (name: string, repo: string, extra: string[], env: Record<string, string> = {}) => {
      const workdir = join(root, name);
      const c = await startController(
        [
          '--repo',
          repo,
          '--workdir',
          workdir,
          '--state-dir',
          join(root, `${name}-state`),
          '--listen',
          '127.0.0.1:0',
          ...extra,
        ],
        { MLFORM_SECRET_HUGGINGFACE_TOKEN: SECRET_VALUE, ...env },
      );
      try {
        await waitFor(
          'the commit to be applied',
          async () => (await getStatus(c.url)).controller.appliedCommit === sha,
          30_000,
        );
        // The run was planned and attempted (the local provider has no container trainer)...
        const status = await getStatus(c.url);
        expect(status.resources.find((r) => r.address === 'TrainingRun/custom')?.lastError).toContain(
          'runs the builtin trainer only',
        );
        // ...and neither the git token, nor the secret, nor the literal shows anywhere.
        const everything = await scrape(c, workdir);
        expect(everything).not.toContain(TOKEN);
        expect(everything).not.toContain(SECRET_VALUE);
        expect(everything).not.toContain(LITERAL);
        // The remote in .git/config is the plain URL: the token lives only in git's environment.
        expect(await readFile(gitConfigOf(c, workdir), 'utf8')).toContain(`url = ${server.url('ml.git')}\n`);
        return c.lines;
      } finally {
        await stop(c);
      }
    };

    it('--git-token-file authenticates (user x-access-token) without the token in any output', async () => {
      const tokenFile = join(root, 'token');
      await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
      server.credentials.length = 0;
      const lines = await follow('from-file', server.url('ml.git'), ['--git-token-file', tokenFile]);
      expect(server.credentials).toContain(`x-access-token:${TOKEN}`);
      expect(lines.some((l) => String(l.msg).includes('carries credentials'))).toBe(false);
    }, 40_000);

    it('MLFORM_GIT_TOKEN authenticates too', async () => {
      server.credentials.length = 0;
      await follow('from-env', server.url('ml.git'), ['--git-username', 'bot'], { MLFORM_GIT_TOKEN: TOKEN });
      expect(server.credentials).toContain(`bot:${TOKEN}`);
    }, 40_000);

    it('a token in the URL still works, moved out of the URL, with a warning', async () => {
      server.credentials.length = 0;
      const url = server.url('ml.git').replace('http://', `http://alice:${TOKEN}@`);
      const lines = await follow('from-url', url, []);
      expect(server.credentials).toContain(`alice:${TOKEN}`);
      expect(lines.some((l) => l.level === 40 && String(l.msg).includes('carries credentials'))).toBe(true);
    }, 40_000);
  });
});
