/**
 * How instances become an ONNX session's inputs, planned once at load from the session's own
 * input metadata (names, element types, shapes) and artifact.json:
 *
 * - `encoded` / `stacked`: one input of [N, width], float32 or float64 as the model declares.
 * - `named`: one input per feature (`input` ?? `name`), [N] or [N, 1] as declared; float32,
 *   float64, int32, int64 (integers only) or bool (boolean features only).
 *
 * Rows travel through the batcher as one typed array of count x width values: the encoder's
 * float32 for `encoded`, the values as sent (float64) for raw kinds.
 */
import type * as Ort from 'onnxruntime-node';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { ArtifactDescriptor } from '../artifact/contract.js';
import type { InstanceError } from '../artifact/preprocess/index.js';
import type { Preprocess } from '../artifact/preprocess/types.js';
import { parseBoolean, parseNumeric } from '../artifact/preprocess/values.js';
import type { EncodedBatch } from './model-version.js';

type Runtime = typeof Ort;
type InputKind = NonNullable<ArtifactDescriptor['input']>['kind'];

const FLOATS = ['float32', 'float64'] as const;
const NAMED_TYPES = ['float32', 'float64', 'int32', 'int64', 'bool'] as const;
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
  Values: Float32ArrayConstructor | Float64ArrayConstructor;
  feeds(x: Float32Array | Float64Array, count: number): Record<string, OrtTensor>;
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
      Values: kind === 'stacked' ? Float64Array : Float32Array,
      feeds: (x, count) => {
        const data = double ? asArray(x, Float64Array) : asArray(x, Float32Array);
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
        `input "${input}" is ${meta.type}; named inputs take float32, float64, int32, int64 or bool (categorical strings: use input.kind "encoded")`,
      );
    }
    if (type === 'bool' && f.type !== 'boolean') {
      throw new Error(`input "${input}" is bool but feature "${f.name}" is ${f.type}; declare it boolean`);
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
  return {
    raw: true,
    rowSize: width,
    Values: Float64Array,
    feeds: (x, count) => {
      const feeds: Record<string, OrtTensor> = {};
      columns.forEach((c, j) => {
        const column = new Float64Array(count);
        for (let i = 0; i < count; i++) column[i] = x[i * width + j];
        feeds[c.input] = new ort.Tensor(c.type, typed(c.type, column), c.rank === 1 ? [count] : [count, 1]);
      });
      return feeds;
    },
    rawValues: (instances) => rawValues(preprocess, instances, columns),
    describe,
  };
}

function asArray<T extends Float32Array | Float64Array>(
  x: Float32Array | Float64Array,
  Type: { new (values: ArrayLike<number>): T; from(values: ArrayLike<number>): T },
): T {
  return x instanceof Type ? (x as T) : Type.from(x);
}

function typed(
  type: ElementType,
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
 * The raw values of instances the encoder accepted (so every value parses), in feature order, as
 * float64; integer model inputs refuse fractions and out-of-range numbers.
 */
function rawValues(
  preprocess: Preprocess,
  instances: readonly Record<string, unknown>[],
  columns: Column[],
): EncodedBatch {
  const features = preprocess.features;
  const width = features.length;
  const x = new Float64Array(instances.length * width);
  const errors: InstanceError[] = [];
  instances.forEach((instance, index) => {
    features.forEach((f, j) => {
      const parsed =
        f.type === 'boolean'
          ? parseBoolean(instance[f.name], 'request')
          : parseNumeric(instance[f.name], 'request');
      const value = typeof parsed === 'number' ? parsed : NaN;
      const column = columns[j];
      const range = column && INT_RANGE[column.type];
      if (range && !(Number.isInteger(value) && value >= range[0] && value <= range[1])) {
        errors.push({
          index,
          field: f.name,
          message: `expected an integer (model input "${column.input}" is ${column.type}), got ${String(instance[f.name])}`,
        });
      }
      x[index * width + j] = value;
    });
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, x, count: instances.length };
}
