/**
 * Shared pieces of the local provider tests: a project in a temp folder, a tiny iris spec, polling,
 * and a sweep that kills every process whose command line points into a test project (trainings
 * and servers are detached, so nothing else would end them).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TrainingRunSpec } from '../../../resources/training-run.js';
import type {
  CreateRunRequest,
  ObservedRun,
  ObservedVersion,
  ProviderContext,
} from '../../../providers/provider.js';
import { createLocalProvider, type LocalProviderOptions } from '../../../providers/local/index.js';

export const REPO = resolve(fileURLToPath(import.meta.url), '../../../..');
/** A real manifest path: its `file://../data/iris.csv` resolves against examples/trainer/. */
export const IRIS_MANIFEST = join(REPO, 'examples/trainer/iris.yaml');

export interface Project {
  dir: string;
  ctx: ProviderContext;
  stateDir: string;
  provider: ReturnType<typeof createLocalProvider>;
  cleanup(): Promise<void>;
}

export async function tempProject(options: LocalProviderOptions = {}, stack = 'test'): Promise<Project> {
  const dir = await mkdtemp(join(tmpdir(), 'mlform-local-'));
  const provider = createLocalProvider({ basePort: 0, stopTimeoutMs: 5_000, ...options });
  return {
    dir,
    // The iris data lives in this repository's examples/, outside the temp project: as the CLI
    // does with --allow-data-root, the trainer is told it may read there.
    ctx: { stack, projectDir: dir, dataRoots: [dir, join(REPO, 'examples')] },
    stateDir: join(dir, options.stateDir ?? '.mlform'),
    provider,
    async cleanup() {
      await killProcessesUnder(dir);
      await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
  };
}

/** A normalised TrainingRun spec (defaults written out) for iris, relative data URI included. */
export function irisSpec(epochs: number, seed = 7): TrainingRunSpec {
  return {
    trainer: {
      builtin: {
        task: 'classification',
        data: { uri: 'file://../data/iris.csv', target: 'species', validationSplit: 0.3, maxCategories: 64 },
        network: { type: 'mlp', layers: [8], activation: 'relu', dropout: 0 },
        hyperparameters: { epochs, batchSize: 16, learningRate: 0.01, optimizer: 'adam' },
        seed,
      },
    },
    resources: { machineType: 'n1-standard-4', spot: false },
    retry: { limit: 2 },
    tensorboard: { histograms: false, images: false, stepInterval: 50 },
  };
}

export function runRequest(
  name: string,
  number: number,
  spec: TrainingRunSpec,
  specHash = `hash-${name}-${number}`,
): CreateRunRequest {
  return {
    name,
    number,
    spec,
    specHash,
    attempt: 1,
    manifestPath: IRIS_MANIFEST,
    labels: { team: 'ml' },
    annotations: { 'mlform/owner': 'tests' },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `read` until `done` holds, or fails with the last value seen. */
export async function waitFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  { timeoutMs = 45_000, everyMs = 150 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting; last value: ${JSON.stringify(value)}`);
    await sleep(everyMs);
  }
}

/** Exists and is not a zombie (a child this test process has not reaped yet is dead too). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  if (process.platform !== 'linux') return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** SIGKILLs every process with an argument inside `dir` (Linux /proc). */
export async function killProcessesUnder(dir: string): Promise<void> {
  if (process.platform !== 'linux') return;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').some((arg) => arg.startsWith(dir))) {
      try {
        process.kill(Number(entry), 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
  }
}

export async function readJson<T = Record<string, unknown>>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

/**
 * The model `iris` with a real (short) training of `irisSpec(epochs)` registered as its version 1:
 * what endpoint tests serve. Returns the run too, to register more versions from it.
 */
export async function trainedIris(
  project: Project,
  epochs: number,
): Promise<{ run: ObservedRun; version: ObservedVersion }> {
  const { provider, ctx } = project;
  await provider.registeredModels.put(ctx, {
    name: 'iris',
    spec: { aliases: {}, retention: { keepVersions: 5 } },
    specHash: 'm',
    labels: {},
    annotations: {},
  });
  await provider.trainingRuns.create(ctx, runRequest('iris', 1, irisSpec(epochs)));
  const run = await waitFor(
    async () => (await provider.trainingRuns.observe(ctx, { name: 'iris', number: 1 })).run,
    (r) => r?.state !== 'running' && r?.state !== 'queued',
  );
  if (run?.state !== 'succeeded') throw new Error(`training failed: ${run?.error}`);
  const version = (await provider.registeredModels.registerVersion(ctx, { model: 'iris', run }))
    .version as ObservedVersion;
  return { run, version };
}
