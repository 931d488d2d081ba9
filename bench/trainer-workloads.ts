/**
 * The three trainings of the trainer benchmark (bench/trainer.ts), as TrainingRun trainer specs
 * read through the real data pipeline, and the synthetic tables two of them read.
 *
 * - cars-mlp: examples/data/cars.json (398 rows). Every column but the target is a feature; the
 *   car name, 300+ distinct values, is hashed into 23 one-hot buckets, which makes the encoded
 *   width 32 and the network the 32-128-128-1 MLP the issue measures.
 * - synthetic-mlp: 100,000 rows of 32 numeric features (CSV), the same network.
 * - sequence-lstm: an hourly multivariate series (CSV, 4,000 hours), windows of 24 steps of 8
 *   inputs (7 covariates and the target's own history), LSTM(32) then Dense(1). tfjs's LSTM gates
 *   with hardSigmoid, PyTorch's with sigmoid; the cost is the same.
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import type { BuiltinTrainer } from '../resources/training-run.js';
import { Rng } from '../trainer/training/rng.js';

export const WORKLOAD_NAMES = ['cars-mlp', 'synthetic-mlp', 'sequence-lstm'] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export interface Workload {
  name: WorkloadName;
  /** For the table. */
  title: string;
  builtin: BuiltinTrainer;
  /** Folder `file://` URIs resolve against. */
  baseDir: string;
  /** The same network for PyTorch (bench/pytorch_trainer.py). */
  torch: { kind: 'mlp'; hidden: number[] } | { kind: 'lstm'; units: number };
}

export const BATCH_SIZE = 32;
/**
 * Warm-up (JIT, wasm tier-up, allocator): epochs until WARMUP_STEPS steps or WARMUP_SECONDS have
 * run, at least one. On a 400-row table one epoch is 10 steps, far from steady state; on a slow
 * backend 200 steps could take minutes.
 */
export const WARMUP_STEPS = 200;
export const WARMUP_SECONDS = 2;
const LEARNING_RATE = 0.001;
const SEED = 42;
const EXAMPLES = join(import.meta.dirname, '..', 'examples', 'data');

export interface WorkloadSizes {
  /** Rows of the synthetic MLP table. */
  syntheticRows: number;
  /** Rows (hours) of the synthetic series. */
  sequenceRows: number;
}

const hyperparameters = (epochs: number): BuiltinTrainer['hyperparameters'] => ({
  epochs,
  batchSize: BATCH_SIZE,
  learningRate: LEARNING_RATE,
  optimizer: 'adam',
});

/** The workloads; `dir` holds the synthetic tables written by writeSyntheticTables. */
export function workloadsIn(
  dir: string,
  sizes: WorkloadSizes,
  epochs: number,
): Record<WorkloadName, Workload> {
  const mlp: BuiltinTrainer['network'] = { type: 'mlp', layers: [128, 128], activation: 'relu', dropout: 0 };
  return {
    'cars-mlp': {
      name: 'cars-mlp',
      title: 'MLP 32-128-128-1, cars.json',
      baseDir: EXAMPLES,
      builtin: {
        task: 'regression',
        data: {
          uri: 'file://cars.json',
          target: 'Miles_per_Gallon',
          validationSplit: 0.2,
          maxCategories: 23,
        },
        network: mlp,
        hyperparameters: hyperparameters(epochs),
        seed: SEED,
      },
      torch: { kind: 'mlp', hidden: [128, 128] },
    },
    'synthetic-mlp': {
      name: 'synthetic-mlp',
      title: `MLP 32-128-128-1, ${sizes.syntheticRows.toLocaleString('en')}-row synthetic CSV`,
      baseDir: dir,
      builtin: {
        task: 'regression',
        data: {
          uri: `file://${syntheticFile(sizes.syntheticRows)}`,
          target: 'y',
          validationSplit: 0.2,
          maxCategories: 64,
        },
        network: mlp,
        hyperparameters: hyperparameters(epochs),
        seed: SEED,
      },
      torch: { kind: 'mlp', hidden: [128, 128] },
    },
    'sequence-lstm': {
      name: 'sequence-lstm',
      title: `LSTM 32 units × 24 steps × 8 inputs, ${sizes.sequenceRows.toLocaleString('en')}-hour synthetic series`,
      baseDir: dir,
      builtin: {
        task: 'forecasting',
        data: {
          uri: `file://${seriesFile(sizes.sequenceRows)}`,
          target: 'load',
          validationSplit: 0.2,
          maxCategories: 64,
          window: { size: 24, horizon: 1, timeColumn: 'hour' },
        },
        network: { type: 'lstm', layers: [32], activation: 'tanh', dropout: 0 },
        hyperparameters: hyperparameters(epochs),
        seed: SEED,
      },
      torch: { kind: 'lstm', units: 32 },
    },
  };
}

