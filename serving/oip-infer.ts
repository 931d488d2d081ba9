/**
 * The Open Inference Protocol (KServe v2) over the same model: `POST /v2/models/{m}/infer` and
 * `GET /v2/models/{m}` metadata. A v2 request is a list of named tensors; mlform's models take
 * named raw features, so each feature is one input tensor named after it:
 *
 * - regression / classification: shape `[N]` or `[N, 1]`, one value per instance;
 * - forecasting: shape `[N, L]`, each instance's history of L rows (oldest first, L >= window.size),
 *   one tensor per feature and one for the target's observed past (and optionally the time column).
 *
 * The tensors are turned into the same instances a v1 `:predict` request makes, so the one encoder
 * checks them (types, missing values filled as in training, unknown names) and the same batcher
 * runs them; only the paths in errors (`inputs[1].data[4]`) and the response shape are v2's.
 */
import { formatPath } from '../resources/diagnostic.js';
import { didYouMean } from '../resources/suggest.js';
import type { ClassPrediction, InstanceError, Prediction } from '../artifact/preprocess/index.js';
import type { Preprocess } from '../artifact/preprocess/types.js';
import { openInferenceDatatype } from './feature-dtypes.js';
import { HttpError, problemsError, type FieldProblem } from './http-error.js';

const NUMERIC_TYPES = [
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'FP16',
  'FP32',
  'FP64',
] as const;
const DATATYPES: readonly string[] = ['BOOL', ...NUMERIC_TYPES, 'BYTES'];
const TOP_LEVEL = ['id', 'parameters', 'inputs', 'outputs'];
const INPUT_KEYS = ['name', 'shape', 'datatype', 'parameters', 'data'];

export interface InferRequest {
  id?: string;
  instances: Record<string, unknown>[];
  /** The v2 input index of each column, for error paths. */
  columns: Map<string, number>;
  /** Forecasting: rows per instance. */
  historyLength?: number;
  /** The outputs asked for by name (all when absent). */
  outputs?: string[];
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const bad = (path: string, message: string): HttpError =>
  new HttpError(400, `${path}: ${message}`, [{ path, message }]);

/** The columns a model's request carries: its features, and for forecasting the target and time. */
function columnsOf(preprocess: Preprocess): string[] {
  const names = preprocess.features.map((f) => f.name);
  if (!preprocess.window) return names;
  return [...names, preprocess.target.name, preprocess.window.timeColumn];
}

/** Nested data (`[[1], [2]]`) is accepted and read row-major, as KServe's servers do. */
function flatten(data: unknown[], path: string): unknown[] {
  const out: unknown[] = [];
  const walk = (value: unknown[], depth: number) => {
    if (depth > 8) throw bad(path, 'nested more than 8 levels deep');
    for (const v of value) {
      if (Array.isArray(v)) walk(v, depth + 1);
      else out.push(v);
    }
  };
  walk(data, 0);
  return out;
}

/** JSON element types must agree with the declared datatype; the encoder checks them against the feature. */
function checkElements(values: unknown[], datatype: string, path: string): void {
  const expected = datatype === 'BYTES' ? 'string' : datatype === 'BOOL' ? 'boolean' : 'number';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || typeof v === expected) continue;
    throw bad(
      `${path}[${i}]`,
      `a ${datatype} tensor holds ${expected}s (or null for a missing value), got ${JSON.stringify(v)}`,
    );
  }
}

