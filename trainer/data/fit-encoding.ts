/**
 * Fitting feature encodings. Only rows of the training split are ever passed in: statistics that
 * saw validation rows would leak them into the model and flatter its validation metrics.
 */
import type { ColumnType, FeatureEncoding } from '../types.js';
import { ProblemList } from '../../artifact/preprocess/data-error.js';
import {
  MISSING_CATEGORY,
  ValueError,
  parseCategory,
  parseNumber,
} from '../../artifact/preprocess/values.js';
import { medianOf } from './median.js';

export interface Summary {
  median: number;
  mean: number;
  std: number;
}

/**
 * Median of the present values, then mean and population std after filling missing values with
 * it (impute, then scale). An empty column gives {0, 0, 1}; a constant one gets std 1 so it
 * encodes as 0 instead of dividing by zero.
 */
export function summarize(values: Float64Array): Summary {
  return summarizeRows(values, null);
}

/**
 * summarize of `column[indices[i]]` (`indices` null: the column itself), read in place: a
 * training split's values are not gathered into an array of their own first. `scratch` (at least
 * as long) holds the copy the median reorders; one for all columns spares the allocations, which
 * on a 100,000-row table cost more in garbage collection than the arithmetic.
 */
export function summarizeRows(
  column: Float64Array,
  indices: Int32Array | null,
  scratch?: Float64Array,
): Summary {
  const n = indices === null ? column.length : indices.length;
  const present = scratch ?? new Float64Array(n);
  // The sum of the present values in order: with none missing it is the imputed sum, bit for bit
  // (the same additions in the same order).
  const { count, sum: presentSum } = gatherPresent(column, indices, n, present);
  if (count === 0) return { median: 0, mean: 0, std: 1 };
  if (count === n) {
    // Nothing to impute: the squares are summed over the gathered copy, in the same order as
    // imputedSquares would (the same bits), before the median reorders it.
    const mean = presentSum / n;
    const squares = squaresAbout(present, n, mean);
    const median = medianOf(present.subarray(0, n));
    return { median, mean, std: safeScale(Math.sqrt(squares / n), mean) };
  }
  const median = medianOf(present.subarray(0, count));
  const mean = imputedSum(column, indices, n, median) / n;
  const squares = imputedSquares(column, indices, n, median, mean);
  return { median, mean, std: safeScale(Math.sqrt(squares / n), mean) };
}

// One loop per function: see median.ts.

/** Copies the present values (not NaN) of the rows to `present`; their count and sum in order. */
function gatherPresent(
  column: Float64Array,
  indices: Int32Array | null,
  n: number,
  present: Float64Array,
): { count: number; sum: number } {
  let count = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = column[indices === null ? i : indices[i]];
    if (v === v) {
      present[count++] = v; // v !== v: NaN, missing
      sum += v;
    }
  }
  return { count, sum };
}

function squaresAbout(values: Float64Array, n: number, mean: number): number {
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i] - mean;
    squares += d * d;
  }
  return squares;
}

function imputedSum(column: Float64Array, indices: Int32Array | null, n: number, fill: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const v = column[indices === null ? i : indices[i]];
    sum += v === v ? v : fill;
  }
  return sum;
}

function imputedSquares(
  column: Float64Array,
  indices: Int32Array | null,
  n: number,
  fill: number,
  mean: number,
): number {
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const v = column[indices === null ? i : indices[i]];
    const d = (v === v ? v : fill) - mean;
    squares += d * d;
  }
  return squares;
}

/**
 * A scale to divide by: 1 when the spread is zero or lost in rounding (a constant column summed
 * in floating point leaves a std of ~1e-17, which would blow its rounding noise up to order 1).
 */
export function safeScale(std: number, level = 0): number {
  return Number.isFinite(std) && std > 1e-9 * Math.max(1, Math.abs(level)) ? std : 1;
}

