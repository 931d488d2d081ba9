/**
 * End-to-end helpers: a real git remote (a bare repository) with a working clone, the quickstart
 * committed into it, and `mlform controller` processes spawned from the built CLI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import { pino } from 'pino';
import { createDirectorySource } from '../../controller/loop/directory-source.js';
import { createControllerMetrics, type ControllerMetrics } from '../../controller/loop/metrics.js';
import type { OpenProject, SyncLoopOptions } from '../../controller/loop/sync-loop.js';
import { signBody } from '../../controller/loop/webhook.js';
import type { ControllerStatus } from '../../controller/loop/status-schema.js';
import { openProject } from '../../controller/cli/project.js';
import { error } from '../../resources/diagnostic.js';
import type { Provider } from '../../providers/provider.js';

export interface TestRepo {
  root: string;
  bare: string;
  work: string;
  stateDir: string;
  git: SimpleGit;
  /** Writes files (relative to the work tree; null deletes), commits, pushes; returns the sha. */
  commit(message: string, files: Record<string, string | null>): Promise<string>;
  read(path: string): Promise<string>;
}

/**
 * The quickstart in `quickstart/` with `data/cars.json` and a short training. The state lives in
 * `stateDir`, outside the repository: pass it as `--state-dir` (followRepoArgs does) to the
 * controller and to CLI commands on the work tree.
 */
export async function createQuickstartRepo(prefix = 'mlform-ctl-'): Promise<TestRepo> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const bare = join(root, 'remote.git');
  const work = join(root, 'work');
  const stateDir = join(root, 'state');
  await mkdir(bare, { recursive: true });
  await simpleGit(bare).init(true, ['--initial-branch=main']);
  await mkdir(work, { recursive: true });
  const git = simpleGit(work);
  await git.init(['--initial-branch=main']);
  await git.addConfig('user.name', 'mlform test', false, 'local');
  await git.addConfig('user.email', 'test@mlform.invalid', false, 'local');
  await git.addRemote('origin', bare);
  const project = join(work, 'quickstart');
  await cp('examples/quickstart', project, { recursive: true, filter: (src) => !src.includes('.mlform') });
  await cp('examples/data/cars.json', join(work, 'data', 'cars.json'));
  const training = join(project, 'training.yaml');
  await writeFile(training, (await readFile(training, 'utf8')).replace('epochs: 150', 'epochs: 20'));

  const repo: TestRepo = {
    root,
    bare,
    work,
    stateDir,
    git,
    async commit(message, files) {
      for (const [path, text] of Object.entries(files)) {
        const file = join(work, path);
        if (text === null) await git.rm([path]);
        else {
          await mkdir(join(file, '..'), { recursive: true });
          await writeFile(file, text);
        }
      }
      await git.add('-A');
      await git.commit(message);
      await git.push('origin', 'HEAD:main');
      return (await git.revparse(['HEAD'])).trim();
    },
    read: (path) => readFile(join(work, path), 'utf8'),
  };
  return repo;
}

/**
 * The flags of a controller following the repository's `main` at `quickstart/`, on a free loopback
 * port, with a workdir of its own under the repository root and the repository's shared state.
 */
export const followRepoArgs = (repo: TestRepo, workdir: string): string[] => [
  '--repo',
  repo.bare,
  '--branch',
  'main',
  '--path',
  'quickstart',
  '--listen',
  '127.0.0.1:0',
  '--workdir',
  join(repo.root, workdir),
  '--state-dir',
  repo.stateDir,
];

export interface RunningController {
  child: ChildProcess;
  url: string;
  pid: number;
  lines: Record<string, unknown>[];
  exited: Promise<number | null>;
}

/** Spawns `node bin/mlform.js controller ...` and resolves once it printed its URL. */
export async function startController(
  args: string[],
  env: Record<string, string> = {},
): Promise<RunningController> {
  const child = spawn(process.execPath, ['bin/mlform.js', 'controller', ...args], {
    env: { ...process.env, NO_COLOR: '1', CI: 'true', MLFORM_BACKEND: 'wasm', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  let buffer = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`controller did not start: ${stderr}`)), 20_000);
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>;
          lines.push(parsed);
          if (parsed.msg === 'listening' && typeof parsed.url === 'string') {
            clearTimeout(timer);
            resolve(parsed.url);
          }
        } catch {
          // not a log line
        }
      }
    });
    void exited.then((code) => reject(new Error(`controller exited with ${code}: ${stderr}`)));
  });
  return { child, url, pid: child.pid ?? 0, lines, exited };
}

