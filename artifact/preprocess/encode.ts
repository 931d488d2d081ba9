/**
 * Serving-side encoding: validates raw API instances like an API (every problem reported with the
 * instance index and field), encodes them through the same RowEncoder the training data went
 * through, and decodes network outputs into predictions in original units.
 *
 * Instances:
 * - regression / classification: an object of raw feature values, `{"Horsepower": 130, "Origin":
 *   "USA", ...}`. A missing (absent or null) feature takes its fitted fill value, like a missing
 *   cell in training. Unknown fields, the target itself, wrong JSON types (a string for a numeric
 *   feature), NaN/Infinity and nested objects are errors.
 * - forecasting: `{"history": [row, row, ...]}`, rows oldest first, at least `window.size` of them;
 *   the last `window.size` rows are the window (earlier ones are ignored, unchecked). Each row holds
 *   the features, the target's observed value (required: the target's past is an input and the
 *   last one anchors the forecast), and optionally the time column, whose values must not decrease
 *   (a cheap guard against histories sent newest first). The prediction is for `window.horizon`
 *   steps after the last row.
 */
import { didYouMean } from '../../resources/suggest.js';
import type { Preprocess } from './types.js';
import { RowEncoder } from './row-encoder.js';
import { argmax, decodeNumber } from './target.js';
import { ValueError, describe, isMissing, parseNumber, parseNumeric } from './values.js';

export interface InstanceError {
  /** Index of the instance in the request. */
  index: number;
  /** Feature name, `history`, or `history[3].temp` for forecasting rows; '' for the whole instance. */
  field: string;
  message: string;
}

export type EncodedInstances =
  | {
      ok: true;
      /** count * product(preprocess.inputShape) values, ready for a tensor of [count, ...inputShape]. */
      x: Float32Array;
      count: number;
      /** Forecasting: the last observed target of each instance; pass it to decodeOutputs. */
      anchor?: Float64Array;
    }
  | { ok: false; errors: InstanceError[] };

export interface ClassPrediction {
  label: string;
  probabilities: Record<string, number>;
}

/** A number in the target's original units, or a class with its probabilities. */
export type Prediction = number | ClassPrediction;

/** Errors beyond this many are not listed: a client sending 10k bad rows needs the first few. */
const MAX_ERRORS = 100;

const encoders = new WeakMap<Preprocess, RowEncoder>();

/** The compiled encoder for a Preprocess, built once per loaded artifact. */
export function encoderFor(preprocess: Preprocess): RowEncoder {
  let encoder = encoders.get(preprocess);
  if (!encoder) {
    encoder = new RowEncoder(preprocess.features);
    if (encoder.width !== preprocess.encodedWidth) {
      throw new Error(
        `preprocess.json is inconsistent: features encode to ${encoder.width} values, encodedWidth is ${preprocess.encodedWidth}`,
      );
    }
    encoders.set(preprocess, encoder);
  }
  return encoder;
}

export function encodeInstances(preprocess: Preprocess, instances: readonly unknown[]): EncodedInstances {
  return preprocess.window
    ? encodeHistories(preprocess, preprocess.window, instances)
    : encodeRows(preprocess, instances);
}

function encodeRows(preprocess: Preprocess, instances: readonly unknown[]): EncodedInstances {
  const encoder = encoderFor(preprocess);
  const width = encoder.width;
  const names = new Set(preprocess.features.map((f) => f.name));
  const errors: InstanceError[] = [];
  const x = new Float32Array(instances.length * width);
  instances.forEach((instance, index) => {
    if (errors.length >= MAX_ERRORS) return;
    if (!isRecord(instance)) {
      errors.push({
        index,
        field: '',
        message: `expected an object of feature values, got ${describe(instance)}`,
      });
      return;
    }
    checkFields(instance, names, preprocess, index, '', errors);
    const bad = encoder.encode(instance, x, index * width, 'request');
    if (bad) for (const p of bad) errors.push({ index, field: p.field, message: p.message });
  });
  return errors.length > 0
    ? { ok: false, errors: errors.slice(0, MAX_ERRORS) }
    : { ok: true, x, count: instances.length };
}