/** Throws HttpError(400 | 413) naming the field at fault. */
export function readInferRequest(body: unknown, preprocess: Preprocess, maxInstances: number): InferRequest {
  if (!isRecord(body)) {
    throw new HttpError(
      400,
      'the request body must be a JSON object with "inputs": [{"name", "shape", "datatype", "data"}, ...]',
    );
  }
  for (const key of Object.keys(body)) {
    if (TOP_LEVEL.includes(key)) continue;
    const hint = didYouMean(key, TOP_LEVEL);
    throw bad(
      formatPath([key]),
      `unknown field; an inference request has ${TOP_LEVEL.map((k) => `"${k}"`).join(', ')}${hint ? ` (${hint})` : ''}`,
    );
  }
  if (body.id !== undefined && typeof body.id !== 'string') throw bad('id', 'expected a string');
  if (body.parameters !== undefined && !isRecord(body.parameters))
    throw bad('parameters', 'expected an object');
  const inputs = body.inputs;
  if (!Array.isArray(inputs) || inputs.length === 0) {
    throw bad('inputs', 'required: a non-empty array of input tensors, one per feature');
  }
  const known = columnsOf(preprocess);
  const window = preprocess.window;
  const columns = new Map<string, number>();
  let count = -1;
  let length = -1;
  const tensors: { name: string; values: unknown[] }[] = [];
  inputs.forEach((input: unknown, index) => {
    const at = formatPath(['inputs', index]);
    if (!isRecord(input)) throw bad(at, 'expected an object {"name", "shape", "datatype", "data"}');
    for (const key of Object.keys(input)) {
      if (!INPUT_KEYS.includes(key))
        throw bad(
          formatPath(['inputs', index, key]),
          `unknown field; an input tensor has ${INPUT_KEYS.map((k) => `"${k}"`).join(', ')}`,
        );
    }
    const { name, shape, datatype, data } = input;
    if (typeof name !== 'string') throw bad(`${at}.name`, 'required: the feature name');
    if (!known.includes(name)) {
      const hint = didYouMean(name, known);
      throw bad(
        `${at}.name`,
        `"${name}" is not an input of this model${hint ? ` (${hint})` : ''}; inputs: ${known.join(', ')}`,
      );
    }
    if (columns.has(name))
      throw bad(`${at}.name`, `"${name}" is sent twice (also inputs[${columns.get(name)}])`);
    columns.set(name, index);
    if (typeof datatype !== 'string' || !DATATYPES.includes(datatype)) {
      throw bad(`${at}.datatype`, `expected one of ${DATATYPES.join(', ')}`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      throw bad(`${at}.shape`, 'expected an array of non-negative integers, e.g. [2] or [2, 1]');
    }
    const dims = shape as number[];
    if (window) {
      if (dims.length !== 2)
        throw bad(
          `${at}.shape`,
          `a forecasting input is [instances, history rows], got [${dims.join(', ')}]`,
        );
    } else if (!(dims.length === 1 || (dims.length === 2 && dims[1] === 1))) {
      throw bad(`${at}.shape`, `expected [instances] or [instances, 1], got [${dims.join(', ')}]`);
    }
    if (count === -1) count = dims[0];
    else if (dims[0] !== count)
      throw bad(
        `${at}.shape`,
        `${dims[0]} instances, but inputs[0] has ${count}: every input needs one entry per instance`,
      );
    if (window) {
      if (length === -1) length = dims[1];
      else if (dims[1] !== length)
        throw bad(`${at}.shape`, `${dims[1]} history rows, but inputs[0] has ${length}`);
    }
    if (!Array.isArray(data)) throw bad(`${at}.data`, 'required: the tensor contents, row-major');
    const values = flatten(data, `${at}.data`);
    const size = dims.reduce((a, b) => a * b, 1);
    if (values.length !== size) {
      throw bad(`${at}.data`, `${values.length} values for shape [${dims.join(', ')}], which holds ${size}`);
    }
    checkElements(values, datatype, `${at}.data`);
    tensors.push({ name, values });
  });
  if (count === 0) throw bad('inputs[0].shape', 'no instances; send at least one');
  if (count > maxInstances) {
    throw new HttpError(
      413,
      `inputs: ${count} instances; this server accepts at most ${maxInstances} per request (limits.maxInstances): split the request`,
      [{ path: 'inputs', message: `more than ${maxInstances} instances` }],
    );
  }
  const instances: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    if (!window) {
      const row: Record<string, unknown> = {};
      for (const t of tensors) row[t.name] = t.values[i];
      instances.push(row);
      continue;
    }
    const history: Record<string, unknown>[] = [];
    for (let k = 0; k < length; k++) {
      const row: Record<string, unknown> = {};
      for (const t of tensors) row[t.name] = t.values[i * length + k];
      history.push(row);
    }
    instances.push({ history });
  }
  const outputs = readOutputs(body.outputs, preprocess);
  return {
    ...(typeof body.id === 'string' && { id: body.id }),
    instances,
    columns,
    ...(window && { historyLength: length }),
    ...(outputs && { outputs }),
  };
}

function readOutputs(value: unknown, preprocess: Preprocess): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw bad('outputs', 'expected an array of {"name": ...}');
  const available = outputNames(preprocess);
  return value.map((o: unknown, i) => {
    const name = isRecord(o) ? o.name : undefined;
    if (typeof name !== 'string') throw bad(`outputs[${i}].name`, 'required: an output name');
    if (!available.includes(name)) {
      const hint = didYouMean(name, available);
      throw bad(
        `outputs[${i}].name`,
        `"${name}" is not an output of this model${hint ? ` (${hint})` : ''}; outputs: ${available.join(', ')}`,
      );
    }
    return name;
  });
}

