/**
 * One loaded version of a trainer artifact: the TensorFlow.js model, the preprocess.json its
 * inputs are encoded with, and a synchronous `run` over already-encoded rows that the batcher
 * calls once per batch (one input tensor, one `dataSync`, everything else freed by `tf.tidy`;
 * MLPs through dense-forward.ts).
 */
import { errorMessage } from '../resources/error-message.js';
import * as tf from '@tensorflow/tfjs';
import { ARTIFACT_FILES } from '../artifact/files.js';
import { decodeOutputs, encodeInstances, encoderFor } from '../artifact/preprocess/index.js';
import { loadModel } from '../artifact/model-io.js';
import { applyModel } from '../artifact/apply-model.js';
import { compileDenseForward } from './dense-forward.js';
import { ARTIFACT_LIMITS, checkPreprocessCounts } from '../artifact/limits.js';
import { joinUri, readBounded } from '../artifact/storage.js';
import type { Preprocess } from '../artifact/preprocess/types.js';
import type { VersionConfig } from './config.js';
import { ArtifactError } from './artifact-error.js';
import { readDescriptor } from './artifact-descriptor.js';
import { loadOnnxVersion } from './onnx-version.js';
import type { InstanceError } from '../artifact/preprocess/index.js';
import { checkPreprocess } from './preprocess-check.js';

/** What the server knows about where a version came from (run.json), for metadata. */
export interface VersionProvenance {
  runName?: string;
  specHash?: string;
  finishedAt?: string;
  /** `spec.model` of the TrainingRun: the registered model the run feeds. */
  model?: string;
}

/** Instances checked and encoded for the batcher: count x rowSize values, or what is wrong. */
export type EncodedBatch =
  | { ok: true; x: Float32Array | Float64Array; count: number; anchor?: Float64Array }
  | { ok: false; errors: InstanceError[] };

export interface ModelVersion {
  readonly version: number;
  readonly uri: string;
  readonly preprocess: Preprocess;
  /** Values per instance in the model output: 1, or the number of classes. */
  readonly outputWidth: number;
  readonly provenance: VersionProvenance;
  /**
   * The model on `count` encoded instances (count x product(inputShape) values, as
   * encodeInstances returns them) -> count x outputWidth values. Synchronous: the wasm and cpu
   * backends compute on this thread anyway, and it keeps a batch atomic.
   */
  run(x: Float32Array, count: number): Float32Array;
  dispose(): void;
}

/**
 * A version of another format (onnx-version.ts): the model call is asynchronous (the runtime
 * computes on its own thread), instances may be encoded differently, and warm-up is its own.
 */
export interface AsyncModelVersion extends Omit<ModelVersion, 'run'> {
  /** v2 metadata `platform`, e.g. `onnxruntime_onnx`. */
  readonly platform: string;
  /** Why a missing value is refused whatever `limits.missingFeatures` says, when it is. */
  readonly missingValues?: string;
  /** Format-specific facts for the v1 metadata's `mlform` section. */
  readonly onnx?: Record<string, unknown>;
  encode(instances: readonly unknown[]): EncodedBatch;
  run(x: Float32Array | Float64Array, count: number): Promise<Float32Array>;
  warmUp(maxBatchSize: number): Promise<void>;
}

export type ServedVersion = ModelVersion | AsyncModelVersion;

export const isAsyncVersion = (v: ServedVersion): v is AsyncModelVersion => 'encode' in v;

/** Loads a version; the default of ModelServerOptions.loadVersion. */
export type VersionLoader = (config: VersionConfig) => Promise<ServedVersion>;

export { ArtifactError };
export { checkPreprocess };

