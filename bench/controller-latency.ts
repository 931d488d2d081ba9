/**
 * The controller on the local provider, from the compiled build:
 * - commit-to-apply-start latency: from a change being pushed (git) or saved (directory) to the
 *   controller's log line starting the change it causes (a RegisteredModel update, no training),
 *   through a signed webhook, a watched directory, and 2 s polling;
 * - memory: RSS of a controller managing 1,000 RegisteredModels after 10 syncs (the first creates
 *   them all; `--resync 200ms` makes the next nine come quickly);
 * - provider calls per no-op sync: `mlform_provider_calls_total` read from `/metrics` before and
 *   after 10 resyncs of a converged stack (each list call is a paged API call on gcp).
 * Run: npm run bench -- controller   (BENCH_CONTROLLER_SAMPLES, default 10)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleGit } from 'simple-git';

const ROOT = join(import.meta.dirname, '..');
const SAMPLES = Number(process.env.BENCH_CONTROLLER_SAMPLES ?? 10);
const SECRET = 'bench-secret';

interface LogLine {
  msg?: string;
  time?: string;
  url?: string;
}

export interface Controller {
  child: ChildProcess;
  url: string;
  lines: LogLine[];
  /** Resolves with the first log line (from `from` on) that matches. */
  next(match: (line: LogLine) => boolean, from: number, timeoutMs?: number): Promise<LogLine>;
  stop(): Promise<void>;
}

