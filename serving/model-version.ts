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

/** What the server knows about where a version came from (run.json), for metadata. */
export interface VersionProvenance {
  runName?: string;
  specHash?: string;
  finishedAt?: string;
  /** `spec.model` of the TrainingRun: the registered model the run feeds. */
  model?: string;
}

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

/** Loads a version; the default of ModelServerOptions.loadVersion. */
export type VersionLoader = (config: VersionConfig) => Promise<ModelVersion>;

export class ArtifactError extends Error {
  override name = 'ArtifactError';
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isPositiveIntegers = (value: unknown): value is number[] =>
  Array.isArray(value) && value.length > 0 && value.every((d) => Number.isInteger(d) && (d as number) > 0);

/**
 * A structural check of preprocess.json: enough that a corrupt or foreign file fails at load with
 * a sentence, not at the first request with a TypeError. The encoder checks the rest.
 */
export function checkPreprocess(value: unknown, uri: string): Preprocess {
  const fail = (what: string): never => {
    throw new ArtifactError(`${uri}: ${what}`);
  };
  if (!isRecord(value)) return fail('expected a JSON object');
  if (value.formatVersion !== 1)
    return fail(`formatVersion ${JSON.stringify(value.formatVersion)} is not supported (expected 1)`);
  if (!['regression', 'classification', 'forecasting'].includes(String(value.task)))
    return fail('task is missing or unknown');
  if (
    !Array.isArray(value.features) ||
    !value.features.every((f) => isRecord(f) && typeof f.name === 'string')
  ) {
    return fail('features must be a list of {name, type, ...}');
  }
  const target = value.target;
  if (!isRecord(target) || typeof target.name !== 'string') return fail('target must be {type, name, ...}');
  if (target.type === 'label') {
    if (
      !Array.isArray(target.labels) ||
      target.labels.length < 2 ||
      !target.labels.every((l) => typeof l === 'string')
    ) {
      return fail('target.labels must be at least 2 strings');
    }
  } else if (target.type !== 'numeric' || typeof target.mean !== 'number' || typeof target.std !== 'number') {
    return fail('target must be {type: "numeric", mean, std} or {type: "label", labels}');
  }
  if (!isPositiveIntegers(value.inputShape)) return fail('inputShape must be a list of positive integers');
  if (typeof value.encodedWidth !== 'number') return fail('encodedWidth is missing');
  if (value.task === 'forecasting' && !isRecord(value.window)) return fail('forecasting needs window');
  return value as unknown as Preprocess;
}

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

export const loadModelVersion: VersionLoader = async ({ version, uri }) => {
  const [preprocessJson, runJson] = await Promise.all([
    readJson(joinUri(uri, ARTIFACT_FILES.preprocess), true, ARTIFACT_LIMITS.preprocessBytes),
    readJson(joinUri(uri, ARTIFACT_FILES.run), false, ARTIFACT_LIMITS.jsonBytes),
  ]);
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
};

/**
 * Runs the whole request path once before the version takes traffic: encoder and decoder
 * (compiling their code paths), and the model at batch sizes 1 and `maxBatchSize`, so the backend
 * has compiled its kernels and grown its heap before the first client waits on it.
 */
export function warmUp(version: ModelVersion, maxBatchSize: number): void {
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
