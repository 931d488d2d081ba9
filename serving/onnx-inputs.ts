/**
 * How instances become an ONNX session's inputs, planned once at load from the session's own
 * input metadata (names, element types, shapes) and artifact.json:
 *
 * - `encoded` / `stacked`: one input of [N, width], float32 or float64 as the model declares.
 * - `named`: one input per feature (`input` ?? `name`), [N] or [N, 1] as declared; float32,
 *   float64, int32, int64 (integers only), bool (boolean features only) or string (categorical
 *   features only: what a converted scikit-learn pipeline takes).
 *
 * Rows travel through the batcher as one array of count x width values: the encoder's float32
 * for `encoded`, the values as sent for raw kinds (float64, or MixedRows with string inputs).
 */
import type * as Ort from 'onnxruntime-node';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { ArtifactDescriptor } from '../artifact/contract.js';
import type { InstanceError } from '../artifact/preprocess/index.js';
import type { Preprocess } from '../artifact/preprocess/types.js';
import { parseBoolean, parseCategory, parseNumeric } from '../artifact/preprocess/values.js';
import { MixedRows, type BatchValues } from './batcher.js';
import type { EncodedBatch } from './model-version.js';

type Runtime = typeof Ort;
type InputKind = NonNullable<ArtifactDescriptor['input']>['kind'];

const FLOATS = ['float32', 'float64'] as const;
const NAMED_TYPES = ['float32', 'float64', 'int32', 'int64', 'bool', 'string'] as const;
type ElementType = (typeof NAMED_TYPES)[number];

interface Column {
  /** The model input. */
  input: string;
  type: ElementType;
  /** [N] or [N, 1]. */
  rank: 1 | 2;
}

export interface InputPlan {
  /** True for raw kinds: the batch carries the values as sent (float64). */
  raw: boolean;
  /** Values per instance. */
  rowSize: number;
  /** Rows of `count` instances for warm-up (zeros, empty strings). */
  blank(count: number): BatchValues;
  feeds(x: BatchValues, count: number): Record<string, OrtTensor>;
  /** Raw kinds, after the encoder accepted the instances: their values in feature order. */
  rawValues(instances: readonly Record<string, unknown>[]): EncodedBatch;
  /** For metadata: the model inputs as {name, type, shape}. */
  describe(): { name: string; type: string; shape: readonly (number | string)[] }[];
}

const INT_RANGE: Partial<Record<ElementType, [number, number]>> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

