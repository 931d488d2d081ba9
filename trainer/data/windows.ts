/**
 * Forecasting: rows sorted by `window.timeColumn`, cut into windows of `size` rows; the target is
 * the target column `horizon` rows after the window's last row.
 *
 * The split is chronological: the last `validationSplit` fraction of rows is validation, and a
 * sample belongs to the side its target row falls in. Validation windows may look back into
 * training rows (that past is known at forecast time); no training target is ever a validation row,
 * and every statistic is fitted on training rows only.
 *
 * Level-free encoding, so the model holds up when the series trends or shifts level (co2 leaves its
 * training range during validation, where a network fed standardised levels would have to
 * extrapolate, and the last value is a strong baseline):
 *
 * - the target is the change y[t+h] - y[t] from the window's last observed value (the "anchor"),
 *   standardised by the mean/std of those changes on train (`target.mode: 'delta'`); decoding adds
 *   the anchor back. A network that outputs 0 reproduces the drift-adjusted persistence forecast.
 * - the target's own history is an input, expressed as change from the anchor divided by the train
 *   RMS of within-window changes (`relative: true`). So is any numeric or date covariate whose
 *   level wanders far more over the training period than within a window (std of its level more
 *   than RELATIVE_LEVEL_RATIO times its within-window RMS change): trends, drifts, random walks,
 *   `adjusted CO2`. Stationary covariates (rain, wind) keep their standardised level, which carries
 *   information a change would lose. Boolean and categorical features are always absolute.
 */
import type { BuiltinTrainer } from '../../resources/training-run.js';
import type { ColumnType, FeatureEncoding, PreparedData, Preprocess } from '../types.js';
import type { ColumnPlan } from './columns.js';
import { DataError, ProblemList } from '../../artifact/preprocess/data-error.js';
import { fitFeatures, numericColumn, safeScale, summarize } from './fit-encoding.js';
import { rowCount, type Table } from './load-table.js';
import { encodeTableRows } from './encode-table.js';
import { parsedColumns } from './parsed-columns.js';
import { RowEncoder } from '../../artifact/preprocess/row-encoder.js';
import { validationCount } from './split.js';
import { numericTargets } from '../../artifact/preprocess/target.js';
import { ValueError, parseNumber } from '../../artifact/preprocess/values.js';
import { inSampleScale, seasonalSourceIndex, seasonOf } from '../metrics/season.js';

/** A covariate is encoded relative to the window's last row when std(level) > this x within-window RMS change. */
export const RELATIVE_LEVEL_RATIO = 3;

/** Caps the pairs examined when measuring within-window change (a stride over windows beyond it). */
const MAX_SCALE_PAIRS = 2_000_000;

export function prepareWindows(builtin: BuiltinTrainer, table: Table, plan: ColumnPlan): PreparedData {
  const { data } = builtin;
  const window = data.window;
  if (!window) throw new DataError('task "forecasting" needs data.window');
  const { size, horizon, timeColumn } = window;
  // Columns the loader parsed (Table.numeric) are read as they are; row objects, which the fast
  // CSV path builds on first read of table.rows, only for a column that needs its cells.
  const total = rowCount(table);
  const parsed = (column: string): Float64Array | undefined =>
    plan.types[column] === 'numeric' ? table.numeric?.get(column) : undefined;
  const timeType = plan.types[timeColumn];
  if (timeType === 'categorical' || timeType === 'boolean') {
    throw new DataError(
      `data.window.timeColumn "${timeColumn}" is ${timeType}; it must hold dates or numbers (set data.types.${timeColumn}: date)`,
    );
  }

  const problems = new ProblemList();
  const targets =
    parsed(data.target) ??
    numericTargets(table.rows, data.target, plan.types[data.target], 'forecasting', problems);
  problems.throwIfAny(`target "${data.target}" has values that are not numbers`);
  const times = parsed(timeColumn) ?? timeValues(table.rows, timeColumn, timeType, problems);
  problems.throwIfAny(`time column "${timeColumn}" has unreadable values`);

  // Rows without a time cannot be placed; rows without a target can neither be predicted nor
  // anchor a window. Both are dropped. Equal times keep file order (a stable sort).
  const order = timeOrder(times, targets);
  const n = order.length;
  const boundary = n - validationCount(n, data.validationSplit);
  // Sample e (window rows e-size+1..e, target row e+horizon) is training iff e+horizon < boundary.
  const firstEnd = size - 1;
  const lastEnd = n - 1 - horizon;
  const trainEnds = Math.max(0, boundary - horizon - firstEnd);
  const validationEnds = lastEnd - Math.max(firstEnd, boundary - horizon) + 1;
  if (trainEnds < 1 || validationEnds < 1) {
    throw new DataError(
      `${n} usable rows are too few for window size ${size} and horizon ${horizon} with validationSplit ` +
        `${data.validationSplit}: that leaves ${trainEnds} training and ${Math.max(0, validationEnds)} validation windows`,
    );
  }

  const trainRows = order.subarray(0, boundary);
  // The seasonal-naive baseline and MASE's scale (trainer/metrics/season.ts), from training rows only.
  const season = seasonOf(
    window.season,
    Float64Array.from(order, (i) => times[i]),
    timeType,
    timeColumn,
  );
  const scaleLag = season.length ?? 1;
  const scale = inSampleScale(
    Float64Array.from(trainRows, (i) => targets[i]),
    scaleLag,
  );
  const columns = parsedColumns(table, plan.types, plan.features, plan.parsed);
  const features = fitFeatures(
    () => table.rows,
    trainRows,
    plan.features,
    plan.types,
    data.maxCategories,
    columns,
  ).map((feature) =>
    feature.type === 'numeric' || feature.type === 'date'
      ? windowRelative(
          feature,
          feature.name === data.target,
          trainValues(table, columns, feature, trainRows),
          size,
        )
      : feature,
  );

  const deltas = new Float64Array(trainEnds);
  for (let s = 0; s < trainEnds; s++) {
    const e = firstEnd + s;
    deltas[s] = targets[order[e + horizon]] - targets[order[e]];
  }
  const delta = summarize(deltas);
  const target = {
    type: 'numeric' as const,
    name: data.target,
    mean: delta.mean,
    std: delta.std,
    mode: 'delta' as const,
  };

  const encoder = new RowEncoder(features);
  const width = encoder.width;
  const encoded = new Float64Array(n * width);
  const encodeProblems = new ProblemList();
  encodeTableRows(encoder, table, columns, order, encoded, encodeProblems);
  encodeProblems.throwIfAny('some feature values do not match their column type');

  const samples = (firstSample: number, count: number) => {
    const x = new Float32Array(count * size * width);
    const y = new Float32Array(count);
    const anchor = new Float64Array(count);
    const rowIndex = new Int32Array(count);
    const m = season.length;
    const seasonal = m === null ? undefined : new Float64Array(count);
    for (let s = 0; s < count; s++) {
      const e = firstSample + s;
      encoder.writeWindow(encoded, e - size + 1, size, x, s * size * width);
      anchor[s] = targets[order[e]];
      y[s] = (targets[order[e + horizon]] - anchor[s] - target.mean) / target.std;
      rowIndex[s] = order[e + horizon];
      if (seasonal && m !== null) {
        const q = seasonalSourceIndex(e + horizon, m, horizon);
        seasonal[s] = q >= 0 ? targets[order[q]] : NaN;
      }
    }
    return { x, y, count, anchor, rowIndex, ...(seasonal && { seasonal }) };
  };

  const preprocess: Preprocess = {
    formatVersion: 1,
    task: 'forecasting',
    features,
    target,
    encodedWidth: width,
    inputShape: [size, width],
    window: { size, horizon, timeColumn },
  };
  return {
    task: 'forecasting',
    preprocess,
    train: samples(firstEnd, trainEnds),
    validation: samples(firstEnd + trainEnds, validationEnds),
    targetSize: 1,
    fingerprint: table.sha256,
    columnTypes: plan.types,
    rows: { total, train: boundary, validation: n - boundary, dropped: total - n },
    forecast: { season, scale, scaleLag },
  };
}

