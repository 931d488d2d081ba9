/**
 * Training throughput of mlform's trainer against PyTorch on the CPU, in one run: the same
 * networks, data (the arrays mlform's pipeline prepares), batch size (32), optimizer (Adam 1e-3)
 * and thread count (1: the wasm backend runs single-threaded in Node, so PyTorch gets
 * torch.set_num_threads(1)). For each tfjs backend present, `model.fit` and mlform's `train()`
 * (seeded shuffle, per-step loss read-back, validation, gradient-norm probe and a checkpoint every
 * epoch), and the data pipeline (loadPrepared: cold, and a cache hit) as a share of one epoch.
 *
 *   npm run bench -- trainer       (once bench/run.ts registers runTrainerBench)
 *   npx tsx bench/trainer.ts
 *
 * Not part of CI. The PyTorch column needs Debian's python3-torch, importable from
 * /usr/bin/python3 (BENCH_PYTHON overrides); without it the column says why and the rest runs.
 * Takes ~5 minutes on 2 cores. Knobs (environment), with their defaults:
 * - BENCH_TRAINER_WORKLOADS=cars-mlp,synthetic-mlp,sequence-lstm
 * - BENCH_TRAINER_BACKENDS=wasm,cpu (tensorflow first when tfjs-node is installed)
 * - BENCH_TRAINER_SECONDS=8: per measurement, no epoch starts after it once warm-up and one
 *   measured epoch have run; BENCH_TRAINER_EPOCHS=100 at most
 * - BENCH_TRAINER_ROWS=100000 rows of the synthetic MLP table, BENCH_TRAINER_SERIES=4000 hours
 * - BENCH_TRAINER_CPU_ROWS=10000, BENCH_TRAINER_CPU_SERIES=1000: the same tables, shorter, for the
 *   plain-JS cpu backend (~1k MLP samples/s: 100k rows would take over a minute an epoch)
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPrepared } from '../trainer/data/load-prepared.js';
import { writeBenchmarkSection } from './benchmarks-file.js';
import type { PipelineResult, WorkerJob, WorkerResult } from './trainer-worker.js';
import {
  BATCH_SIZE,
  WARMUP_SECONDS,
  WARMUP_STEPS,
  WORKLOAD_NAMES,
  workloadsIn,
  writeSyntheticTables,
  type Workload,
  type WorkloadName,
  type WorkloadSizes,
} from './trainer-workloads.js';

const env = process.env;
const list = (value: string | undefined): string[] | undefined =>
  value
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
const BUDGET_SECONDS = Number(env.BENCH_TRAINER_SECONDS ?? 8);
const MAX_EPOCHS = Number(env.BENCH_TRAINER_EPOCHS ?? 100);
const SIZES: WorkloadSizes = {
  syntheticRows: Number(env.BENCH_TRAINER_ROWS ?? 100_000),
  sequenceRows: Number(env.BENCH_TRAINER_SERIES ?? 4_000),
};
const CPU_SIZES: WorkloadSizes = {
  syntheticRows: Math.min(SIZES.syntheticRows, Number(env.BENCH_TRAINER_CPU_ROWS ?? 10_000)),
  sequenceRows: Math.min(SIZES.sequenceRows, Number(env.BENCH_TRAINER_CPU_SERIES ?? 1_000)),
};
const PYTHON = env.BENCH_PYTHON ?? '/usr/bin/python3';
const THREADS = 1;
/** The issue's goals: train() / PyTorch samples per second. */
const GOALS: Record<WorkloadName, number> = { 'cars-mlp': 0.8, 'synthetic-mlp': 0.8, 'sequence-lstm': 0.5 };
const WORKER = join(import.meta.dirname, 'trainer-worker.ts');
const PYTORCH = join(import.meta.dirname, 'pytorch_trainer.py');

interface TorchResult {
  samplesPerSecond: number;
  cpuSamplesPerSecond: number;
  stepSamplesPerSecond: number;
  epochs: number;
  threads: number;
  version: string;
}

/** tfjs backends present: wasm and cpu ship with mlform; tensorflow only if tfjs-node is installed. */
function backendsPresent(): string[] {
  const wanted = list(env.BENCH_TRAINER_BACKENDS);
  if (wanted) return wanted;
  const resolve = createRequire(import.meta.url).resolve;
  const native = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'].some((pkg) => {
    try {
      resolve(pkg);
      return true;
    } catch {
      return false;
    }
  });
  return native ? ['tensorflow', 'wasm', 'cpu'] : ['wasm', 'cpu'];
}