const outputNames = (p: Preprocess): string[] =>
  p.target.type === 'label' ? ['label', 'probabilities'] : [p.target.name];

/**
 * The encoder's instance errors as one 400 with v2 paths: a feature's problem at instance i is at
 * `inputs[k].data[i]` (or `[i * L + j]` for history row j); a feature nobody sent is at `inputs`.
 * Repeats down a tensor are folded into one line, as for v1's columnar format.
 */
export function inferErrors(request: InferRequest, errors: readonly InstanceError[]): HttpError {
  const folded = new Map<string, FieldProblem & { count: number }>();
  for (const e of errors) {
    const { path, key } = errorPath(request, e);
    const seen = folded.get(`${key}\u0000${e.message}`);
    if (seen) seen.count++;
    else folded.set(`${key}\u0000${e.message}`, { path, message: e.message, count: 1 });
  }
  return problemsError(
    400,
    [...folded.values()].map(({ path, message, count }) => ({
      path,
      message: count > 1 ? `${message} (and in ${count - 1} more instances)` : message,
    })),
  );
}

function errorPath(request: InferRequest, e: InstanceError): { path: string; key: string } {
  const history = /^history\[(\d+)\]\.(.+)$/.exec(e.field);
  const feature = history ? history[2] : e.field;
  const input = request.columns.get(feature);
  if (input === undefined) {
    // Not sent at all (a required feature), or the instance as a whole.
    const path = feature && feature !== 'history' ? `inputs (${JSON.stringify(feature)})` : 'inputs';
    return { path, key: path };
  }
  const offset =
    history && request.historyLength ? e.index * request.historyLength + Number(history[1]) : e.index;
  return { path: `inputs[${input}].data[${offset}]`, key: `inputs[${input}]` };
}

export interface InferResponseTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: (number | string)[];
}

/** The v2 response: one tensor per output (a class model has `label` and `probabilities`). */
export function inferResponse(
  modelName: string,
  version: string,
  request: InferRequest,
  preprocess: Preprocess,
  predictions: Prediction[],
): unknown {
  const n = predictions.length;
  const tensors: InferResponseTensor[] = [];
  if (preprocess.target.type === 'label') {
    const labels = preprocess.target.labels;
    const classes = predictions as ClassPrediction[];
    tensors.push({ name: 'label', datatype: 'BYTES', shape: [n], data: classes.map((p) => p.label) });
    tensors.push({
      name: 'probabilities',
      datatype: 'FP32',
      shape: [n, labels.length],
      data: classes.flatMap((p) => labels.map((l) => p.probabilities[l])),
    });
  } else {
    tensors.push({
      name: preprocess.target.name,
      datatype: 'FP32',
      shape: [n],
      data: predictions as number[],
    });
  }
  const wanted = request.outputs;
  return {
    model_name: modelName,
    model_version: version,
    ...(request.id !== undefined && { id: request.id }),
    outputs: wanted ? tensors.filter((t) => wanted.includes(t.name)) : tensors,
  };
}

/** `GET /v2/models/{m}[/versions/{v}]`: the model's name, versions, inputs and outputs as v2 tensors. */
export function inferMetadata(
  modelName: string,
  versions: string[],
  preprocess: Preprocess,
  platform = 'mlform_tfjs',
): unknown {
  const window = preprocess.window;
  const shape = window ? [-1, -1] : [-1];
  const inputs = preprocess.features.map((f) => ({
    name: f.name,
    datatype: openInferenceDatatype(f),
    shape,
  }));
  if (window) {
    inputs.push({ name: preprocess.target.name, datatype: 'FP32', shape });
    inputs.push({ name: window.timeColumn, datatype: 'BYTES', shape });
  }
  const outputs =
    preprocess.target.type === 'label'
      ? [
          { name: 'label', datatype: 'BYTES', shape: [-1] },
          { name: 'probabilities', datatype: 'FP32', shape: [-1, preprocess.target.labels.length] },
        ]
      : [{ name: preprocess.target.name, datatype: 'FP32', shape: [-1] }];
  return { name: modelName, versions, platform, inputs, outputs };
}
