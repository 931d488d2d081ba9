/**
 * The preprocessing description of an artifact (preprocess.json): how raw feature values become
 * the model's input row and how its output becomes a prediction. Written by the builtin trainer,
 * optionally by any other trainer (docs/artifact.md), read by the model server.
 */
import type { ColumnType, Task } from '../../resources/training-run.js';

export type { ColumnType, Task };

/**
 * Per-feature encoding, fitted on the training split only. Serialised into preprocess.json.
 * Numeric and date values are filled with `fill` (train median, raw units) when missing, then
 * encoded as (x - mean) / std. With `relative` (forecasting, see trainer/data/windows.ts) they are
 * encoded as (x - x at the window's last row) / std instead, `std` being the train RMS of those
 * within-window changes; `mean` is then informational. Dates are epoch days.
 * Categorical: one-hot over `vocabulary` (`<missing>` is a category when the train split had
 * missing values); a value not in the vocabulary encodes as all zeros. With `hashBuckets`, the
 * column had too many values: one-hot over fnv1a(value) % hashBuckets, and `vocabulary` is empty.
 */
export type FeatureEncoding =
  | { name: string; type: 'numeric'; mean: number; std: number; fill: number; relative?: boolean }
  | { name: string; type: 'boolean'; fill: number }
  | { name: string; type: 'date'; mean: number; std: number; fill: number; relative?: boolean }
  | { name: string; type: 'categorical'; vocabulary: string[]; hashBuckets?: number };

/**
 * `numeric`: the network predicts (y - mean) / std. With `mode: 'delta'` (forecasting) it predicts
 * the change from the window's last observed value instead, y = anchor + mean + std * output.
 * `label`: one output per label (softmax), labels sorted.
 */
export type TargetEncoding =
  | { type: 'numeric'; name: string; mean: number; std: number; mode?: 'absolute' | 'delta' }
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
