/**
 * The contract between the trainer's parts: data preparation (trainer/data/) produces a
 * PreparedData; the training loop (trainer/training/) consumes it; serving (later) uses the
 * serialised Preprocess to turn raw requests into tensors and outputs into decoded predictions.
 */
import type { ColumnType, Task } from '../resources/training-run.js';

export type { ColumnType, Task };

/** A dense float matrix in row-major order: `count` samples of `shape` each. */
export interface Samples {
  /** Flattened inputs: count * product(inputShape) values. */
  x: Float32Array;
  /** Flattened targets: count * targetSize values (scaled target, or one-hot labels). */
  y: Float32Array;
  count: number;
}

/** Per-feature encoding, fitted on the training split only. Serialised into preprocess.json. */
export type FeatureEncoding =
  | { name: string; type: 'numeric'; mean: number; std: number; fill: number }
  | { name: string; type: 'boolean'; fill: number }
  | { name: string; type: 'date'; mean: number; std: number; fill: number }
  | { name: string; type: 'categorical'; vocabulary: string[]; hashBuckets?: number };

export type TargetEncoding =
  | { type: 'numeric'; name: string; mean: number; std: number }
  | { type: 'label'; name: string; labels: string[] };

/** The content of preprocess.json. */
export interface Preprocess {
  formatVersion: 1;
  task: Task;
  features: FeatureEncoding[];
  target: TargetEncoding;
  /** Width of one encoded row (one-hot expanded). */
  encodedWidth: number;
  /** [encodedWidth] for tabular tasks, [window.size, encodedWidth] for forecasting. */
  inputShape: number[];
  window?: { size: number; horizon: number; timeColumn: string };
}

export interface PreparedData {
  task: Task;
  preprocess: Preprocess;
  train: Samples;
  validation: Samples;
  /** 1 for regression and forecasting, number of classes for classification. */
  targetSize: number;
  /** sha256 of the raw data bytes, recorded in run.json and on registry versions. */
  fingerprint: string;
  /** Column types as inferred (after overrides), for run.json and the TensorBoard config table. */
  columnTypes: Record<string, ColumnType>;
  rows: { total: number; train: number; validation: number; dropped: number };
}

/** One line of the progress stream (JSON lines on stdout of `mlform train`). */
export type ProgressEvent =
  | { type: 'start'; epochs: number; stepsPerEpoch: number; backend: string; resumedFromEpoch?: number }
  | { type: 'step'; epoch: number; step: number; loss: number }
  | {
      type: 'epoch';
      epoch: number;
      epochs: number;
      loss: number;
      metrics: Record<string, number>;
      etaSeconds: number;
      elapsedSeconds: number;
    }
  | { type: 'checkpoint'; epoch: number }
  | { type: 'early-stop'; epoch: number; bestEpoch: number }
  | { type: 'trial'; trial: number; trials: number; params: Record<string, unknown>; metric?: number; state: string }
  | { type: 'done'; metrics: Record<string, number>; seconds: number }
  | { type: 'error'; message: string };
