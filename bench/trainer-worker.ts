/**
 * One measurement of the trainer benchmark in a fresh process (one tfjs backend per process, no
 * JIT or memory state carried between measurements). Prints one JSON line.
 *
 *   node --import tsx bench/trainer-worker.ts '<WorkerJob as JSON>'
 *
 * Both modes load and prepare the data through the real pipeline first (loadPrepared, timed: the
 * pipeline figures of the benchmark, cold without `cacheDir`, a cache hit with one), then train: warm-up (EpochClock), then at least one measured epoch,
 * until the time budget.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../artifact/tfjs-backend.js';
import { packageVersion } from '../controller/cli/version.js';
import { loadPrepared } from '../trainer/data/load-prepared.js';
import { buildNetwork } from '../trainer/network/build-network.js';
import { train } from '../trainer/training/train.js';
import type { PreparedData, ProgressEvent } from '../trainer/types.js';
import {
  WARMUP_SECONDS,
  WARMUP_STEPS,
  workloadsIn,
  type Workload,
  type WorkloadName,
  type WorkloadSizes,
} from './trainer-workloads.js';

export interface WorkerJob {
  workload: WorkloadName;
  backend: string;
  /** `fit`: tfjs-layers' model.fit; `train`: mlform's train(); `pipeline`: the data pipeline alone. */
  mode: 'fit' | 'train' | 'pipeline';
  dir: string;
  /**
   * The prepared-data cache folder the pipeline uses (MLFORM_DATA_CACHE); undefined: none (cold).
   * The bench fills it in an earlier process, so this one measures a hit.
   */
  cacheDir?: string;
  sizes: WorkloadSizes;
  maxEpochs: number;
  /** No new epoch starts after this many seconds (once a measured one has run). */
  budgetSeconds: number;
}

/** The data pipeline alone (`mode: 'pipeline'`): what a process pays before its first epoch. */
export interface PipelineResult {
  mode: 'pipeline';
  trainCount: number;
  pipelineMs: number;
  pipelineCpuMs: number;
  pipelineCached: boolean;
}

export interface WorkerResult {
  backend: string;
  mode: 'fit' | 'train';
  /** Training samples per second over the steady epochs (after warm-up), validation included. */
  samplesPerSecond: number;
  /** The same per second of this process's CPU time: robust to load from other processes. */
  cpuSamplesPerSecond: number;
  epochs: number;
  warmupEpochs: number;
  trainCount: number;
  /** loadPrepared (read, hash, then the cache or parse + prepareData), the first call in this process. */
  pipelineMs: number;
  /** The same in this process's CPU time (what other jobs on the machine do not inflate). */
  pipelineCpuMs: number;
  /** Whether the pipeline was answered by the cache. */
  pipelineCached: boolean;
  /** train() only: samples per second of the step loop alone, and the mean epoch tail. */
  stepSamplesPerSecond?: number;
  /** Validation, gradient-norm probe and checkpoint after the last step of an epoch. */
  tailMs?: number;
  /** train() only: the process's first epoch (code and kernels running for the first time), wall and CPU. */
  firstEpochMs?: number;
  firstEpochCpuMs?: number;
  stepKind?: string;
}

const now = (): number => performance.now();
/** CPU time of this process (all its threads), in ms. */
const cpuNow = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/**
 * Epoch end times and the warm-up rule shared by every column (bench/pytorch_trainer.py has the
 * same): warm-up lasts until the end of the epoch that completes WARMUP_STEPS steps or
 * WARMUP_SECONDS, at least one epoch; then epochs are measured until the budget is spent.
 */
class EpochClock {
  /** Index 0: the start; index k: the end of epoch k. */
  readonly ends: number[] = [now()];
  /** The same in CPU time. */
  readonly cpuEnds: number[] = [cpuNow()];
  warmup: number | undefined;

  constructor(
    private readonly stepsPerEpoch: number,
    private readonly budgetSeconds: number,
  ) {}

  epochEnd(): void {
    const k = this.ends.push(now()) - 1;
    this.cpuEnds.push(cpuNow());
    const warm =
      k * this.stepsPerEpoch >= WARMUP_STEPS || this.ends[k] - this.ends[0] >= WARMUP_SECONDS * 1000;
    if (this.warmup === undefined && warm) this.warmup = k;
  }

  /** Whether epoch `epoch` (ending now) should be the last. */
  lastEpoch(epoch: number): boolean {
    return (
      this.warmup !== undefined && epoch > this.warmup && (now() - this.ends[0]) / 1000 > this.budgetSeconds
    );
  }

  /** Training samples per second (wall clock, or `cpu` time) over the measured epochs. */
  rate(perEpoch: number, cpu = false): number {
    const ends = cpu ? this.cpuEnds : this.ends;
    const warmup = this.warmup ?? ends.length - 1;
    const epochs = ends.length - 1 - warmup;
    return (perEpoch * epochs) / ((ends[ends.length - 1] - ends[warmup]) / 1000);
  }
}

