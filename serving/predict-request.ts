/**
 * The body of a TensorFlow Serving REST `:predict` request, checked before any feature is read:
 *
 * - row format:      `{"instances": [{"Horsepower": 130, "Origin": "USA"}, ...]}` -> `predictions`
 * - columnar format: `{"inputs": {"Horsepower": [130, 95], "Origin": ["USA", "Japan"]}}` -> `outputs`
 *   (`"inputs": [...]`, a list, is read as rows, as TF Serving does for single-input models)
 * - `signature_name` may be sent; the only signature is `serving_default`.
 *
 * Columns are turned into rows here so that the one encoder (artifact/preprocess/encode.ts) validates
 * and encodes both formats; only the paths in error messages remain format-specific.
 */
import { formatPath } from '../resources/diagnostic.js';
import { didYouMean } from '../resources/suggest.js';
import type { ClassPrediction, InstanceError, Prediction } from '../artifact/preprocess/index.js';
import { HttpError, problemsError, type FieldProblem } from './http-error.js';

export type PredictFormat = 'row' | 'columnar';

export interface PredictRequest {
  format: PredictFormat;
  instances: unknown[];
}

export const SIGNATURE_NAME = 'serving_default';

const TOP_LEVEL = ['instances', 'inputs', 'signature_name'];

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const typeName = (value: unknown): string =>
  value === null
    ? 'null'
    : Array.isArray(value)
      ? 'an array'
      : typeof value === 'object'
        ? 'an object'
        : typeof value;

/** Throws HttpError(400 | 413) naming the field at fault. */
export function readPredictRequest(body: unknown, maxInstances: number): PredictRequest {
  if (!isRecord(body)) {
    throw new HttpError(
      400,
      `the request body must be a JSON object with "instances" (rows) or "inputs" (columns), got ${typeName(body)}`,
    );
  }
  for (const key of Object.keys(body)) {
    if (TOP_LEVEL.includes(key)) continue;
    const hint = didYouMean(key, TOP_LEVEL);
    throw new HttpError(
      400,
      `${formatPath([key])}: unknown field; a predict request has "instances" or "inputs"${hint ? ` (${hint})` : ''}`,
      [{ path: formatPath([key]), message: 'unknown field' }],
    );
  }
  const signature = body.signature_name;
  if (signature !== undefined && signature !== SIGNATURE_NAME) {
    throw new HttpError(
      400,
      `signature_name: this model has one signature, "${SIGNATURE_NAME}"; got ${JSON.stringify(signature)}`,
      [{ path: 'signature_name', message: `expected "${SIGNATURE_NAME}"` }],
    );
  }
  const hasRows = 'instances' in body;
  const hasColumns = 'inputs' in body;
  if (hasRows && hasColumns) {
    throw new HttpError(400, 'send either "instances" (row format) or "inputs" (columnar format), not both');
  }
  if (!hasRows && !hasColumns) {
    throw new HttpError(
      400,
      'the request has neither "instances" (row format) nor "inputs" (columnar format): send e.g. {"instances": [{"feature": value}]}',
    );
  }

  let request: PredictRequest;
  if (hasRows) {
    const instances = body.instances;
    if (!Array.isArray(instances)) {
      throw new HttpError(400, `instances: expected an array of instances, got ${typeName(instances)}`, [
        { path: 'instances', message: 'expected an array' },
      ]);
    }
    request = { format: 'row', instances };
  } else {
    request = { format: 'columnar', instances: columnsToRows(body.inputs) };
  }
  const n = request.instances.length;
  const field = request.format === 'row' ? 'instances' : 'inputs';
  if (n === 0) {
    throw new HttpError(400, `${field}: empty; send at least one instance`, [
      { path: field, message: 'empty' },
    ]);
  }
  if (n > maxInstances) {
    throw new HttpError(
      413,
      `${field}: ${n} instances; this server accepts at most ${maxInstances} per request (limits.maxInstances): split the request`,
      [{ path: field, message: `more than ${maxInstances} instances` }],
    );
  }
  return request;
}

