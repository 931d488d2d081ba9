/**
 * Table -> PreparedData for the training loop. Regression and classification rows are split by a
 * seeded shuffle; forecasting is windowed and split in time (windows.ts). Every statistic is fitted
 * on the training split only.
 */
import type { BuiltinTrainer } from '../../resources/training-run.js';
import type { PreparedData, Preprocess, Samples, TargetEncoding } from '../types.js';
import { planColumns } from './columns.js';
import { DataError, ProblemList } from '../../artifact/preprocess/data-error.js';
import { fitFeatures, summarizeRows } from './fit-encoding.js';
import { rowCount, type Table } from './load-table.js';
import { encodeTableRows } from './encode-table.js';
import { parsedColumns } from './parsed-columns.js';
import { RowEncoder } from '../../artifact/preprocess/row-encoder.js';
import { shuffleSplit } from './split.js';
import { labelTargets, numericTargets } from '../../artifact/preprocess/target.js';
import { prepareWindows } from './windows.js';

export function prepareData(builtin: BuiltinTrainer, table: Table): PreparedData {
  const plan = planColumns(builtin, table);
  if (builtin.task === 'forecasting') return prepareWindows(builtin, table, plan);

  // table.rows is read only where a column needs it: the fast CSV path builds it on first read.
  const total = rowCount(table);
  const { data, task } = builtin;
  const problems = new ProblemList();
  const parsedTarget = plan.types[data.target] === 'numeric' ? table.numeric?.get(data.target) : undefined;
  const numeric =
    task === 'regression'
      ? (parsedTarget ?? numericTargets(table.rows, data.target, plan.types[data.target], task, problems))
      : undefined;
  const labels = task === 'classification' ? labelTargets(table.rows, data.target, problems) : undefined;
  problems.throwIfAny(`target "${data.target}" has values that are not ${numeric ? 'numbers' : 'labels'}`);

  // Rows without a target teach nothing and cannot be scored.
  const keptRows = new Int32Array(total);
  let keptCount = 0;
  for (let i = 0; i < total; i++) {
    if (numeric ? !Number.isNaN(numeric[i]) : labels![i] !== null) keptRows[keptCount++] = i;
  }
  const kept = keptRows.subarray(0, keptCount);
  if (kept.length < 2) {
    throw new DataError(
      `only ${kept.length} row(s) have a value for the target "${data.target}"; need at least 2`,
    );
  }
  const split = shuffleSplit(kept, data.validationSplit, builtin.seed);

  const columns = parsedColumns(table, plan.types, plan.features, plan.parsed);
  const features = fitFeatures(
    () => table.rows,
    split.train,
    plan.features,
    plan.types,
    data.maxCategories,
    columns,
  );
  let target: TargetEncoding;
  if (numeric) {
    // Read in place: a mapped Float64Array.from walks 80,000 indices through the iterator protocol.
    const { mean, std } = summarizeRows(numeric, split.train);
    target = { type: 'numeric', name: data.target, mean, std, mode: 'absolute' };
  } else {
    // The label set spans both splits: a class seen only in validation still needs an output,
    // or it could not be scored. Which labels exist is not a statistic the model can learn from.
    const present = new Set<string>();
    for (const i of kept) present.add(labels![i]!);
    target = { type: 'label', name: data.target, labels: [...present].sort() };
  }

  const encoder = new RowEncoder(features);
  const preprocess: Preprocess = {
    formatVersion: 1,
    task,
    features,
    target,
    encodedWidth: encoder.width,
    inputShape: [encoder.width],
  };
  const encodeProblems = new ProblemList();
  const encode = (indices: Int32Array): Samples => {
    const x = new Float32Array(indices.length * encoder.width);
    encodeTableRows(encoder, table, columns, indices, x, encodeProblems);
    return {
      x,
      y: encodeTargets(target, numeric, labels, indices),
      count: indices.length,
      rowIndex: indices,
    };
  };
  const train = encode(split.train);
  const validation = encode(split.validation);
  encodeProblems.throwIfAny('some feature values do not match their column type');

  return {
    task,
    preprocess,
    train,
    validation,
    targetSize: target.type === 'label' ? target.labels.length : 1,
    fingerprint: table.sha256,
    columnTypes: plan.types,
    rows: {
      total,
      train: split.train.length,
      validation: split.validation.length,
      dropped: total - kept.length,
    },
  };
}

function encodeTargets(
  target: TargetEncoding,
  numeric: Float64Array | undefined,
  labels: readonly (string | null)[] | undefined,
  indices: Int32Array,
): Float32Array {
  if (target.type === 'numeric') {
    const y = new Float32Array(indices.length);
    for (let s = 0; s < indices.length; s++) y[s] = (numeric![indices[s]] - target.mean) / target.std;
    return y;
  }
  const size = target.labels.length;
  const slot = new Map(target.labels.map((label, i) => [label, i]));
  const y = new Float32Array(indices.length * size);
  for (let s = 0; s < indices.length; s++) y[s * size + slot.get(labels![indices[s]]!)!] = 1;
  return y;
}