/**
 * Decides whether a numeric or date feature is window-relative and, if so, replaces its scale by
 * the RMS of (x[e-k] - x[e]) over training windows. See the module comment.
 */
function windowRelative(
  feature: Extract<FeatureEncoding, { type: 'numeric' | 'date' }>,
  isTarget: boolean,
  trainValues: () => Float64Array,
  size: number,
): FeatureEncoding {
  if (size < 2) return isTarget ? { ...feature, std: 1, relative: true } : feature;
  const values = trainValues();
  for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i])) values[i] = feature.fill;
  const windows = values.length - size + 1;
  const stride = Math.max(1, Math.ceil((windows * (size - 1)) / MAX_SCALE_PAIRS));
  let squares = 0;
  let pairs = 0;
  for (let e = size - 1; e < values.length; e += stride) {
    for (let k = 1; k < size; k++) {
      const d = values[e - k] - values[e];
      squares += d * d;
    }
    pairs += size - 1;
  }
  const change = pairs === 0 ? 0 : Math.sqrt(squares / pairs);
  if (!isTarget && !(feature.std > RELATIVE_LEVEL_RATIO * change)) return feature;
  return { ...feature, std: safeScale(change), relative: true };
}

/** Parsed times of a time column the loader did not parse (dates, overridden types); NaN = missing. */
function timeValues(
  rows: readonly Record<string, unknown>[],
  column: string,
  type: Exclude<ColumnType, 'categorical' | 'boolean'>,
  problems: ProblemList,
): Float64Array {
  const times = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const t = parseNumber(type, rows[i][column], 'table');
    if (t instanceof ValueError) problems.add(column, i, t.message);
    times[i] = t instanceof ValueError ? NaN : t;
  }
  return times;
}

/**
 * Rows with both a time and a target, in time order; equal times keep file order (a stable
 * sort). Rows without a time cannot be placed; rows without a target can neither be predicted
 * nor anchor a window. A series already in time order (the usual case) is not sorted.
 */
function timeOrder(times: Float64Array, targets: Float64Array): Int32Array {
  const kept: number[] = [];
  let sorted = true;
  let last = -Infinity;
  for (let i = 0; i < times.length; i++) {
    const t = times[i];
    if (Number.isNaN(t) || Number.isNaN(targets[i])) continue;
    if (t < last) sorted = false;
    last = t;
    kept.push(i);
  }
  if (!sorted) kept.sort((a, b) => times[a] - times[b] || a - b);
  return Int32Array.from(kept);
}

/** A numeric or date feature's values on the training rows, in order (NaN = missing): parsed or from the rows. */
function trainValues(
  table: Table,
  columns: ReadonlyMap<string, Float64Array>,
  feature: Extract<FeatureEncoding, { type: 'numeric' | 'date' }>,
  trainRows: Int32Array,
): () => Float64Array {
  const column = columns.get(feature.name);
  if (column) return () => Float64Array.from(trainRows, (i) => column[i]);
  return () => numericColumn(table.rows, trainRows, feature.name, feature.type, new ProblemList());
}