function encodeHistories(
  preprocess: Preprocess,
  window: NonNullable<Preprocess['window']>,
  instances: readonly unknown[],
): EncodedInstances {
  const encoder = encoderFor(preprocess);
  const { width } = encoder;
  const { size, timeColumn } = window;
  const targetName = preprocess.target.name;
  const allowed = new Set([...preprocess.features.map((f) => f.name), timeColumn]);
  const errors: InstanceError[] = [];
  const x = new Float32Array(instances.length * size * width);
  const anchor = new Float64Array(instances.length);
  // Rows are encoded in float64 and then windowed, exactly as windows.ts does for training.
  const block = new Float64Array(size * width);

  instances.forEach((instance, index) => {
    if (errors.length >= MAX_ERRORS) return;
    if (!isRecord(instance)) {
      errors.push({
        index,
        field: '',
        message: `expected {"history": [rows, oldest first]}, got ${describe(instance)}`,
      });
      return;
    }
    for (const key of Object.keys(instance)) {
      if (key !== 'history')
        errors.push({
          index,
          field: key,
          message: 'unknown field; a forecasting instance is {"history": [...]}',
        });
    }
    const history = instance.history;
    if (!Array.isArray(history)) {
      errors.push({
        index,
        field: 'history',
        message: `required: an array of at least ${size} rows, oldest first; got ${describe(history)}`,
      });
      return;
    }
    if (history.length < size) {
      errors.push({
        index,
        field: 'history',
        message: `needs at least ${size} rows (window.size), got ${history.length}`,
      });
      return;
    }
    const first = history.length - size;
    let previousTime = -Infinity;
    let ordered = true;
    for (let step = 0; step < size; step++) {
      const j = first + step;
      const row: unknown = history[j];
      const prefix = `history[${j}]`;
      if (!isRecord(row)) {
        errors.push({
          index,
          field: prefix,
          message: `expected an object of column values, got ${describe(row)}`,
        });
        continue;
      }
      checkFields(row, allowed, preprocess, index, `${prefix}.`, errors);
      if (isMissing(row[targetName])) {
        errors.push({
          index,
          field: `${prefix}.${targetName}`,
          message: "required: the target's observed values are inputs for forecasting",
        });
      }
      const bad = encoder.encode(row, block, step * width, 'request');
      if (bad) for (const p of bad) errors.push({ index, field: `${prefix}.${p.field}`, message: p.message });
      if (timeColumn in row) {
        const time = parseTime(row[timeColumn]);
        if (time instanceof ValueError) {
          errors.push({ index, field: `${prefix}.${timeColumn}`, message: time.message });
        } else if (ordered && time < previousTime) {
          ordered = false;
          errors.push({
            index,
            field: `${prefix}.${timeColumn}`,
            message: 'history must be in time order, oldest first',
          });
        } else if (!Number.isNaN(time)) previousTime = time;
      }
      if (step === size - 1) {
        const last = parseNumeric(row[targetName], 'request');
        anchor[index] = last instanceof ValueError ? NaN : last;
      }
    }
    encoder.writeWindow(block, 0, size, x, index * size * width);
  });
  return errors.length > 0
    ? { ok: false, errors: errors.slice(0, MAX_ERRORS) }
    : { ok: true, x, count: instances.length, anchor };
}

/** Time values for the ordering check: ISO dates or numbers, whichever the client sends. */
function parseTime(raw: unknown): number | ValueError {
  if (typeof raw === 'number') return parseNumber('numeric', raw, 'request');
  return parseNumber('date', raw, 'request');
}

function checkFields(
  row: Record<string, unknown>,
  allowed: ReadonlySet<string>,
  preprocess: Preprocess,
  index: number,
  prefix: string,
  errors: InstanceError[],
): void {
  for (const key of Object.keys(row)) {
    if (allowed.has(key)) continue;
    if (key === preprocess.target.name) {
      errors.push({
        index,
        field: `${prefix}${key}`,
        message: 'is the target the model predicts; send only input features',
      });
      continue;
    }
    const hint = didYouMean(key, allowed);
    errors.push({ index, field: `${prefix}${key}`, message: `unknown feature${hint ? `; ${hint}` : ''}` });
  }
}

/**
 * Network outputs -> predictions. `output` holds count x targetSize values (softmax probabilities
 * for classification). Forecasting needs the `anchor` returned by encodeInstances.
 */
export function decodeOutputs(
  preprocess: Preprocess,
  output: Float32Array,
  count: number,
  anchor?: Float64Array,
): Prediction[] {
  const target = preprocess.target;
  const size = target.type === 'label' ? target.labels.length : 1;
  if (output.length !== count * size) {
    throw new Error(`model output has ${output.length} values; expected ${count} x ${size}`);
  }
  if (target.type === 'numeric') {
    if (target.mode === 'delta' && (anchor === undefined || anchor.length < count)) {
      throw new Error(
        'forecasting outputs are changes from the last observed value: pass the anchor from encodeInstances',
      );
    }
    return Array.from({ length: count }, (_, i) => decodeNumber(target, output[i], anchor?.[i]));
  }
  const predictions: ClassPrediction[] = [];
  for (let i = 0; i < count; i++) {
    const probabilities: Record<string, number> = {};
    target.labels.forEach((label, k) => (probabilities[label] = output[i * size + k]));
    predictions.push({ label: target.labels[argmax(output, i * size, size)], probabilities });
  }
  return predictions;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