export async function startController(args: string[], env: Record<string, string> = {}): Promise<Controller> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'mlform.js'), 'controller', ...args], {
    env: { ...process.env, CI: 'true', NO_COLOR: '1', MLFORM_WEBHOOK_SECRET: SECRET, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  let buffer = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      try {
        lines.push(JSON.parse(buffer.slice(0, newline)) as LogLine);
      } catch {
        // not JSON
      }
      buffer = buffer.slice(newline + 1);
    }
    for (const wake of waiters) wake();
  });
  const next = (match: (line: LogLine) => boolean, from: number, timeoutMs = 60_000) =>
    new Promise<LogLine>((resolve, reject) => {
      const check = () => {
        const found = lines.slice(from).find(match);
        if (found) {
          waiters.delete(check);
          clearTimeout(timer);
          resolve(found);
        }
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`controller: no matching log line in ${timeoutMs} ms; stderr: ${stderr}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  const listening = await next((l) => l.msg === 'listening', 0, 30_000);
  return {
    child,
    url: listening.url ?? '',
    lines,
    next,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const model = (name: string, description: string) =>
  `apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata: {name: ${name}}\nspec:\n  description: ${description}\n`;

/** The state is the controller's (`--state-dir`), never named by the manifests. */
async function writeProject(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'mlform.yaml'), `stack: bench\nprovider: local\n`);
  await writeFile(join(dir, 'model.yaml'), model('latency', 'sample 0'));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const p95 = (xs: number[]) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)];

/** One sample: make the change, then wait for the update to start; returns ms. */
async function sampleLatency(
  controller: Controller,
  change: (i: number) => Promise<void>,
  i: number,
): Promise<number> {
  const from = controller.lines.length;
  const t0 = Date.now();
  await change(i);
  const started = await controller.next(
    (l) => l.msg?.startsWith('update RegisteredModel/latency') ?? false,
    from,
  );
  await controller.next((l) => l.msg === 'sync finished', from);
  return Date.parse(started.time ?? '') - t0;
}

async function gitLatency(root: string, mode: 'webhook' | 'poll'): Promise<number[]> {
  const bare = join(root, `${mode}.git`);
  const work = join(root, `${mode}-work`);
  await mkdir(bare, { recursive: true });
  await simpleGit(bare).init(true, ['--initial-branch=main']);
  await mkdir(work, { recursive: true });
  const git = simpleGit(work);
  await git.init(['--initial-branch=main']);
  await git.addConfig('user.name', 'bench', false, 'local');
  await git.addConfig('user.email', 'bench@mlform.invalid', false, 'local');
  await git.addRemote('origin', bare);
  await writeProject(join(work, 'ml'));
  await git.add('-A');
  await git.commit('initial');
  await git.push('origin', 'HEAD:main');
  const controller = await startController([
    '--repo',
    bare,
    '--path',
    'ml',
    '--workdir',
    join(root, `${mode}-checkout`),
    '--state-dir',
    join(root, `${mode}-state`),
    '--listen',
    '127.0.0.1:0',
    '--poll',
    mode === 'poll' ? '2s' : '1h',
    '--resync',
    '1h',
  ]);
  try {
    await controller.next((l) => l.msg === 'sync finished', 0);
    const samples: number[] = [];
    for (let i = 1; i <= SAMPLES; i++) {
      samples.push(
        await sampleLatency(
          controller,
          async (n) => {
            await writeFile(join(work, 'ml', 'model.yaml'), model('latency', `sample ${n}`));
            await git.add('-A');
            await git.commit(`sample ${n}`);
            await git.push('origin', 'HEAD:main');
            if (mode === 'webhook') {
              const body = JSON.stringify({ ref: 'refs/heads/main' });
              const signature = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
              const response = await fetch(`${controller.url}/hooks/git`, {
                method: 'POST',
                headers: { 'x-hub-signature-256': signature, 'content-type': 'application/json' },
                body,
              });
              if (response.status !== 202) throw new Error(`webhook answered ${response.status}`);
            }
          },
          i,
        ),
      );
    }
    return samples;
  } finally {
    await controller.stop();
  }
}

async function directoryLatency(root: string): Promise<number[]> {
  const dir = join(root, 'dir-project');
  await writeProject(dir);
  const controller = await startController([
    '--dir',
    dir,
    '--state-dir',
    join(root, 'dir-state'),
    '--listen',
    '127.0.0.1:0',
    '--resync',
    '1h',
  ]);
  try {
    await controller.next((l) => l.msg === 'sync finished', 0);
    const samples: number[] = [];
    for (let i = 1; i <= SAMPLES; i++) {
      samples.push(
        await sampleLatency(
          controller,
          (n) => writeFile(join(dir, 'model.yaml'), model('latency', `sample ${n}`)),
          i,
        ),
      );
    }
    return samples;
  } finally {
    await controller.stop();
  }
}

async function memoryAfterSyncs(root: string, count: number, syncs: number, nodeOptions?: string) {
  const tag = nodeOptions ? 'capped' : 'default';
  const dir = join(root, `many-${tag}`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'mlform.yaml'), `stack: many\nprovider: local\n`);
  for (let i = 0; i < count; i += 250) {
    await Promise.all(
      Array.from({ length: Math.min(250, count - i) }, (_, k) =>
        writeFile(join(dir, `model-${i + k}.yaml`), model(`model-${i + k}`, `model ${i + k}`)),
      ),
    );
  }
  const started = Date.now();
  const controller = await startController(
    [
      '--dir',
      dir,
      '--state-dir',
      join(root, `many-state-${tag}`),
      '--listen',
      '127.0.0.1:0',
      '--resync',
      '200ms',
    ],
    nodeOptions ? { NODE_OPTIONS: nodeOptions } : {},
  );
  try {
    let from = 0;
    const durations: number[] = [];
    for (let s = 0; s < syncs; s++) {
      await controller.next((l) => l.msg === 'sync finished', from, 300_000);
      from = controller.lines.findIndex((l, idx) => idx >= from && l.msg === 'sync finished') + 1;
      if (s === 0) durations.push(Date.now() - started);
    }
    const status = await readFile(`/proc/${controller.child.pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
    const statusJson = (await (await fetch(`${controller.url}/api/status`)).json()) as {
      resources: { syncStatus: string }[];
    };
    const synced = statusJson.resources.filter((r) => r.syncStatus === 'Synced').length;
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024, firstSyncMs: durations[0], synced };
  } finally {
    await controller.stop();
  }
}

/** The `mlform_provider_calls_total` samples of a controller, summed per verb. */
async function providerCallsByVerb(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const byVerb = new Map<string, number>();
  for (const [, labels, value] of text.matchAll(/^mlform_provider_calls_total\{([^}]*)\} (\S+)$/gm)) {
    const verb = /verb="([^"]*)"/.exec(labels)?.[1] ?? '?';
    byVerb.set(verb, (byVerb.get(verb) ?? 0) + Number(value));
  }
  return byVerb;
}

