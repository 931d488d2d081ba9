/**
 * Saving and loading TensorFlow.js models to a directory or a gs:// prefix.
 *
 * Plain @tensorflow/tfjs registers no `file://` handler (tfjs-node does), and none for gs://, so
 * this module is the one IOHandler for both, on top of artifact/storage.ts. The files are the
 * standard layers-model format: `model.json` with
 * `weightsManifest: [{paths: ['weights.bin'], weights: [...]}]` and one `weights.bin`, which
 * tfjs-node's `file://` loader, tfjs-converter tooling and the browser `http://` loader read too.
 */
import { errorMessage } from '../resources/error-message.js';
import * as tf from '@tensorflow/tfjs';
import { ArtifactLimitError, ARTIFACT_LIMITS, maxWeightBytes } from './limits.js';
import { declaredWeights, topologyParameters } from './model-size.js';
import { joinUri, readBounded, storeFor } from './storage.js';

import { isRelativeFile, MODEL_JSON, WEIGHTS_BIN } from './model-files.js';

export { isRelativeFile, MODEL_JSON, WEIGHTS_BIN };

/** One ArrayBuffer from weight data that tfjs may hand over as one buffer or as shards. */
export function joinWeightData(data: tf.io.WeightData): ArrayBuffer {
  const buffers = Array.isArray(data) ? data : [data];
  if (buffers.length === 1) return buffers[0];
  const total = buffers.reduce((sum, b) => sum + b.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const buffer of buffers) {
    out.set(new Uint8Array(buffer), offset);
    offset += buffer.byteLength;
  }
  return out.buffer;
}

/** A Node Buffer's bytes as an exact ArrayBuffer (Buffers may be views into a shared pool). */
const toArrayBuffer = (bytes: Uint8Array): ArrayBuffer =>
  bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;

function parseModelJson(text: string, uri: string): tf.io.ModelJSON {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${uri} is not JSON: ${errorMessage(e)}`);
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    !('modelTopology' in parsed) ||
    typeof parsed.modelTopology !== 'object' ||
    parsed.modelTopology === null ||
    !('weightsManifest' in parsed) ||
    !Array.isArray(parsed.weightsManifest)
  ) {
    throw new Error(`${uri} is not a TensorFlow.js layers model (needs modelTopology and weightsManifest)`);
  }
  for (const group of parsed.weightsManifest as unknown[]) {
    if (
      typeof group !== 'object' ||
      group === null ||
      !('paths' in group) ||
      !Array.isArray(group.paths) ||
      !group.paths.every((p: unknown) => typeof p === 'string' && isRelativeFile(p)) ||
      !('weights' in group) ||
      !Array.isArray(group.weights)
    ) {
      throw new Error(`${uri}: every weightsManifest entry needs relative paths and weights`);
    }
  }
  return parsed as tf.io.ModelJSON;
}

/**
 * An IOHandler that writes model.json + weights.bin under `dirUri` (a path, file:// URI or gs://
 * prefix) and reads them back. weights.bin is written first and model.json last, each atomically
 * where the store allows, so a reader never sees a model.json whose weights are missing.
 */
export function storeIOHandler(dirUri: string): tf.io.IOHandler {
  const store = storeFor(dirUri);
  const modelUri = joinUri(dirUri, MODEL_JSON);
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer || artifacts.modelTopology === undefined) {
        throw new Error('only layers models with a JSON topology can be saved');
      }
      if (artifacts.weightData === undefined && artifacts.getWeightStream !== undefined) {
        throw new Error('streamed weights are not supported; save from a model held in memory');
      }
      const weights = joinWeightData(artifacts.weightData ?? new ArrayBuffer(0));
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.trainingConfig !== undefined && { trainingConfig: artifacts.trainingConfig }),
        ...(artifacts.signature !== undefined && { signature: artifacts.signature }),
        ...(artifacts.userDefinedMetadata !== undefined && {
          userDefinedMetadata: artifacts.userDefinedMetadata,
        }),
        ...(artifacts.modelInitializer !== undefined && { modelInitializer: artifacts.modelInitializer }),
        ...(artifacts.initializerSignature !== undefined && {
          initializerSignature: artifacts.initializerSignature,
        }),
      };
      await store.write(joinUri(dirUri, WEIGHTS_BIN), new Uint8Array(weights));
      await store.write(modelUri, JSON.stringify(modelJson));
      return {
        modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON({ ...artifacts, weightData: weights }),
      };
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      const modelJson = parseModelJson(
        (await readBounded(modelUri, ARTIFACT_LIMITS.modelJsonBytes)).toString('utf8'),
        modelUri,
      );
      // Everything is sized before tfjs builds a layer (which allocates) or a shard is read.
      const shardUris = modelJson.weightsManifest.flatMap((group) =>
        group.paths.map((p) => joinUri(dirUri, p)),
      );
      const expected = await checkModelSize(modelJson, shardUris, modelUri);
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs = manifest.flatMap((group) => group.weights);
        const shards: ArrayBuffer[] = [];
        let read = 0;
        for (const uri of shardUris) {
          const bytes = await readBounded(uri, expected - read);
          read += bytes.length;
          shards.push(toArrayBuffer(bytes));
        }
        if (read !== expected) throw sizeMismatch(modelUri, expected, read);
        return [specs, joinWeightData(shards)];
      });
    },
  };
}

const sizeMismatch = (uri: string, declared: number, actual: number): ArtifactLimitError =>
  new ArtifactLimitError(
    `${uri} declares ${declared} bytes of weights but its weight files hold ${actual}: the files do not belong together`,
  );

/**
 * The parameters the topology implies, those the weights manifest declares and the bytes of the
 * weight files must agree, and stay under the limit (`MLFORM_MAX_MODEL_BYTES`, default 512 MiB).
 * Returns the weight bytes to read.
 */
async function checkModelSize(modelJson: tf.io.ModelJSON, shardUris: string[], uri: string): Promise<number> {
  const maxBytes = maxWeightBytes();
  const declared = declaredWeights(modelJson.weightsManifest, maxBytes, uri);
  if (declared.bytes > maxBytes) {
    throw new ArtifactLimitError(
      `${uri} declares more than ${maxBytes} bytes of weights, over the limit (MLFORM_MAX_MODEL_BYTES)`,
    );
  }
  const implied = topologyParameters(modelJson.modelTopology, declared.elements, uri);
  if (implied !== declared.elements) {
    throw new ArtifactLimitError(
      `${uri}: the topology has ${implied > declared.elements ? `more than ${declared.elements}` : implied} parameters but the weights manifest declares ${declared.elements}`,
    );
  }
  let actual = 0;
  for (const shard of shardUris) {
    const store = storeFor(shard);
    // A store that cannot tell sizes is measured while reading (load above).
    if (!store.size) return declared.bytes;
    actual += await store.size(shard);
  }
  if (actual !== declared.bytes) throw sizeMismatch(uri, declared.bytes, actual);
  return declared.bytes;
}

/** Saves topology and weights (not the optimizer: checkpoints carry that, see training/checkpoint.ts). */
export async function saveModel(model: tf.LayersModel, dirUri: string): Promise<tf.io.SaveResult> {
  return model.save(storeIOHandler(dirUri));
}

export async function loadModel(dirUri: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(storeIOHandler(dirUri));
}