/** Values of a numeric, boolean or date column as numbers (NaN = missing), for the given rows. */
export function numericColumn(
  rows: readonly Record<string, unknown>[],
  indices: ArrayLike<number>,
  column: string,
  type: Exclude<ColumnType, 'categorical'>,
  problems: ProblemList,
): Float64Array {
  const out = new Float64Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const value = parseNumber(type, rows[indices[i]][column], 'table');
    if (value instanceof ValueError) {
      problems.add(column, indices[i], value.message);
      out[i] = NaN;
    } else out[i] = value;
  }
  return out;
}

/** Vocabulary sorted by train frequency (most frequent first), ties by code-unit order of the name. */
export function rankCategories(counts: ReadonlyMap<string, number>): string[] {
  return [...counts.keys()].sort((a, b) => counts.get(b)! - counts.get(a)! || (a < b ? -1 : a > b ? 1 : 0));
}

export function fitCategorical(
  rows: readonly Record<string, unknown>[],
  indices: ArrayLike<number>,
  column: string,
  maxCategories: number,
  problems: ProblemList,
): Extract<FeatureEncoding, { type: 'categorical' }> {
  const counts = new Map<string, number>();
  for (let i = 0; i < indices.length; i++) {
    const category = parseCategory(rows[indices[i]][column], 'table');
    if (category instanceof ValueError) {
      problems.add(column, indices[i], category.message);
      continue;
    }
    const key = category ?? MISSING_CATEGORY;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  // Beyond maxCategories, a one-hot per value would be wide and mostly unseen at serving time;
  // hashing keeps the width fixed and maps any future value somewhere the network has trained.
  if (counts.size > maxCategories)
    return { name: column, type: 'categorical', vocabulary: [], hashBuckets: maxCategories };
  return { name: column, type: 'categorical', vocabulary: rankCategories(counts) };
}

/** Encoding of a non-categorical feature from its train values (NaN = missing). */
export function fitScalar(
  name: string,
  type: Exclude<ColumnType, 'categorical'>,
  values: Float64Array,
): FeatureEncoding {
  if (type === 'boolean') {
    // Fill with the most frequent value, so filled rows look like the typical training row.
    let ones = 0;
    let present = 0;
    for (const v of values) {
      if (Number.isNaN(v)) continue;
      present++;
      ones += v;
    }
    return { name, type, fill: ones * 2 > present ? 1 : 0 };
  }
  const { median, mean, std } = summarize(values);
  return { name, type, mean, std, fill: median };
}

/**
 * Fits each feature's encoding on the given (training) rows. `numeric`: numeric and date columns
 * already parsed as their type (parsed-columns.ts); a feature among them is read from there, its
 * rows never touched.
 */
export function fitFeatures(
  rows: readonly Record<string, unknown>[] | (() => readonly Record<string, unknown>[]),
  trainRows: ArrayLike<number>,
  columns: readonly string[],
  types: Readonly<Record<string, ColumnType>>,
  maxCategories: number,
  numeric?: ReadonlyMap<string, Float64Array>,
): FeatureEncoding[] {
  const problems = new ProblemList();
  // Rows read in increasing index order: scattered reads of 100k objects miss the cache. (The
  // splits come sorted: shuffleSplit puts each side back in table order.)
  const ordered = Int32Array.from(trainRows);
  if (!isSorted(ordered)) ordered.sort();
  const rowsOf = typeof rows === 'function' ? rows : () => rows;
  let scratch: Float64Array | undefined;
  const features = columns.map((column): FeatureEncoding => {
    const type = types[column];
    if (type === 'categorical') return fitCategorical(rowsOf(), ordered, column, maxCategories, problems);
    const parsed = type === 'numeric' || type === 'date' ? numeric?.get(column) : undefined;
    if (parsed) {
      scratch ??= new Float64Array(ordered.length);
      const { median, mean, std } = summarizeRows(parsed, ordered, scratch);
      return { name: column, type, mean, std, fill: median };
    }
    return fitScalar(column, type, numericColumn(rowsOf(), ordered, column, type, problems));
  });
  problems.throwIfAny('some feature values do not match their column type (set data.types to change a type)');
  return features;
}

function isSorted(values: Int32Array): boolean {
  for (let i = 1; i < values.length; i++) if (values[i - 1] > values[i]) return false;
  return true;
}
