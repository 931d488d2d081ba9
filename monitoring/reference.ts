/**
 * Building `statistics.json` (statistics.ts) from raw columns, as clients send them (before any
 * preprocessing): the trainer calls it on its training split and its predictions on the training and validation rows, and
 * the model server counts requests into the same bins with `binIndex` / `categorySlot`. Pure.
 */
import type { ColumnType } from '../resources/training-run.js';
import { parseCategory, parseNumber, ValueError } from '../artifact/preprocess/values.js';
import {
  STATISTICS_FORMAT_VERSION,
  type CategoricalStatistics,
  type FeatureStatistics,
  type NumericStatistics,
  type ReferenceStatistics,
} from './statistics.js';

/**
 * Most bins of a numeric feature: deciles, the usual choice for PSI. Edges are training quantiles
 * (about 10% of rows each). With a few hundred training rows, 20 bins make PSI noisy: two halves of
 * the US cars of cars.json scored up to 0.47 apart with 20 bins, 0.11 with 10.
 */
export const MAX_BINS = 10;
/** Most categories kept by name; the rest are counted in `other`. */
export const MAX_CATEGORIES = 100;

/**
 * Inner edges from the quantiles of `values` (no NaN): the value at rank floor(k·n/bins) for
 * k = 1..bins-1, deduplicated, so a column with few distinct values gets fewer bins. Bin i holds
 * [edges[i-1], edges[i]); the outer bins are open-ended.
 */
export function quantileEdges(values: Float64Array, bins = MAX_BINS): number[] {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  const edges: number[] = [];
  if (n === 0) return edges;
  for (let k = 1; k < bins; k++) {
    const edge = sorted[Math.floor((k * n) / bins)];
    if (edges.length === 0 || edge > edges[edges.length - 1]) edges.push(edge);
  }
  return edges;
}

/** The bin of `value` for these edges (binary search): 0..edges.length. */
export function binIndex(edges: readonly number[], value: number): number {
  let low = 0;
  let high = edges.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (value >= edges[mid]) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Statistics of a numeric column; NaN is missing. */
export function numericStatistics(values: Float64Array, bins = MAX_BINS): NumericStatistics {
  const present = values.filter((v) => !Number.isNaN(v));
  const edges = quantileEdges(present, bins);
  const counts = new Array<number>(edges.length + 1).fill(0);
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of present) {
    counts[binIndex(edges, v)]++;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  const count = present.length;
  const mean = count === 0 ? 0 : sum / count;
  let squares = 0;
  for (const v of present) squares += (v - mean) ** 2;
  return {
    type: 'numeric',
    count,
    missing: values.length - count,
    edges,
    counts,
    min: count === 0 ? 0 : min,
    max: count === 0 ? 0 : max,
    mean,
    std: count === 0 ? 0 : Math.sqrt(squares / count),
  };
}

/** Statistics of a categorical column; null is missing. The top `limit` values by count are named. */
export function categoricalStatistics(
  values: readonly (string | null)[],
  limit = MAX_CATEGORIES,
): CategoricalStatistics {
  const counts = new Map<string, number>();
  let missing = 0;
  for (const v of values) {
    if (v === null) missing++;
    else counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  // Most frequent first, ties by name, so the file is the same for the same data.
  const ranked = [...counts].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0));
  // fromEntries defines own properties: a value named `__proto__` stays a category.
  const categories = Object.fromEntries(ranked.slice(0, limit));
  const other = ranked.slice(limit).reduce((sum, [, n]) => sum + n, 0);
  return { type: 'categorical', count: values.length - missing, missing, categories, other };
}

/** Where a categorical value is counted: one of the reference's categories, `other`, or missing. */
export type CategorySlot = { category: string } | 'other' | 'missing';

/**
 * The slot of a raw value (as `parseCategory` reads it) in a categorical feature's reference:
 * its category when the reference names it (a category may itself be called "other"), else
 * `other`; `missing` for null.
 */
export function categorySlot(
  reference: Pick<CategoricalStatistics, 'categories'>,
  value: string | null,
): CategorySlot {
  if (value === null) return 'missing';
  return Object.hasOwn(reference.categories, value) ? { category: value } : 'other';
}

/** Column types that are binned as numbers (dates as days, booleans as 0/1); categorical is counted by value. */
export const isBinned = (type: ColumnType): type is Exclude<ColumnType, 'categorical'> =>
  type !== 'categorical';

/**
 * One raw column's statistics, read the way the trainer reads it (`table` mode: CSV numbers are
 * text). A value that does not parse counts as missing here; the trainer has rejected such data
 * before this is called.
 */
export function columnStatistics(
  rows: readonly Record<string, unknown>[],
  indices: ArrayLike<number>,
  column: string,
  type: ColumnType,
): FeatureStatistics {
  if (!isBinned(type)) {
    const values: (string | null)[] = [];
    for (let i = 0; i < indices.length; i++) {
      const v = parseCategory(rows[indices[i]][column], 'table');
      values.push(v instanceof ValueError ? null : v);
    }
    return categoricalStatistics(values);
  }
  const values = new Float64Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const v = parseNumber(type, rows[indices[i]][column], 'table');
    values[i] = v instanceof ValueError ? NaN : v;
  }
  return numericStatistics(values);
}

export interface ReferenceInput {
  rows: readonly Record<string, unknown>[];
  /** Rows the model was trained on (indices into `rows`). */
  train: ArrayLike<number>;
  /** Raw input features as clients send them, with their column types. */
  features: readonly { name: string; type: ColumnType }[];
  /** The model's validation outputs in original units: numbers, or predicted labels. */
  predictions?: Float64Array | readonly string[];
  /** Validation metrics, named as in metrics.json (`val_mae`, `val_accuracy`, ...). */
  validation?: Record<string, number>;
}

/** statistics.json's `features`: each raw input column's statistics on the training rows. */
export function referenceFeatures(
  rows: readonly Record<string, unknown>[],
  train: ArrayLike<number>,
  features: readonly { name: string; type: ColumnType }[],
): Record<string, FeatureStatistics> {
  // fromEntries: a column named `__proto__` is a feature like any other.
  return Object.fromEntries(
    features.map(({ name, type }) => [name, columnStatistics(rows, train, name, type)]),
  );
}

export function referenceStatistics(
  input: ReferenceInput,
  /** referenceFeatures of the input, computed earlier (the trainer's data cache keeps them). */
  precomputed?: Record<string, FeatureStatistics>,
): ReferenceStatistics {
  const features = precomputed ?? referenceFeatures(input.rows, input.train, input.features);
  const p = input.predictions;
  const prediction =
    p === undefined ? undefined : p instanceof Float64Array ? numericStatistics(p) : categoricalStatistics(p);
  const validation = input.validation
    ? Object.fromEntries(Object.entries(input.validation).filter(([, v]) => Number.isFinite(v)))
    : undefined;
  return {
    formatVersion: STATISTICS_FORMAT_VERSION,
    rows: input.train.length,
    features,
    ...(prediction && { prediction }),
    ...(validation && { validation }),
  };
}