export async function getStatus(url: string): Promise<ControllerStatus> {
  const response = await fetch(`${url}/api/status`, { signal: AbortSignal.timeout(5_000) });
  return (await response.json()) as ControllerStatus;
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 90_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (e) {
      lastError = e;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? ` (${String(lastError)})` : ''}`);
}

export const details = (status: ControllerStatus, address: string): string | undefined =>
  status.resources.find((r) => r.address === address)?.details;

export function postWebhook(url: string, body: string, signature?: string): Promise<Response> {
  return fetch(`${url}/hooks/git`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      ...(signature !== undefined && { 'x-hub-signature-256': signature }),
    },
    body,
  });
}

export { signBody };

/** Run records of the state dir: (number, specHash, schedule). */
export async function runRecords(
  stateDir: string,
  name: string,
): Promise<{ number: number; specHash: string }[]> {
  const base = join(stateDir, 'runs', name);
  const numbers = await readdir(base).catch(() => [] as string[]);
  const out: { number: number; specHash: string }[] = [];
  for (const n of numbers.filter((x) => /^\d+$/.test(x))) {
    const record = JSON.parse(await readFile(join(base, n, 'run.json'), 'utf8')) as { specHash: string };
    out.push({ number: Number(n), specHash: record.specHash });
  }
  return out.sort((a, b) => a.number - b.number);
}

/** Registered versions: (version, run "name#number"). */
export async function versionRecords(
  stateDir: string,
  model: string,
): Promise<{ version: number; run: string }[]> {
  const base = join(stateDir, 'registry', model, 'versions');
  const versions = await readdir(base).catch(() => [] as string[]);
  const out: { version: number; run: string }[] = [];
  for (const v of versions.filter((x) => /^\d+$/.test(x))) {
    const record = JSON.parse(await readFile(join(base, v, 'version.json'), 'utf8')) as {
      run: { name: string; number: number };
    };
    out.push({ version: Number(v), run: `${record.run.name}#${record.run.number}` });
  }
  return out.sort((a, b) => a.version - b.version);
}

/** Live processes whose command line mentions `needle` (serving processes name their config). */
export async function processesMentioning(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(join('/proc', entry, 'cmdline'), 'utf8').catch(() => '');
    if (cmdline.replaceAll('\0', ' ').includes(needle)) pids.push(Number(entry));
  }
  return pids;
}

export function killQuietly(pid: number | undefined, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (!pid) return;
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

/** A RegisteredModel manifest. */
export const modelManifest = (name: string, description = 'a model'): string =>
  `apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata:\n  name: ${name}\nspec:\n  description: ${description}\n`;

/** A new project folder on the local provider (state in `.state`) with one model file per name. */
export async function modelsProject(
  prefix: string,
  stack: string,
  names: readonly string[],
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await writeFile(join(dir, 'mlform.yaml'), `stack: ${stack}\nprovider: local\nlocal:\n  stateDir: .state\n`);
  for (const name of names) await writeFile(join(dir, `${name}.yaml`), modelManifest(name));
  return dir;
}

/**
 * Options of an in-process loop following a watched directory: silent, quick requeues and a short
 * lease, no metrics of the process.
 */
export function directoryLoopOptions(
  dir: string,
  openProject: OpenProject,
): SyncLoopOptions & { metrics: ControllerMetrics } {
  return {
    source: createDirectorySource({ dir, debounceMs: 50 }),
    openProject,
    log: pino({ level: 'silent' }),
    metrics: createControllerMetrics({ defaultMetrics: false }),
    version: 'test',
    resyncMs: 60_000,
    progressMs: 100,
    leaseTtlMs: 600,
    selfHeal: true,
    prune: false,
  };
}

/**
 * Opens projects with the real local provider, except that `registeredModels.put` of `name` fails
 * while `failing.on` is set; `calls` are the times it was called.
 */
export function failingModelPut(failing: { on: boolean; calls?: number[] }, name = 'alpha'): OpenProject {
  return async (paths) => {
    const opened = await openProject(paths);
    if (!opened.project) return opened;
    const inner = opened.project.provider;
    const provider: Provider = {
      ...inner,
      registeredModels: {
        ...inner.registeredModels,
        put: async (ctx, req) => {
          if (req.name === name) {
            failing.calls?.push(Date.now());
            if (failing.on) return { diagnostics: [error('injected', 'quota exceeded')] };
          }
          return inner.registeredModels.put(ctx, req);
        },
      },
    };
    return { ...opened, project: { ...opened.project, provider } };
  };
}
