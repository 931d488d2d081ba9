/** Which columns feed the model, and as which types. */
import { didYouMean } from '../../resources/suggest.js';
import type { BuiltinTrainer } from '../../resources/training-run.js';
import type { ColumnType } from '../types.js';
import { DataError } from '../../artifact/preprocess/data-error.js';
import { inferColumnTypes } from './infer-types.js';
import type { Table } from './load-table.js';

export interface ColumnPlan {
  /** Every column of the table, inferred then overridden by data.types. */
  types: Record<string, ColumnType>;
  /** Input columns in encoding order. Forecasting: the target first (its past is an input). */
  features: string[];
  /** Numeric and date columns inference read as numbers on the way (parsed-columns.ts uses them). */
  parsed: Map<string, Float64Array>;
}

export function planColumns(
  builtin: BuiltinTrainer,
  table: Pick<Table, 'rows' | 'columns' | 'types'>,
): ColumnPlan {
  const { data, task } = builtin;
  const known = new Set(table.columns);
  const need = (column: string, field: string): void => {
    if (known.has(column)) return;
    const hint = didYouMean(column, table.columns);
    throw new DataError(
      `${field}: the data has no column "${column}"${hint ? ` (${hint})` : ''}; columns: ${table.columns.join(', ')}`,
    );
  };
  need(data.target, 'data.target');
  const timeColumn = task === 'forecasting' ? data.window?.timeColumn : undefined;
  if (task === 'forecasting' && timeColumn === undefined)
    throw new DataError('task "forecasting" needs data.window');
  if (timeColumn !== undefined) need(timeColumn, 'data.window.timeColumn');
  data.features?.forEach((column, i) => need(column, `data.features[${i}]`));

  // Types a Parquet schema declares need no inference; data.types still overrides them.
  const declared = { ...table.types, ...data.types };
  // Reading rows builds them on the fast CSV path: only when some column's type is still unknown.
  const unknown = table.columns.some((c) => declared[c] === undefined);
  const parsed = new Map<string, Float64Array>();
  const types = inferColumnTypes(unknown ? table.rows : [], table.columns, declared, parsed);
  let features = (data.features ?? table.columns.filter((c) => c !== timeColumn)).filter(
    (c) => c !== data.target,
  );
  if (task === 'forecasting') features = [data.target, ...features];
  if (features.length === 0) {
    throw new DataError(`no input columns: the data has only the target "${data.target}"`);
  }
  return { types, features, parsed };
}
