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
import { booleanWord, dateTextToDays, isMissing, isNumericText } from '../../artifact/preprocess/values.js';

const NUMERIC = 1;
const BOOLEAN = 2;
const DATE = 4;

/** The type of one column's values. Stops reading as soon as only `categorical` is left. */
export function inferColumnType(rows: readonly Record<string, unknown>[], column: string): ColumnType {
  let candidates = NUMERIC | BOOLEAN | DATE;
  for (let i = 0; i < rows.length && candidates !== 0; i++) {
    const value = rows[i][column];
    if (isMissing(value)) continue;
    candidates &= typesOf(value);
  }
  if (candidates & NUMERIC) return 'numeric';
  if (candidates & BOOLEAN) return 'boolean';
  if (candidates & DATE) return 'date';
  return 'categorical';
}

function typesOf(value: unknown): number {
  switch (typeof value) {
    case 'number':
      return NUMERIC;
    case 'boolean':
      return BOOLEAN;
    case 'string':
      if (isNumericText(value)) return NUMERIC;
      if (booleanWord(value) !== undefined) return BOOLEAN;
      return dateTextToDays(value) === undefined ? 0 : DATE;
    default:
      return 0;
  }
}

/** Types of all columns, `overrides` (data.types) winning. Unknown override names are an error. */
export function inferColumnTypes(
  rows: readonly Record<string, unknown>[],
  columns: readonly string[],
  overrides: Readonly<Record<string, ColumnType>> = {},
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
  for (const column of columns) types[column] = overrides[column] ?? inferColumnType(rows, column);
  return types;
}
