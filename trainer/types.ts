/**
 * The contract between the trainer's parts: data preparation (trainer/data/) produces a
 * PreparedData; the training loop (trainer/training/) consumes it; serving (later) uses the
 * serialised Preprocess to turn raw requests into tensors and outputs into decoded predictions.
 */
import type { ColumnType, Task } from '../resources/training-run.js';

export type { ColumnType, Task };
export type { FeatureEncoding, Preprocess, TargetEncoding } from '../artifact/preprocess/types.js';
import type { Preprocess } from '../artifact/preprocess/types.js';
import type { Season } from './metrics/season.js';

/** A dense float matrix in row-major order: `count` samples of `shape` each. */
export interface Samples {
  /** Flattened inputs: count * product(inputShape) values. */
  x: Float32Array;
  /** Flattened targets: count * targetSize values (scaled target, or one-hot labels). */
  y: Float32Array;
  count: number;
  /**
   * Forecasting only: the last observed target value of each sample's window, in original units.
   * Delta targets are decoded relative to it, and it is the persistence baseline's forecast.
   */
  anchor?: Float64Array;
  /** Index in the loaded table of each sample's row (forecasting: of the row whose value is the target). */
  rowIndex?: Int32Array;
  /**
   * Forecasting with a season: the seasonal-naive forecast of each sample in original units (the
   * target's value at the same point of the last observed cycle); NaN where the series is too short.
   */
  seasonal?: Float64Array;
}

/** Forecasting: the series' season and MASE's in-sample scale (trainer/metrics/season.ts). */
export interface ForecastSeries {
  season: Season;
  /** In-sample MAE of the naive forecast with lag `scaleLag` on the training rows; NaN when undefined. */
  scale: number;
  /** The season, or 1 without one. */
  scaleLag: number;
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
  /** Forecasting only. */
  forecast?: ForecastSeries;
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
  | {
      type: 'trial';
      trial: number;
      trials: number;
      params: Record<string, unknown>;
      metric?: number;
      /** started | resumed | finished | pruned | failed | best. */
      state: string;
      /** pruned: the pruner's reason; failed: the error. */
      reason?: string;
    }
  | { type: 'done'; metrics: Record<string, number>; seconds: number }
  | { type: 'error'; message: string };