/**
 * Provider calls per sync once nothing changes: counted between the end of one sync and the end of
 * the `syncs`-th after it (read as each "sync finished" line appears; the next one is 200 ms away).
 */
async function callsPerNoOpSync(root: string, syncs: number) {
  const dir = join(root, 'noop-project');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'mlform.yaml'), `stack: noop\nprovider: local\n`);
  for (let i = 0; i < 3; i++)
    await writeFile(join(dir, `model-${i}.yaml`), model(`model-${i}`, `model ${i}`));
  const controller = await startController([
    '--dir',
    dir,
    '--state-dir',
    join(root, 'noop-state'),
    '--listen',
    '127.0.0.1:0',
    '--resync',
    '200ms',
  ]);
  const finished = (from: number) =>
    controller.next((l) => l.msg === 'sync finished', from).then(() => controller.lines.length);
  try {
    // The first sync creates the models; the second is the first with nothing to do.
    let from = await finished(0);
    from = await finished(from);
    const before = await providerCallsByVerb(controller.url);
    for (let s = 0; s < syncs; s++) from = await finished(from);
    const after = await providerCallsByVerb(controller.url);
    const per = (verb: string) => ((after.get(verb) ?? 0) - (before.get(verb) ?? 0)) / syncs;
    return { syncs, list: per('list'), lock: per('lock') };
  } finally {
    await controller.stop();
  }
}

export async function runControllerBench(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'mlform-controller-bench-'));
  try {
    const modes: [string, number[]][] = [
      ['git + signed webhook', await gitLatency(root, 'webhook')],
      ['watched directory (300 ms debounce)', await directoryLatency(root)],
      ['git polling, --poll 2s', await gitLatency(root, 'poll')],
    ];
    const memory = await memoryAfterSyncs(root, 1000, 10);
    // V8 collects lazily: with no heap cap, garbage of earlier syncs inflates RSS.
    const capped = await memoryAfterSyncs(root, 1000, 10, '--max-old-space-size=128');
    const calls = await callsPerNoOpSync(root, 10);
    return [
      '| source | samples | median ms | p95 ms | max ms |',
      '| --- | --- | --- | --- | --- |',
      ...modes.map(
        ([label, xs]) =>
          `| ${label} | ${xs.length} | **${median(xs).toFixed(0)}** | ${p95(xs).toFixed(0)} | ${Math.max(...xs).toFixed(0)} |`,
      ),
      '',
      'Latency: from the change pushed (git) or saved (directory) to the controller starting the',
      'RegisteredModel update it causes (its log line time). Polling waits for the next tick (2 s ±10%).',
      '',
      '| managed resources | syncs | first sync (creates all) | RSS after | peak RSS | Synced |',
      '| --- | --- | --- | --- | --- | --- |',
      ...(
        [
          ['1,000 RegisteredModels', memory],
          ['1,000 RegisteredModels, `NODE_OPTIONS=--max-old-space-size=128`', capped],
        ] as const
      ).map(
        ([label, m]) =>
          `| ${label} | 10 | ${(m.firstSyncMs / 1000).toFixed(1)} s | **${m.rssMb.toFixed(0)} MB** | ${m.peakMb.toFixed(0)} MB | ${m.synced} |`,
      ),
      '',
      '| provider calls per sync, nothing to change | syncs | list calls | lock calls |',
      '| --- | --- | --- | --- |',
      `| 3 RegisteredModels, local provider | ${calls.syncs} | **${calls.list.toFixed(1)}** | ${calls.lock.toFixed(1)} |`,
      '',
      'Counted by `mlform_provider_calls_total` on `/metrics`: four list calls (one per kind) is one',
      "round of observation; the lock calls are the apply lock's (the leader lease is not counted).",
      '',
      `Goal: under 200 MB RSS. Load average during the run: ${loadavg()[0].toFixed(1)} on ${cpus().length} cores.`,
    ].join('\n');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