function columnsToRows(inputs: unknown): unknown[] {
  if (Array.isArray(inputs)) return inputs;
  if (!isRecord(inputs)) {
    throw new HttpError(
      400,
      `inputs: expected an object of feature columns ({"feature": [value, ...]}), got ${typeName(inputs)}`,
      [{ path: 'inputs', message: 'expected an object of columns' }],
    );
  }
  const names = Object.keys(inputs);
  if (names.length === 0) {
    throw new HttpError(400, 'inputs: empty; send at least one feature column', [
      { path: 'inputs', message: 'empty' },
    ]);
  }
  let length = -1;
  let first = '';
  for (const name of names) {
    const column = inputs[name];
    const path = formatPath(['inputs', name]);
    if (!Array.isArray(column)) {
      throw new HttpError(
        400,
        `${path}: expected an array with one value per instance, got ${typeName(column)}`,
        [{ path, message: 'expected an array' }],
      );
    }
    if (length === -1) {
      length = column.length;
      first = path;
    } else if (column.length !== length) {
      throw new HttpError(
        400,
        `${path} has ${column.length} values but ${first} has ${length}: every column needs one value per instance`,
        [{ path, message: `expected ${length} values` }],
      );
    }
  }
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < length; i++) {
    const row: Record<string, unknown> = {};
    for (const name of names) row[name] = (inputs[name] as unknown[])[i];
    rows.push(row);
  }
  return rows;
}

/** `.Horsepower`, or `["Horse power"]` for a key that is not an identifier. */
const keyPath = (key: string): string =>
  /^[A-Za-z_][\w-]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;

/**
 * The path of a field inside the request as the client wrote it: `instances[3].Horsepower` or
 * `inputs.Horsepower[3]`. `field` is the encoder's: a feature name, `history`, `history[2].temp`.
 */
export function fieldPath(format: PredictFormat, index: number, field: string): string {
  if (format === 'row') {
    const base = formatPath(['instances', index]);
    if (field === '') return base;
    return field.startsWith('history[') ? `${base}.${field}` : `${base}${keyPath(field)}`;
  }
  if (field === '') return formatPath(['inputs', index]);
  const bracket = field.indexOf('[');
  if (bracket > 0)
    return `${formatPath(['inputs', field.slice(0, bracket)])}[${index}]${field.slice(bracket)}`;
  return `${formatPath(['inputs', field])}[${index}]`;
}

/**
 * Instance errors -> one 400. In columnar format the same problem usually repeats down a column
 * (an unknown column name is wrong for every instance), so repeats are folded into one line.
 */
export function instanceErrors(format: PredictFormat, errors: readonly InstanceError[]): HttpError {
  if (format === 'row') {
    return problemsError(
      400,
      errors.map((e) => ({ path: fieldPath(format, e.index, e.field), message: e.message })),
    );
  }
  const folded = new Map<string, FieldProblem & { count: number }>();
  for (const e of errors) {
    const key = `${e.field}\u0000${e.message}`;
    const seen = folded.get(key);
    if (seen) seen.count++;
    else folded.set(key, { path: fieldPath(format, e.index, e.field), message: e.message, count: 1 });
  }
  return problemsError(
    400,
    [...folded.values()].map(({ path, message, count }) => ({
      path,
      message: count > 1 ? `${message} (and in ${count - 1} more instances)` : message,
    })),
  );
}

/** Decoded predictions in the response shape of the request's format. */
export function predictResponse(format: PredictFormat, predictions: Prediction[]): unknown {
  if (format === 'row') return { predictions };
  const first = predictions[0];
  if (typeof first === 'number') return { outputs: predictions };
  // TF Serving's columnar answer for a model with several named outputs: one list per output.
  const classes = predictions as ClassPrediction[];
  return {
    outputs: {
      label: classes.map((p) => p.label),
      probabilities: classes.map((p) => p.probabilities),
    },
  };
}
