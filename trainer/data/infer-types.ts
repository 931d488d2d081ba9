/**
 * Column types from the values themselves, overridable per column by `data.types`.
 *
 * - numeric: every present value is a number or decimal text. A column of a few integer codes
 *   (Cylinders: 4, 6, 8) stays numeric; override it to `categorical` when the codes are names.
 * - boolean: JSON booleans or the words true/false/yes/no. 0/1 columns stay numeric.
 * - date: ISO-like date strings (2012-01-31, 2012-01-31T10:00Z).
 * - categorical: anything else, including a mix of the above.
 *
 * A column with no present value at all is numeric: it will encode as a constant.
 */
import { didYouMean } from '../../resources/suggest.js';
import { COLUMN_TYPES } from '../../resources/training-run.js';
import type { ColumnType } from '../types.js';
import { booleanWord, dateTextToDays, isMissing, numberFromText } from '../../artifact/preprocess/values.js';

const NUMERIC = 1;
const BOOLEAN = 2;
const DATE = 4;

/** The type of one column's values. Stops reading as soon as only `categorical` is left. */
export function inferColumnType(rows: readonly Record<string, unknown>[], column: string): ColumnType {
  return inferAndParse(rows, column, undefined);
}

/**
 * inferColumnType that also writes each value as a number into `out` (NaN = missing): the number
 * for a numeric value, the epoch days for a date text. When the column comes out numeric or date
 * and `parsedAsTyped` holds, `out` is what parsing it as that type gives (parsed-columns.ts), so
 * the cells need not be read a second time.
 */
function inferAndParse(
  rows: readonly Record<string, unknown>[],
  column: string,
  out: Float64Array | undefined,
): ColumnType {
  let candidates = NUMERIC | BOOLEAN | DATE;
  parsedAsTyped = true;
  for (let i = 0; i < rows.length && candidates !== 0; i++) {
    const value = rows[i][column];
    if (isMissing(value)) {
      if (out) out[i] = NaN;
      continue;
    }
    candidates &= typesOf(value);
    if (out) out[i] = lastNumber;
  }
  if (candidates & NUMERIC) return 'numeric';
  if (candidates & BOOLEAN) return 'boolean';
  if (candidates & DATE) return 'date';
  return 'categorical';
}

// typesOf's number for the value it classified (NaN when none), and whether every value of the
// column so far parses as its type the way parseNumber would (a non-finite JSON number does not).
let lastNumber = NaN;
let parsedAsTyped = true;

function typesOf(value: unknown): number {
  lastNumber = NaN;
  switch (typeof value) {
    case 'number':
      lastNumber = value;
      if (!Number.isFinite(value)) parsedAsTyped = false;
      return NUMERIC;
    case 'boolean':
      return BOOLEAN;
    case 'string': {
      const n = numberFromText(value);
      if (n === n) {
        lastNumber = n;
        return NUMERIC;
      }
      if (booleanWord(value) !== undefined) return BOOLEAN;
      const days = dateTextToDays(value);
      if (days === undefined) return 0;
      lastNumber = days;
      return DATE;
    }
    default:
      return 0;
  }
}

/**
 * Types of all columns, `overrides` (data.types) winning. Unknown override names are an error.
 * `parsed`: receives, for each inferred numeric or date column, its values as numbers (what
 * parsed-columns.ts would read them as), so they are not parsed again.
 */
export function inferColumnTypes(
  rows: readonly Record<string, unknown>[],
  columns: readonly string[],
  overrides: Readonly<Record<string, ColumnType>> = {},
  parsed?: Map<string, Float64Array>,
): Record<string, ColumnType> {
  const known = new Set(columns);
  for (const [column, type] of Object.entries(overrides)) {
    if (!known.has(column)) {
      const hint = didYouMean(column, columns);
      throw new Error(`data.types.${column}: the data has no column "${column}"${hint ? ` (${hint})` : ''}`);
    }
    if (!(COLUMN_TYPES as readonly string[]).includes(type)) {
      throw new Error(`data.types.${column}: "${type}" is not a column type (${COLUMN_TYPES.join(', ')})`);
    }
  }
  const types: Record<string, ColumnType> = {};
  for (const column of columns) {
    const override = overrides[column];
    if (override !== undefined) {
      types[column] = override;
      continue;
    }
    const out = parsed ? new Float64Array(rows.length) : undefined;
    const type = inferAndParse(rows, column, out);
    types[column] = type;
    if (out && parsedAsTyped && (type === 'numeric' || type === 'date')) parsed!.set(column, out);
  }
  return types;
}