function runWorker<Result = WorkerResult>(job: WorkerJob): Result | string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(job)], {
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) {
    return `failed: ${(r.stderr.trim().split('\n').at(-1) ?? `exit ${r.status}`).slice(0, 120)}`;
  }
  return JSON.parse(line) as Result;
}

/** The prepared splits as float32 files, so PyTorch trains on exactly mlform's arrays. */
async function runPytorch(workload: Workload, dir: string): Promise<TorchResult | string> {
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    return `skipped: torch is not importable from ${PYTHON} (apt-get install python3-torch)`;
  }
  const { data } = await loadPrepared(workload.builtin, { baseDir: workload.baseDir });
  const file = (name: string) => join(dir, `${workload.name}.${name}.f32`);
  const arrays = {
    trainX: data.train.x,
    trainY: data.train.y,
    validationX: data.validation.x,
    validationY: data.validation.y,
  };
  for (const [name, values] of Object.entries(arrays)) {
    await writeFile(file(name), new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  const job = {
    ...Object.fromEntries(Object.keys(arrays).map((name) => [name, file(name)])),
    inputShape: data.preprocess.inputShape,
    trainCount: data.train.count,
    validationCount: data.validation.count,
    arch: workload.torch,
    batchSize: BATCH_SIZE,
    learningRate: workload.builtin.hyperparameters.learningRate,
    threads: THREADS,
    seed: workload.builtin.seed,
    maxEpochs: MAX_EPOCHS,
    budgetSeconds: BUDGET_SECONDS,
    warmupSteps: WARMUP_STEPS,
    warmupSeconds: WARMUP_SECONDS,
  };
  const jobFile = join(dir, `${workload.name}.job.json`);
  await writeFile(jobFile, JSON.stringify(job));
  // OMP/MKL variables too: set_num_threads governs intra-op threads, these the libraries' own pools.
  const r = spawnSync(PYTHON, [PYTORCH, jobFile], {
    encoding: 'utf8',
    env: { ...env, OMP_NUM_THREADS: String(THREADS), MKL_NUM_THREADS: String(THREADS) },
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) return `failed: ${r.stderr.trim().split('\n').at(-1) ?? ''}`;
  return JSON.parse(line) as TorchResult;
}

const rate = (value: number | undefined): string =>
  value === undefined || !Number.isFinite(value) ? '—' : Math.round(value).toLocaleString('en');
const ratio = (a: number | undefined, b: number | undefined): string =>
  a === undefined || b === undefined ? '—' : `${(a / b).toFixed(2)}x`;
const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/**
 * The pipeline on a cache hit in a fresh process: one worker process fills the cache (a miss, as
 * the first trial or training on new data), the next one reads it (what every later trial sees).
 */
/** Fresh processes per pipeline figure: one process's first call varies by a third from run to run. */
const PIPELINE_RUNS = 5;

type PipelineFigures = Pick<PipelineResult, 'pipelineMs' | 'pipelineCpuMs'>;

/**
 * The median wall and CPU times of `runs` fresh processes timing the pipeline alone; `jobOf(i)`
 * is run i's job, and `hit` whether each must be answered by the cache.
 */
function pipelineMedian(
  jobOf: (run: number) => WorkerJob,
  hit: boolean,
  runs = PIPELINE_RUNS,
): PipelineFigures | string {
  const results: PipelineResult[] = [];
  for (let i = 0; i < runs; i++) {
    const r = runWorker<PipelineResult>(jobOf(i));
    if (typeof r === 'string') return r;
    if (r.pipelineCached !== hit) return `process ${i + 1} ${r.pipelineCached ? 'hit' : 'missed'} the cache`;
    results.push(r);
  }
  const median = (values: number[]): number => values.sort((a, b) => a - b)[values.length >> 1];
  return {
    pipelineMs: median(results.map((r) => r.pipelineMs)),
    pipelineCpuMs: median(results.map((r) => r.pipelineCpuMs)),
  };
}

/** The pipeline on a cache hit: an earlier process fills the cache, then PIPELINE_RUNS processes hit it. */
function cachedPipeline(job: WorkerJob): PipelineFigures | string {
  const fill = runWorker<PipelineResult>(job);
  if (typeof fill === 'string') return fill;
  return pipelineMedian(() => job, true);
}

type PipelineCase = 'cold' | 'miss' | 'cached';

/**
 * One row of the pipeline table: the pipeline's time as a share of the steady train() epoch, wall
 * and CPU, and as a share of the first epoch of a fresh process (CPU), where the training's code
 * runs for the first time as the pipeline's does.
 */
function pipelineRow(
  title: string,
  kind: PipelineCase,
  pipeline: PipelineFigures,
  epoch: WorkerResult,
): string {
  const epochMs = (epoch.trainCount / epoch.samplesPerSecond) * 1000;
  const epochCpuMs = (epoch.trainCount / epoch.cpuSamplesPerSecond) * 1000;
  const ms = (value: number): string => `${value.toFixed(value < 10 ? 1 : 0)} ms`;
  const share = (part: number, whole: number): string =>
    `${((part / whole) * 100).toFixed(part < whole / 10 ? 1 : 0)}%`;
  const first = epoch.firstEpochCpuMs;
  return (
    `| ${title} | ${kind} | ${ms(pipeline.pipelineMs)} | ${ms(epochMs)} | ` +
    `${share(pipeline.pipelineMs, epochMs)} | ${ms(pipeline.pipelineCpuMs)} | ` +
    `${ms(epochCpuMs)} | **${share(pipeline.pipelineCpuMs, epochCpuMs)}** | ` +
    `${first === undefined ? '—' : `${ms(first)} | ${share(pipeline.pipelineCpuMs, first)}`} | < 10% |`
  );
}

export async function runTrainerBench(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mlform-bench-trainer-'));
  const loadBefore = load();
  const started = performance.now();
  try {
    await writeSyntheticTables(dir, [SIZES, CPU_SIZES]);
    const workloads = workloadsIn(dir, SIZES, MAX_EPOCHS);
    const names = (list(env.BENCH_TRAINER_WORKLOADS) ?? [...WORKLOAD_NAMES]) as WorkloadName[];
    const backends = backendsPresent();
    const rows: string[] = [];
    const pipelineRows: string[] = [];
    const notes: string[] = [];
    let torchVersion = '';

    for (const name of names) {
      const workload = workloads[name];
      if (!workload) throw new Error(`unknown workload "${name}"; known: ${WORKLOAD_NAMES.join(', ')}`);
      // PyTorch first, then each backend: neighbours in time share the machine's load.
      const torch = await runPytorch(workload, dir);
      if (typeof torch === 'string') notes.push(`${name}: PyTorch ${torch}`);
      else torchVersion = torch.version;
      const torchRate = typeof torch === 'string' ? undefined : torch.samplesPerSecond;
      const torchCpuRate = typeof torch === 'string' ? undefined : torch.cpuSamplesPerSecond;
      for (const backend of backends) {
        const sizes = backend === 'cpu' ? CPU_SIZES : SIZES;
        const job = {
          workload: name,
          backend,
          dir,
          sizes,
          maxEpochs: MAX_EPOCHS,
          budgetSeconds: BUDGET_SECONDS,
        };
        const fit = runWorker({ ...job, mode: 'fit' });
        const own = runWorker({ ...job, mode: 'train' });
        for (const [mode, r] of [
          ['model.fit', fit],
          ['train()', own],
        ] as const) {
          if (typeof r === 'string') notes.push(`${name} on ${backend}, ${mode}: ${r}`);
        }
        const fitRate = typeof fit === 'string' ? undefined : fit.samplesPerSecond;
        const ownResult = typeof own === 'string' ? undefined : own;
        const count = ownResult?.trainCount ?? (typeof fit === 'string' ? undefined : fit.trainCount);
        const title = workloadsIn(dir, sizes, MAX_EPOCHS)[name].title;
        rows.push(
          `| ${title} (${count?.toLocaleString('en') ?? '?'} train rows) | ${backend} | ${rate(fitRate)} | ` +
            `${rate(ownResult?.samplesPerSecond)} | ${rate(ownResult?.stepSamplesPerSecond)} | ` +
            `${ownResult?.tailMs?.toFixed(0) ?? '—'} ms | ${rate(torchRate)} | ${ratio(fitRate, torchRate)} | ` +
            `**${ratio(ownResult?.samplesPerSecond, torchRate)}** | ${ratio(ownResult?.cpuSamplesPerSecond, torchCpuRate)} | ` +
            `≥ ${GOALS[name].toFixed(1)}x |`,
        );
        if (ownResult && backend === 'wasm') {
          const pipelineJob: WorkerJob = { ...job, mode: 'pipeline' };
          const cases: [PipelineCase, PipelineFigures | string][] = [
            ['cold', pipelineMedian(() => pipelineJob, false)],
            // Each run its own empty folder: the first training on new data under the local provider.
            [
              'miss',
              pipelineMedian((i) => ({ ...pipelineJob, cacheDir: join(dir, `miss-${name}-${i}`) }), false),
            ],
            ['cached', cachedPipeline({ ...pipelineJob, cacheDir: join(dir, `cache-${name}`) })],
          ];
          for (const [kind, figures] of cases) {
            if (typeof figures === 'string') notes.push(`${name}, ${kind} pipeline: ${figures}`);
            else pipelineRows.push(pipelineRow(workload.title, kind, figures, ownResult));
          }
        }
        if (ownResult?.stepKind)
          notes.push(`${name} on ${backend}: train() used the \`${ownResult.stepKind}\` step`);
      }
      if (typeof torch !== 'string') {
        notes.push(
          `${name}: PyTorch step loop alone ${rate(torch.stepSamplesPerSecond)} samples/s (${torch.threads} thread)`,
        );
      }
    }

    const minutes = ((performance.now() - started) / 60_000).toFixed(1);
    return [
      `Samples per second over the measured epochs, validation included. Warm-up, the same for every column: ` +
        `epochs until ${WARMUP_STEPS} steps or ${WARMUP_SECONDS} s have run, at least one. Batch ${BATCH_SIZE}, ` +
        `Adam 1e-3, ${THREADS} thread everywhere (torch.set_num_threads(${THREADS}); wasm in Node is single-threaded; ` +
        `the cpu backend is plain JS). PyTorch ${torchVersion || '(absent)'} trains the same arrays mlform prepared.`,
      '',
      '| workload | tfjs backend | `model.fit` | mlform `train()` | `train()` step loop | `train()` epoch tail | PyTorch CPU | fit ÷ PyTorch | train() ÷ PyTorch | same, per CPU second | goal |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...rows,
      '',
      'Epoch tail: after the last step, validation + gradient-norm probe + checkpoint write, once per epoch. ' +
        "Per CPU second: both sides' samples per second of their own process CPU time, which other jobs on the " +
        'machine do not inflate; on a loaded machine it is the steadier ratio.',
      '',
      '| data pipeline (`loadPrepared`) | case | pipeline | one `train()` epoch (wasm) | share | pipeline, CPU time | epoch, CPU time | share, CPU time | first epoch of a fresh process, CPU time | share of it | goal |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...pipelineRows,
      '',
      'The pipeline is `loadPrepared` (trainer/data/load-prepared.ts): read and sha256 the bytes, then the ' +
        'prepared-data cache or parse + prepareData, the first call of a fresh worker process; each figure is the ' +
        `median of ${PIPELINE_RUNS} processes. Cold: no data cache (MLFORM_DATA_CACHE unset), the first training on new ` +
        'data. Miss: an empty cache folder, the first training on new data under the local provider (which sets one): ' +
        'the fingerprint, the parse and preparation, and writing the entry. Cached: a hit on an entry an earlier process wrote, what every tuning trial after the first and every ' +
        'retrain on unchanged data sees; nothing is parsed. The epoch is the steady train() epoch above; the first ' +
        "epoch of a fresh process is the same run's first, where the training code runs for the first time as the " +
        "pipeline's does. The CPU-time share is the one to read on a loaded machine: wall times there include " +
        'waiting for a core.',
      '',
      `Load average (1, 5, 15 min) before: ${loadBefore}; after: ${load()}. Run time ${minutes} min.`,
      '',
      ...notes.map((n) => `- ${n}`),
    ].join('\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === import.meta.filename) {
  const table = await runTrainerBench();
  console.log(table);
  await writeBenchmarkSection('trainer', 'Trainer throughput vs PyTorch', 'npm run bench -- trainer', table);
}