const syntheticFile = (rows: number): string => `synthetic-${rows}.csv`;
const seriesFile = (rows: number): string => `series-${rows}.csv`;

function normal(rng: Rng): number {
  const u = 1 - rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

async function writeCsv(path: string, header: string[], rows: number, row: (i: number) => number[]) {
  const out = createWriteStream(path);
  out.write(`${header.join(',')}\n`);
  for (let i = 0; i < rows; i++) {
    if (
      !out.write(
        `${row(i)
          .map((v) => v.toFixed(5))
          .join(',')}\n`,
      )
    )
      await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/**
 * Deterministic tables: the same bytes, hence the same data fingerprint, on every run. One table
 * per distinct size (slow backends train on smaller ones); a smaller table is the head of a larger.
 */
export async function writeSyntheticTables(dir: string, sizes: WorkloadSizes[]): Promise<void> {
  for (const rows of new Set(sizes.map((s) => s.syntheticRows))) await writeSyntheticMlp(dir, rows);
  for (const rows of new Set(sizes.map((s) => s.sequenceRows))) await writeSeries(dir, rows);
}

/** 32 standard-normal features; y is linear in them plus a nonlinear term and noise. */
async function writeSyntheticMlp(dir: string, rows: number): Promise<void> {
  const features = 32;
  const rng = new Rng(SEED);
  const weights = Array.from({ length: features }, () => normal(rng));
  await writeCsv(
    join(dir, syntheticFile(rows)),
    [...Array.from({ length: features }, (_, k) => `x${k}`), 'y'],
    rows,
    () => {
      const x = Array.from({ length: features }, () => normal(rng));
      const linear = x.reduce((sum, v, k) => sum + v * weights[k], 0) / Math.sqrt(features);
      return [...x, linear + 0.5 * Math.sin(2 * x[0]) + 0.1 * normal(rng)];
    },
  );
}

/** Hourly: daily and weekly cycles, weather-like covariates that drift, a load that follows them. */
async function writeSeries(dir: string, rows: number): Promise<void> {
  const rng = new Rng(SEED + 1);
  let temperature = 10;
  let humidity = 0.6;
  await writeCsv(
    join(dir, seriesFile(rows)),
    ['hour', 'hour_sin', 'hour_cos', 'week_sin', 'week_cos', 'temperature', 'humidity', 'wind', 'load'],
    rows,
    (h) => {
      const day = (2 * Math.PI * h) / 24;
      const week = (2 * Math.PI * h) / 168;
      temperature += 0.05 * (10 + 8 * Math.sin(day - 2) - temperature) + 0.3 * normal(rng);
      humidity = Math.min(1, Math.max(0, humidity + 0.02 * normal(rng)));
      const wind = Math.abs(3 + 2 * normal(rng));
      const load = 50 + 10 * Math.sin(day) + 5 * Math.sin(week) - 0.8 * temperature + 2 * normal(rng);
      return [
        h,
        Math.sin(day),
        Math.cos(day),
        Math.sin(week),
        Math.cos(week),
        temperature,
        humidity,
        wind,
        load,
      ];
    },
  );
}
