/**
 * The inputs and outputs of an ONNX model (names, element types, shapes), read straight from the
 * protobuf without an ONNX runtime, so that `mlform artifact check` can verify artifact.json's
 * mapping where no runtime is installed.
 *
 * Only a hand-written subset of onnx.proto is declared (field numbers from the ONNX spec,
 * onnx/onnx.proto3): protobufjs skips every undeclared field without allocating for it, so the
 * nodes and the weights' bytes (TensorProto.raw_data, usually almost all of the file) are never
 * copied, TypeProto's recursive variants (sequence, map, optional) are not followed, and what is
 * decoded is a few small objects per graph input and output. The file itself is read bounded
 * (`maxWeightBytes`: an ONNX file holds its weights).
 */
import protobuf from 'protobufjs';
import { maxWeightBytes } from './limits.js';
import { readBounded } from './storage.js';

const SCHEMA = {
  nested: {
    ModelProto: {
      fields: {
        irVersion: { id: 1, type: 'int64' },
        producerName: { id: 2, type: 'string' },
        producerVersion: { id: 3, type: 'string' },
        graph: { id: 7, type: 'GraphProto' },
        opsetImport: { id: 8, type: 'OperatorSetIdProto', rule: 'repeated' },
      },
    },
    OperatorSetIdProto: {
      fields: { domain: { id: 1, type: 'string' }, version: { id: 2, type: 'int64' } },
    },
    GraphProto: {
      fields: {
        initializer: { id: 5, type: 'NamedTensor', rule: 'repeated' },
        input: { id: 11, type: 'ValueInfoProto', rule: 'repeated' },
        output: { id: 12, type: 'ValueInfoProto', rule: 'repeated' },
        sparseInitializer: { id: 15, type: 'NamedSparseTensor', rule: 'repeated' },
      },
    },
    /** TensorProto with only its name (8): dims, data and raw_data are skipped. */
    NamedTensor: { fields: { name: { id: 8, type: 'string' } } },
    /** SparseTensorProto: its name is that of `values` (1). */
    NamedSparseTensor: { fields: { values: { id: 1, type: 'NamedTensor' } } },
    ValueInfoProto: {
      fields: { name: { id: 1, type: 'string' }, type: { id: 2, type: 'TypeProto' } },
    },
    /** Only tensor_type (1); sequence (4), map (5), optional (9) and sparse (8) types are skipped. */
    TypeProto: { fields: { tensorType: { id: 1, type: 'TensorTypeProto' } } },
    TensorTypeProto: {
      fields: { elemType: { id: 1, type: 'int32' }, shape: { id: 2, type: 'TensorShapeProto' } },
    },
    TensorShapeProto: { fields: { dim: { id: 1, type: 'Dimension', rule: 'repeated' } } },
    Dimension: {
      fields: { dimValue: { id: 1, type: 'int64' }, dimParam: { id: 2, type: 'string' } },
    },
  },
};

const ModelProto = protobuf.Root.fromJSON(SCHEMA).lookupType('ModelProto');

/** TensorProto.DataType, by number. */
const ELEMENT_TYPES = [
  'undefined',
  'float',
  'uint8',
  'int8',
  'uint16',
  'int16',
  'int32',
  'int64',
  'string',
  'bool',
  'float16',
  'double',
  'uint32',
  'uint64',
  'complex64',
  'complex128',
  'bfloat16',
] as const;

/** Graph inputs and outputs beyond this are refused (a model's features are at most 10,000). */
const MAX_VALUES = 20_000;
const MAX_RANK = 64;

export interface OnnxValue {
  name: string;
  /** `float`, `int64`, ...; undefined when not a tensor (a sequence or a map). */
  elementType?: string;
  /** Dimensions: a size, a symbolic name (`batch`), or null when unknown; undefined: any rank. */
  shape?: (number | string | null)[];
}

export interface OnnxGraph {
  irVersion: number;
  producer?: string;
  /** Version of the default (`ai.onnx`) operator set. */
  opset?: number;
  /** Graph inputs a caller feeds (initializers listed in graph.input are left out). */
  inputs: OnnxValue[];
  outputs: OnnxValue[];
}

/** A file that is not an ONNX model, or one this reader refuses. */
export class OnnxGraphError extends Error {
  override name = 'OnnxGraphError';
}

interface RawDimension {
  dimValue?: number;
  dimParam?: string;
}
interface RawValueInfo {
  name?: string;
  type?: { tensorType?: { elemType?: number; shape?: { dim?: RawDimension[] } } };
}
interface RawModel {
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  opsetImport?: { domain?: string; version?: number }[];
  graph?: {
    initializer?: { name?: string }[];
    sparseInitializer?: { values?: { name?: string } }[];
    input?: RawValueInfo[];
    output?: RawValueInfo[];
  };
}

function valueOf(raw: RawValueInfo): OnnxValue {
  const tensor = raw.type?.tensorType;
  const dims = tensor?.shape?.dim;
  if (dims && dims.length > MAX_RANK) {
    throw new OnnxGraphError(`${raw.name ?? '?'} has rank ${dims.length}, over ${MAX_RANK}`);
  }
  return {
    name: raw.name ?? '',
    ...(tensor && { elementType: ELEMENT_TYPES[tensor.elemType ?? 0] ?? `type ${tensor.elemType}` }),
    ...(tensor?.shape && {
      shape: (dims ?? []).map((d) => d.dimValue ?? d.dimParam ?? null),
    }),
  };
}

/** The graph's inputs and outputs of an ONNX model file's bytes. */
export function readOnnxGraph(bytes: Uint8Array): OnnxGraph {
  let raw: RawModel;
  try {
    const message = ModelProto.decode(bytes);
    raw = ModelProto.toObject(message, { longs: Number, defaults: false }) as RawModel;
  } catch (e) {
    throw new OnnxGraphError(`not an ONNX model (${e instanceof Error ? e.message : String(e)})`);
  }
  const graph = raw.graph;
  if (!graph) throw new OnnxGraphError('not an ONNX model: it has no graph (ModelProto field 7)');
  const inputs = graph.input ?? [];
  const outputs = graph.output ?? [];
  if (inputs.length > MAX_VALUES || outputs.length > MAX_VALUES) {
    throw new OnnxGraphError(
      `the graph has ${inputs.length} inputs and ${outputs.length} outputs, over ${MAX_VALUES}`,
    );
  }
  const initializers = new Set<string>([
    ...(graph.initializer ?? []).map((t) => t.name ?? ''),
    ...(graph.sparseInitializer ?? []).map((t) => t.values?.name ?? ''),
  ]);
  const opset = raw.opsetImport?.find((o) => !o.domain || o.domain === 'ai.onnx')?.version;
  const producer = [raw.producerName, raw.producerVersion].filter(Boolean).join(' ');
  return {
    irVersion: raw.irVersion ?? 0,
    ...(producer !== '' && { producer }),
    ...(opset !== undefined && { opset }),
    inputs: inputs.filter((i) => !initializers.has(i.name ?? '')).map(valueOf),
    outputs: outputs.map(valueOf),
  };
}

/** Reads an ONNX file (file://, path or gs://), refused unread when over the weights limit. */
export async function readOnnxGraphFile(
  uri: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<OnnxGraph> {
  return readOnnxGraph(await readBounded(uri, maxWeightBytes(env)));
}