export function planInputs(
  ort: Runtime,
  session: InferenceSession,
  kind: InputKind,
  d: ArtifactDescriptor,
  preprocess: Preprocess,
): InputPlan {
  const metadata = new Map(session.inputMetadata.map((m) => [m.name, m]));
  const tensorOf = (name: string) => {
    const meta = metadata.get(name);
    if (!meta) throw new Error(`the model has no input "${name}" (inputs: ${session.inputNames.join(', ')})`);
    if (!meta.isTensor) throw new Error(`input "${name}" is not a tensor`);
    return meta;
  };
  const width = preprocess.features.length;
  const describe = () =>
    session.inputMetadata.map((m) => ({
      name: m.name,
      type: m.isTensor ? m.type : 'non-tensor',
      shape: m.isTensor ? m.shape : [],
    }));

  if (kind !== 'named') {
    if (d.input?.name === undefined && session.inputNames.length !== 1) {
      throw new Error(
        `the model has ${session.inputNames.length} inputs (${session.inputNames.join(', ')}); input.kind "${kind}" feeds one: name it in artifact.json input.name, or use "named"`,
      );
    }
    const name = d.input?.name ?? session.inputNames[0];
    const meta = tensorOf(name);
    const rowSize = kind === 'encoded' ? preprocess.encodedWidth : width;
    const declared = meta.shape[1];
    if (meta.shape.length !== 2 || (typeof declared === 'number' && declared !== rowSize)) {
      throw new Error(
        `input "${name}" has shape [${meta.shape.join(', ')}]; ${kind} input needs [N, ${rowSize}] (${kind === 'encoded' ? 'preprocess.json encodedWidth' : 'one per feature'})`,
      );
    }
    const type = meta.type;
    if (!(FLOATS as readonly string[]).includes(type)) {
      throw new Error(`input "${name}" is ${type}; ${kind} input takes float32 or float64`);
    }
    const double = type === 'float64';
    return {
      raw: kind === 'stacked',
      rowSize,
      blank: (count) =>
        kind === 'stacked' ? new Float64Array(count * rowSize) : new Float32Array(count * rowSize),
      feeds: (x, count) => {
        const data = double ? Float64Array.from(x as ArrayLike<number>) : asFloat32(x);
        return { [name]: new ort.Tensor(type, data, [count, rowSize]) };
      },
      rawValues: (instances) => rawValues(preprocess, instances, []),
      describe,
    };
  }

  const columns: Column[] = d.features!.map((f) => {
    const input = f.input ?? f.name;
    const meta = tensorOf(input);
    const type = meta.type as ElementType;
    if (!NAMED_TYPES.includes(type)) {
      throw new Error(
        `input "${input}" is ${meta.type}; named inputs take float32, float64, int32, int64, bool or string`,
      );
    }
    if (type === 'bool' && f.type !== 'boolean') {
      throw new Error(`input "${input}" is bool but feature "${f.name}" is ${f.type}; declare it boolean`);
    }
    if ((type === 'string') !== (f.type === 'categorical')) {
      throw new Error(
        type === 'string'
          ? `input "${input}" takes strings but feature "${f.name}" is ${f.type}; declare it categorical`
          : `feature "${f.name}" is categorical but input "${input}" is ${type}; a categorical feature feeds a string input (or use input.kind "encoded")`,
      );
    }
    const rank = meta.shape.length;
    if (rank !== 1 && !(rank === 2 && (meta.shape[1] === 1 || typeof meta.shape[1] === 'string'))) {
      throw new Error(
        `input "${input}" has shape [${meta.shape.join(', ')}]; a named input is [N] or [N, 1]`,
      );
    }
    return { input, type, rank: rank as 1 | 2 };
  });
  const fed = new Set(columns.map((c) => c.input));
  const unfed = session.inputNames.filter((n) => !fed.has(n));
  if (unfed.length > 0) {
    throw new Error(
      `no feature feeds model input${unfed.length > 1 ? 's' : ''} ${unfed.map((n) => `"${n}"`).join(', ')}; add it to artifact.json features (with input: "${unfed[0]}" if the names differ)`,
    );
  }
  if (fed.size !== columns.length) throw new Error('two features feed the same model input');
  const strings = columns.some((c) => c.type === 'string');
  return {
    raw: true,
    rowSize: width,
    blank: (count) => {
      if (!strings) return new Float64Array(count * width);
      const rows = new MixedRows(count * width).fill(0);
      columns.forEach((c, j) => {
        if (c.type === 'string') for (let i = 0; i < count; i++) rows[i * width + j] = '';
      });
      return rows;
    },
    feeds: (x, count) => {
      const feeds: Record<string, OrtTensor> = {};
      const dims = (c: Column) => (c.rank === 1 ? [count] : [count, 1]);
      columns.forEach((c, j) => {
        if (c.type === 'string') {
          const column: string[] = new Array<string>(count);
          for (let i = 0; i < count; i++) column[i] = String(x[i * width + j]);
          feeds[c.input] = new ort.Tensor('string', column, dims(c));
          return;
        }
        const column = new Float64Array(count);
        for (let i = 0; i < count; i++) column[i] = x[i * width + j] as number;
        feeds[c.input] = new ort.Tensor(c.type, typed(c.type, column), dims(c));
      });
      return feeds;
    },
    rawValues: (instances) => rawValues(preprocess, instances, columns),
    describe,
  };
}

const asFloat32 = (x: BatchValues): Float32Array =>
  x instanceof Float32Array ? x : Float32Array.from(x as ArrayLike<number>);

function typed(
  type: Exclude<ElementType, 'string'>,
  column: Float64Array,
): Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array {
  switch (type) {
    case 'float32':
      return Float32Array.from(column);
    case 'float64':
      return column;
    case 'int32':
      return Int32Array.from(column);
    case 'int64':
      return BigInt64Array.from(column, (v) => BigInt(v));
    case 'bool':
      return Uint8Array.from(column);
  }
}

/**
 * The raw values of instances the encoder accepted (so every value parses), in feature order:
 * float64, or MixedRows when a feature is a string; integer model inputs refuse fractions and
 * out-of-range numbers.
 */
function rawValues(
  preprocess: Preprocess,
  instances: readonly Record<string, unknown>[],
  columns: Column[],
): EncodedBatch {
  const features = preprocess.features;
  const width = features.length;
  const size = instances.length * width;
  const x = features.some((f) => f.type === 'categorical') ? new MixedRows(size) : new Float64Array(size);
  const errors: InstanceError[] = [];
  instances.forEach((instance, index) => {
    features.forEach((f, j) => {
      const raw = instance[f.name];
      if (f.type === 'categorical') {
        const category = parseCategory(raw, 'request');
        x[index * width + j] = typeof category === 'string' ? category : '';
        return;
      }
      const parsed = f.type === 'boolean' ? parseBoolean(raw, 'request') : parseNumeric(raw, 'request');
      const value = typeof parsed === 'number' ? parsed : NaN;
      const column = columns[j];
      const range = column && INT_RANGE[column.type];
      if (range && !(Number.isInteger(value) && value >= range[0] && value <= range[1])) {
        errors.push({
          index,
          field: f.name,
          message: `expected an integer (model input "${column.input}" is ${column.type}), got ${String(raw)}`,
        });
      }
      x[index * width + j] = value;
    });
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, x, count: instances.length };
}