async function measureTrain(job: WorkerJob, workload: Workload, data: PreparedData) {
  const outDir = await mkdtemp(join(tmpdir(), 'mlform-bench-train-'));
  const controller = new AbortController();
  let clock: EpochClock | undefined;
  /** Per epoch: the time of each step event; the epoch tail after its last step. */
  const stepTimes: number[][] = [];
  const tails: number[] = [];
  const onEvent = (event: ProgressEvent): void => {
    const t = now();
    if (event.type === 'start') clock = new EpochClock(event.stepsPerEpoch, job.budgetSeconds);
    if (!clock) return;
    const epochIndex = clock.ends.length - 1;
    if (event.type === 'step') {
      if (stepTimes.length <= epochIndex) stepTimes.push([]);
      stepTimes[epochIndex].push(t);
    }
    // Checked at the epoch event, before its checkpoint: the abort then ends the run right after
    // that checkpoint, so every measured epoch is complete.
    if (event.type === 'epoch' && clock.lastEpoch(event.epoch)) controller.abort();
    if (event.type === 'checkpoint') {
      tails.push(t - (stepTimes[epochIndex]?.at(-1) ?? t));
      clock.epochEnd();
    }
  };
  try {
    const result = await train({
      data,
      builtin: workload.builtin,
      outDir,
      onEvent,
      signal: controller.signal,
      stepInterval: 1,
    }).catch((e: unknown) => {
      if (e instanceof Error && e.name === 'AbortError') return undefined;
      throw e;
    });
    result?.model.dispose();
    if (!clock) throw new Error('train() emitted no start event');
    const warmup = clock.warmup ?? clock.ends.length - 1;
    // Per-step time inside the measured epochs, from the first to the last step event of each.
    let stepMs = 0;
    let steps = 0;
    for (const times of stepTimes.slice(warmup)) {
      stepMs += times[times.length - 1] - times[0];
      steps += times.length - 1;
    }
    return {
      samplesPerSecond: clock.rate(data.train.count),
      cpuSamplesPerSecond: clock.rate(data.train.count, true),
      epochs: clock.ends.length - 1,
      warmupEpochs: warmup,
      stepSamplesPerSecond: (steps * workload.builtin.hyperparameters.batchSize) / (stepMs / 1000),
      tailMs: tails.slice(warmup).reduce((a, b) => a + b, 0) / Math.max(1, tails.length - warmup),
      firstEpochMs: clock.ends[1] - clock.ends[0],
      firstEpochCpuMs: clock.cpuEnds[1] - clock.cpuEnds[0],
      stepKind: result?.stepKind ?? stepKindOf(workload),
    };
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
}

/** train() reports its step kind only when it returns; an aborted run is named by its network. */
const stepKindOf = (workload: Workload): string =>
  workload.builtin.network.type === 'mlp'
    ? 'flat-mlp'
    : workload.builtin.network.type === 'lstm'
      ? 'fused-lstm'
      : 'layers';

async function measureFit(job: WorkerJob, workload: Workload, data: PreparedData) {
  const { builtin } = workload;
  const hp = builtin.hyperparameters;
  const model = buildNetwork({
    network: builtin.network,
    inputShape: data.preprocess.inputShape,
    targetSize: data.targetSize,
    task: data.task,
    seed: builtin.seed,
  });
  model.compile({ optimizer: tf.train.adam(hp.learningRate), loss: 'meanSquaredError', metrics: ['mae'] });
  const shape = data.preprocess.inputShape;
  const x = tf.tensor(data.train.x, [data.train.count, ...shape]);
  const y = tf.tensor2d(data.train.y, [data.train.count, data.targetSize]);
  const xv = tf.tensor(data.validation.x, [data.validation.count, ...shape]);
  const yv = tf.tensor2d(data.validation.y, [data.validation.count, data.targetSize]);
  const clock = new EpochClock(Math.ceil(data.train.count / hp.batchSize), job.budgetSeconds);
  await model.fit(x, y, {
    batchSize: hp.batchSize,
    epochs: job.maxEpochs,
    shuffle: true,
    validationData: [xv, yv],
    verbose: 0,
    callbacks: {
      onEpochEnd: async (epoch) => {
        clock.epochEnd();
        // fit numbers epochs from 0.
        if (clock.lastEpoch(epoch + 1)) model.stopTraining = true;
      },
    },
  });
  tf.dispose([x, y, xv, yv]);
  model.dispose();
  return {
    samplesPerSecond: clock.rate(data.train.count),
    cpuSamplesPerSecond: clock.rate(data.train.count, true),
    epochs: clock.ends.length - 1,
    warmupEpochs: clock.warmup ?? clock.ends.length - 1,
  };
}

/**
 * Waits (at most 3 s) until this process is idle: after selectBackend, V8 keeps compiling the wasm
 * backend's module in background threads, and process CPU time counts them. Measured without the
 * wait, the same cache hit read anywhere from 2 to 25 ms of CPU; the pipeline is timed after it.
 */
async function settle(): Promise<void> {
  const deadline = now() + 3000;
  while (now() < deadline) {
    const [wall, cpu] = [now(), cpuNow()];
    await new Promise((resolve) => setTimeout(resolve, 25));
    if (cpuNow() - cpu < 0.1 * (now() - wall)) return;
  }
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as WorkerJob;
  const info = await selectBackend({ acceleratorRequested: false, env: { MLFORM_BACKEND: job.backend } });
  const workload = workloadsIn(job.dir, job.sizes, job.maxEpochs)[job.workload];
  // As `mlform train` and tuning workers do: the version is known before the data is read.
  const mlformVersion = packageVersion();
  await settle();
  const start = now();
  const startCpu = cpuNow();
  const { data, cached } = await loadPrepared(workload.builtin, {
    baseDir: workload.baseDir,
    cacheDir: job.cacheDir,
    mlformVersion,
  });
  const pipelineMs = now() - start;
  const pipelineCpuMs = cpuNow() - startCpu;
  if (job.mode === 'pipeline') {
    const result: PipelineResult = {
      mode: 'pipeline',
      trainCount: data.train.count,
      pipelineMs,
      pipelineCpuMs,
      pipelineCached: cached,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const measured =
    job.mode === 'fit' ? await measureFit(job, workload, data) : await measureTrain(job, workload, data);
  const result: WorkerResult = {
    backend: info.backend,
    mode: job.mode,
    trainCount: data.train.count,
    pipelineMs,
    pipelineCpuMs,
    pipelineCached: cached,
    ...measured,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
