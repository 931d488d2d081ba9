/**
 * Numeric and date features as numbers, parsed once for fitting and encoding alike. The fast CSV
 * path has parsed its numeric columns already (Table.numeric); other tables (JSON, JSONL,
 * Parquet, quoted CSV) hold row objects, whose numeric and date cells were otherwise parsed once
 * to fit and again, row by row, to encode (three times for a date column, with inference).
 */
import type { ColumnType } from '../types.js';
import { ValueError, parseNumber } from '../../artifact/preprocess/values.js';
import type { Table } from './load-table.js';

/**
 * Each numeric or date column of `columns` as numbers read the way `types` says (NaN = missing).
 * `inferred`: columns type inference read as numbers already (columns.ts), used as they are.
 * A column with a value that does not parse is left out: the row path reports it, with its usual
 * message. Table.numeric is used only for columns typed numeric (an override to date reads text).
 */
export function parsedColumns(
  table: Pick<Table, 'rows' | 'numeric'>,
  types: Readonly<Record<string, ColumnType>>,
  columns: readonly string[],
  inferred?: ReadonlyMap<string, Float64Array>,
): Map<string, Float64Array> {
  const parsed = new Map<string, Float64Array>();
  for (const column of columns) {
    const type = types[column];
    const loaded = (type === 'numeric' ? table.numeric?.get(column) : undefined) ?? inferred?.get(column);
    if (loaded) parsed.set(column, loaded);
    else if (type === 'numeric' || type === 'date') {
      const values = parseAll(table.rows, column, type);
      if (values) parsed.set(column, values);
    }
  }
  return parsed;
}

function parseAll(
  rows: readonly Record<string, unknown>[],
  column: string,
  type: 'numeric' | 'date',
): Float64Array | undefined {
  const values = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const value = parseNumber(type, rows[i][column], 'table');
    if (value instanceof ValueError) return undefined;
    values[i] = value;
  }
  return values;
}
