/**
 * The target column: reading it from the table, its encoding (scaling or label vocabulary), and
 * decoding network outputs back to original units. Metrics and serving decode through here too.
 */
import type { ColumnType, TargetEncoding } from './types.js';
import type { ProblemList } from './data-error.js';
import { DataError } from './data-error.js';
import { ValueError, isMissing, parseNumeric } from './values.js';

/** Target values as numbers, NaN where missing (those rows are dropped). */
export function numericTargets(
  rows: readonly Record<string, unknown>[],
  column: string,
  type: ColumnType,
  task: string,
  problems: ProblemList,
): Float64Array {
  if (type !== 'numeric') {
    throw new DataError(
      `target "${column}" is ${type}, but task "${task}" predicts a number` +
        (type === 'categorical' || type === 'boolean' ? '; use task: classification to predict a label' : ''),
    );
  }
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const value = parseNumeric(rows[i][column], 'table');
    if (value instanceof ValueError) {
      problems.add(column, i, value.message);
      out[i] = NaN;
    } else out[i] = value;
  }
  return out;
}

/**
 * Target labels as strings, null where missing. Numbers and booleans become their String() form,
 * so a 0/1 or 1/2/3 class column works as labels without an override.
 */
export function labelTargets(
  rows: readonly Record<string, unknown>[],
  column: string,
  problems: ProblemList,
): (string | null)[] {
  return rows.map((row, i) => {
    const value = row[column];
    if (isMissing(value)) return null;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      return String(value);
    problems.add(
      column,
      i,
      `a label must be a string, number or boolean, got ${Array.isArray(value) ? 'an array' : 'an object'}`,
    );
    return null;
  });
}

/** Network output (one value) -> original units. `anchor` is required for delta targets. */
export function decodeNumber(
  target: Extract<TargetEncoding, { type: 'numeric' }>,
  output: number,
  anchor?: number,
): number {
  const value = target.mean + target.std * output;
  if (target.mode !== 'delta') return value;
  if (anchor === undefined)
    throw new Error(`target "${target.name}" is a delta: decoding needs the window's last value`);
  return anchor + value;
}

/** Index of the largest of `size` values at `offset`; ties go to the first (the lower label). */
export function argmax(values: ArrayLike<number>, offset: number, size: number): number {
  let best = 0;
  for (let k = 1; k < size; k++) if (values[offset + k] > values[offset + best]) best = k;
  return best;
}
