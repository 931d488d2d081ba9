/**
 * How a trial's training runs. The study (run-tuning.ts) only needs "train this spec into this
 * directory, tell me each epoch's metrics and whether to stop there, resolve when the artifact is
 * written"; the default launcher does that in a child process, because the wasm backend is
 * single-threaded in Node: `parallel` trials in one process would take turns on one core, in N
 * processes they use N cores. Tests inject a launcher.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { errorMessage } from '../../resources/error-message.js';
import type { ProgressEvent } from '../types.js';

export interface TrialJob {
  /** 1-based. */
  trial: number;
  /** The trial's spec (no `tuning`) with its epoch budget. */
  spec: TrainingRunSpec;
  /** The trial's artifact directory; a checkpoint there is resumed from. */
  outDir: string;
}

export interface LaunchContext {
  baseDir: string;
  name?: string;
  manifestFile?: string;
  mlformVersion?: string;
  env?: Record<string, string | undefined>;
  /** Aborts the training: the launcher rejects with an AbortError once it has stopped. */
  signal: AbortSignal;
  /**
   * Called after each epoch with its metrics (the trainer's `epoch` event: loss and the scaled
   * metrics). Resolving true stops the training after that epoch, as an early stop: the artifact
   * is written from that epoch (a pruned trial). The training waits for the answer.
   */
  onEpoch?: (epoch: number, metrics: Record<string, number>) => boolean | Promise<boolean>;
}

/** Resolves when the trial's artifact is complete; rejects with the training's error otherwise. */
export type TrialLauncher = (job: TrialJob, context: LaunchContext) => Promise<void>;

/** What the parent writes to a worker's stdin, as one JSON line. */
export interface WorkerRequest {
  spec: TrainingRunSpec;
  baseDir: string;
  outDir: string;
  name?: string;
  manifestFile?: string;
  mlformVersion?: string;
}

/**
 * What the parent answers, one JSON line after each `epoch` line of the worker (which waits for
 * it): stop there (pruned) or go on.
 */
export interface WorkerVerdict {
  stop: boolean;
}

/** A SIGTERMed worker saves its checkpoint first; this is how long it gets before SIGKILL. */
const KILL_GRACE_MS = 15_000;
const STDERR_TAIL = 4000;

/**
 * node arguments that run worker.ts. Built (dist/): the compiled worker.js next to this file.
 * From source (tests, tsx): the .ts file through tsx's loader, resolved from here so that the
 * child does not depend on its working directory.
 */
export function workerArguments(): string[] {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    const tsx = createRequire(import.meta.url).resolve('tsx');
    return ['--import', pathToFileURL(tsx).href, join(dirname(here), 'worker.ts')];
  }
  return [join(dirname(here), 'worker.js')];
}

const abortError = (message: string): Error => new DOMException(message, 'AbortError');

function childEnv(env: Record<string, string | undefined> | undefined): NodeJS.ProcessEnv {
  const merged: NodeJS.ProcessEnv = { ...process.env };
  for (const [key, value] of Object.entries(env ?? {})) if (value !== undefined) merged[key] = value;
  return merged;
}

/**
 * Trains in `node worker.js`: the request goes in on stdin, progress comes back as JSON lines on
 * stdout, and after each `epoch` line a WorkerVerdict goes in. stdin stays open for the worker's
 * lifetime: if this process dies, the pipe closes and the worker stops (checkpoint saved) instead
 * of training for nobody.
 */
export const processLauncher: TrialLauncher = (job, context) =>
  new Promise<void>((resolve, reject) => {
    const { signal } = context;
    if (signal.aborted) {
      reject(abortError(`trial ${job.trial} cancelled before it started`));
      return;
    }
    const child = spawn(process.execPath, workerArguments(), {
      env: childEnv(context.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const request: WorkerRequest = {
      spec: job.spec,
      baseDir: context.baseDir,
      outDir: job.outDir,
      ...(context.name !== undefined && { name: context.name }),
      ...(context.manifestFile !== undefined && { manifestFile: context.manifestFile }),
      ...(context.mlformVersion !== undefined && { mlformVersion: context.mlformVersion }),
    };
    // The worker may exit (or crash) before reading: a closed pipe is reported by 'exit' below.
    child.stdin.on('error', () => {});
    child.stdin.write(`${JSON.stringify(request)}\n`);

    let reported: string | undefined;
    let stderr = '';
    // Verdicts go back in epoch order: each waits for the previous one (onEpoch may be async).
    let verdicts: Promise<void> = Promise.resolve();
    const answer = (epoch: number, metrics: Record<string, number>) => {
      verdicts = verdicts.then(async () => {
        let stop = false;
        try {
          stop = (await context.onEpoch?.(epoch, metrics)) === true;
        } catch (error) {
          // The study could not record the epoch (its journal): stop the trial rather than run blind.
          reported = `the study could not record epoch ${epoch}: ${errorMessage(error)}`;
          child.kill('SIGTERM');
          return;
        }
        const verdict: WorkerVerdict = { stop };
        child.stdin.write(`${JSON.stringify(verdict)}\n`);
      });
    };
    createInterface({ input: child.stdout }).on('line', (line) => {
      const event = parseEvent(line);
      if (event?.type === 'error') reported = event.message;
      if (event?.type === 'epoch') answer(event.epoch, event.metrics);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });

    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
      killTimer.unref();
    };
    signal.addEventListener('abort', onAbort, { once: true });

    child.on('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      reject(new Error(`cannot start the trial worker: ${error.message}`));
    });
    child.on('close', (code, killedBy) => {
      signal.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      if (code === 0) resolve();
      else if (signal.aborted) reject(abortError(`trial ${job.trial} cancelled`));
      else {
        const detail = reported ?? lastLines(stderr) ?? `the worker exited with ${code ?? killedBy}`;
        reject(new Error(detail));
      }
    });
  });

function parseEvent(line: string): ProgressEvent | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as ProgressEvent;
  } catch {
    return undefined;
  }
}

const lastLines = (text: string): string | undefined => {
  const lines = text.trim().split('\n').slice(-5).join('\n').trim();
  return lines || undefined;
};