const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Reads a JSON file of at most `maxBytes` (artifact-limits.ts): an oversized one is refused unread. */
async function readJson(uri: string, required: boolean, maxBytes: number): Promise<unknown> {
  let bytes: Buffer;
  try {
    bytes = await readBounded(uri, maxBytes);
  } catch (e) {
    if (!required && !(e instanceof Error && e.name === 'TooLargeError')) return undefined;
    throw new ArtifactError(`cannot read ${uri}: ${errorMessage(e)}`);
  }
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (e) {
    if (!required) return undefined;
    throw new ArtifactError(`${uri} is not JSON: ${errorMessage(e)}`);
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function provenanceOf(run: unknown): VersionProvenance {
  if (!isRecord(run)) return {};
  const out: VersionProvenance = {};
  if (typeof run.name === 'string') out.runName = run.name;
  if (typeof run.specHash === 'string') out.specHash = run.specHash;
  if (typeof run.finishedAt === 'string') out.finishedAt = run.finishedAt;
  if (isRecord(run.spec) && typeof run.spec.model === 'string') out.model = run.spec.model;
  return out;
}

/** The model's [batch, ...] shape without the batch dimension, from its (single) input or output. */
function shapeOf(tensors: tf.SymbolicTensor[], what: string, uri: string): number[] {
  if (tensors.length !== 1)
    throw new ArtifactError(`${uri}: the model has ${tensors.length} ${what}s; expected 1`);
  return tensors[0].shape.slice(1).map((d) => d ?? -1);
}

/**
 * Loads a version: the builtin trainer's files (no artifact.json, or `format: tfjs`), or an ONNX
 * model (`format: onnx`). Other formats are served by a serving container, not here.
 */
export const loadModelVersion: VersionLoader = async (config) => {
  const { uri } = config;
  const descriptor = await readDescriptor(uri);
  const format = descriptor?.format ?? 'tfjs';
  if (format !== 'tfjs' && format !== 'onnx') {
    throw new ArtifactError(
      `${uri}: format "${format}" is not served by mlform serve (tfjs and onnx are); serve it from your own image with the endpoint's spec.container`,
    );
  }
  const [preprocessJson, runJson] = await Promise.all([
    readJson(joinUri(uri, ARTIFACT_FILES.preprocess), format === 'tfjs', ARTIFACT_LIMITS.preprocessBytes),
    readJson(joinUri(uri, ARTIFACT_FILES.run), false, ARTIFACT_LIMITS.jsonBytes),
  ]);
  if (descriptor?.format === 'onnx') {
    return loadOnnxVersion(config, {
      descriptor,
      preprocess: preprocessJson,
      provenance: provenanceOf(runJson),
    });
  }
  return loadTfjsVersion(config, preprocessJson, runJson);
};

async function loadTfjsVersion(
  { version, uri }: VersionConfig,
  preprocessJson: unknown,
  runJson: unknown,
): Promise<ModelVersion> {
  try {
    checkPreprocessCounts(preprocessJson, joinUri(uri, ARTIFACT_FILES.preprocess));
  } catch (e) {
    throw new ArtifactError(errorMessage(e));
  }
  const preprocess = checkPreprocess(preprocessJson, joinUri(uri, ARTIFACT_FILES.preprocess));
  try {
    encoderFor(preprocess);
  } catch (e) {
    throw new ArtifactError(errorMessage(e));
  }
  let model: tf.LayersModel;
  try {
    model = await loadModel(uri);
  } catch (e) {
    throw new ArtifactError(`cannot load the model in ${uri}: ${errorMessage(e)}`);
  }
  const inputShape = preprocess.inputShape;
  const outputWidth = preprocess.target.type === 'label' ? preprocess.target.labels.length : 1;
  const modelIn = shapeOf(model.inputs, 'input', uri);
  const modelOut = shapeOf(model.outputs, 'output', uri);
  if (modelIn.join(',') !== inputShape.join(',') || product(modelOut) !== outputWidth) {
    model.dispose();
    throw new ArtifactError(
      `${uri}: model.json takes [${modelIn.join(', ')}] -> [${modelOut.join(', ')}] but preprocess.json ` +
        `encodes [${inputShape.join(', ')}] -> [${outputWidth}]: the files come from different runs`,
    );
  }
  const rowSize = product(inputShape);
  // MLPs skip tfjs-layers' per-call overhead (same kernels, same numbers); others use apply().
  const forward = compileDenseForward(model);
  let disposed = false;
  return {
    version,
    uri,
    preprocess,
    outputWidth,
    provenance: provenanceOf(runJson),
    run(x, count) {
      if (x.length !== count * rowSize) {
        throw new Error(`got ${x.length} input values for ${count} instances of ${rowSize}`);
      }
      return tf.tidy(() => {
        const input = tf.tensor(x, [count, ...inputShape], 'float32');
        const output = forward ? forward(input) : applyModel(model, input, false);
        return output.dataSync() as Float32Array;
      });
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      model.dispose();
    },
  };
}

/**
 * Runs the whole request path once before the version takes traffic: encoder and decoder
 * (compiling their code paths), and the model at batch sizes 1 and `maxBatchSize`, so the backend
 * has compiled its kernels and grown its heap before the first client waits on it.
 */
export function warmUp(version: ServedVersion, maxBatchSize: number): void | Promise<void> {
  if (isAsyncVersion(version)) return version.warmUp(maxBatchSize);
  const { preprocess } = version;
  // A tabular instance with every feature missing is valid (fill values); forecasting needs a
  // history, so its encoder is exercised by the first real request instead.
  if (!preprocess.window) {
    const encoded = encodeInstances(preprocess, [{}]);
    if (encoded.ok) decodeOutputs(preprocess, version.run(encoded.x, 1), 1, encoded.anchor);
  }
  const rowSize = product(preprocess.inputShape);
  for (const count of new Set([1, maxBatchSize])) {
    const output = version.run(new Float32Array(count * rowSize), count);
    if (output.length !== count * version.outputWidth) {
      throw new ArtifactError(
        `${version.uri}: warm-up produced ${output.length} values for ${count} instances`,
      );
    }
    decodeOutputs(preprocess, output, count, preprocess.window ? new Float64Array(count) : undefined);
  }
}
