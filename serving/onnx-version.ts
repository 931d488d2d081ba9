/**
 * One loaded version of an ONNX artifact (artifact.json `format: onnx`), served through
 * onnxruntime-node behind the same ModelVersion interface as the builtin models: the server's
 * strict checks, encoder, decoder, batcher and metadata all work on `preprocess`, which is the
 * artifact's preprocess.json for the `encoded` input kind and, for the raw kinds (`stacked`,
 * `named`), a preprocess that passes the declared features through unchanged (mean 0, std 1) and
 * decodes the output as it is. Raw kinds declare no fill value, so a missing value is refused.
 *
 * The runtime is imported on first use, so a server of builtin models never loads it.
 */
import { mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import type * as Ort from 'onnxruntime-node';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { DEFAULT_MODEL_PATH, CONTRACT_FILES, type ArtifactDescriptor } from '../artifact/contract.js';
import { checkPreprocessCounts, maxWeightBytes } from '../artifact/limits.js';
import { decodeOutputs, encodeInstances, encoderFor } from '../artifact/preprocess/index.js';
import type { FeatureEncoding, Preprocess } from '../artifact/preprocess/types.js';
import { isGcsUri, joinUri, readBounded, toLocalPath } from '../artifact/storage.js';
import { errorMessage } from '../resources/error-message.js';
import { ArtifactError } from './artifact-error.js';
import type { VersionConfig } from './config.js';
import type { AsyncModelVersion, EncodedBatch, VersionProvenance } from './model-version.js';
import { planInputs, type InputPlan } from './onnx-inputs.js';
import { checkPreprocess } from './preprocess-check.js';

type Runtime = typeof Ort;
let runtime: Promise<Runtime> | undefined;
const onnxRuntime = (): Promise<Runtime> => (runtime ??= import('onnxruntime-node'));

/** What `missingValues` says for raw input kinds (strict-inputs.ts words the 400 with it). */
export const NO_FILL_REASON = 'the ONNX artifact declares no fill value; send a value';

export interface OnnxArtifact {
  descriptor: ArtifactDescriptor;
  /** preprocess.json, read by the caller when the artifact has one. */
  preprocess: unknown;
  provenance: VersionProvenance;
}

export async function loadOnnxVersion(
  config: VersionConfig,
  artifact: OnnxArtifact,
): Promise<AsyncModelVersion> {
  const { version, uri } = config;
  const d = artifact.descriptor;
  const inputKind = d.input?.kind ?? (artifact.preprocess === undefined ? 'stacked' : 'encoded');
  const preprocess =
    inputKind === 'encoded' ? encodedPreprocess(d, artifact.preprocess, uri) : rawPreprocess(d, uri);
  const outputKind = d.output?.kind ?? (d.task === 'regression' ? 'value' : undefined);
  if (outputKind === undefined) {
    throw new ArtifactError(
      `${uri}/${CONTRACT_FILES.descriptor}: output.kind is required for classification: "logits" (the server applies softmax) or "probabilities"`,
    );
  }
  if ((outputKind === 'value') !== (d.task === 'regression')) {
    throw new ArtifactError(
      `${uri}/${CONTRACT_FILES.descriptor}: output.kind "${outputKind}" does not fit task ${d.task} (regression: value; classification: logits or probabilities)`,
    );
  }
  const outputWidth = preprocess.target.type === 'label' ? preprocess.target.labels.length : 1;

  const ort = await onnxRuntime();
  const session = await createSession(ort, uri, d.model ?? (DEFAULT_MODEL_PATH.onnx as string));
  let plan: InputPlan;
  let outputName: string;
  try {
    plan = planInputs(ort, session, inputKind, d, preprocess);
    outputName = pickOutput(session, d.output?.name, outputWidth, outputKind === 'value');
  } catch (e) {
    await session.release();
    throw new ArtifactError(`${uri}: ${errorMessage(e)}`);
  }

  const softmax = outputKind === 'logits';
  let running = Promise.resolve();
  let released = false;
  const served: AsyncModelVersion = {
    version,
    uri,
    preprocess,
    outputWidth,
    provenance: artifact.provenance,
    platform: 'onnxruntime_onnx',
    ...(inputKind !== 'encoded' && { missingValues: NO_FILL_REASON }),
    onnx: { inputKind, outputKind, inputs: plan.describe(), output: outputName },
    encode: (instances) => encodeFor(plan, preprocess, instances),
    async run(x, count) {
      const feeds = plan.feeds(x, count);
      const run = session.run(feeds, [outputName]);
      running = run.then(
        () => undefined,
        () => undefined,
      );
      const out: Tensor = (await run)[outputName];
      const values = out.data;
      if (!(values instanceof Float32Array || values instanceof Float64Array)) {
        throw new Error(`output "${outputName}" is ${out.type}; expected float32 or float64`);
      }
      if (values.length !== count * outputWidth) {
        throw new Error(`output "${outputName}" has ${values.length} values for ${count} instances`);
      }
      const result = values instanceof Float32Array ? values : Float32Array.from(values);
      if (softmax) softmaxRows(result, outputWidth);
      return result;
    },
    async warmUp(maxBatchSize) {
      for (const count of new Set([1, maxBatchSize])) {
        const output = await served.run(new plan.Values(count * plan.rowSize), count);
        decodeOutputs(preprocess, output, count);
      }
    },
    dispose() {
      if (released) return;
      released = true;
      // A batch may still be running on the runtime's threads: release after it.
      void running.then(() => session.release()).catch(() => undefined);
    },
  };
  return served;
}

/** Reads the model file inside the artifact (size-limited) and builds the session. */
async function createSession(ort: Runtime, uri: string, modelPath: string): Promise<InferenceSession> {
  const file = joinUri(uri, modelPath);
  if (!isGcsUri(uri)) await checkInside(toLocalPath(uri), toLocalPath(file), modelPath);
  let bytes: Buffer;
  try {
    bytes = await readBounded(file, maxWeightBytes());
  } catch (e) {
    throw new ArtifactError(`cannot read the ONNX model ${file}: ${errorMessage(e)}`);
  }
  // External data (weights in other files) is refused: ORT would read it from this empty folder,
  // so the model is exactly the bytes counted above and cannot name a file of this machine.
  const noExternalData = await mkdtemp(join(tmpdir(), 'mlform-onnx-'));
  try {
    return await ort.InferenceSession.create(bytes, {
      // One thread per session: batches are small and the server's throughput comes from
      // batching; more threads would contend with the event loop on the same cores.
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // The runtime's own log lines would bypass the server's JSON logs; its errors reach the
      // operator through the sentence below.
      logSeverityLevel: 4,
      extra: { session: { model_external_initializers_file_folder_path: noExternalData } },
    });
  } catch (e) {
    const external = /external data/i.test(errorMessage(e))
      ? ' (external data files are not supported: export the model as one self-contained .onnx file)'
      : '';
    throw new ArtifactError(
      `${file} is not an ONNX model onnxruntime can load${external}: ${errorMessage(e)}`,
    );
  } finally {
    await rm(noExternalData, { recursive: true, force: true });
  }
}

/** A symlink in the (attacker-written) artifact must not lead the server out of its folder. */
async function checkInside(dir: string, file: string, modelPath: string): Promise<void> {
  let root: string;
  let target: string;
  try {
    [root, target] = await Promise.all([realpath(dir), realpath(file)]);
  } catch (e) {
    throw new ArtifactError(`cannot read the ONNX model ${file}: ${errorMessage(e)}`);
  }
  if (!target.startsWith(root + sep)) {
    throw new ArtifactError(
      `${dir}: model "${modelPath}" resolves outside the artifact folder (a symbolic link?); the model file must be inside it`,
    );
  }
}

/** The output the predictions come from, checked against the task's width where declared. */
function pickOutput(
  session: InferenceSession,
  name: string | undefined,
  width: number,
  value: boolean,
): string {
  const names = session.outputNames;
  if (name === undefined && names.length !== 1) {
    throw new Error(
      `the model has ${names.length} outputs (${names.join(', ')}); name the one to serve in artifact.json output.name`,
    );
  }
  const chosen = name ?? names[0];
  const index = names.indexOf(chosen);
  if (index < 0)
    throw new Error(
      `artifact.json output.name "${chosen}" is not an output of the model (${names.join(', ')})`,
    );
  const meta = session.outputMetadata[index];
  if (meta.isTensor) {
    const shape = meta.shape;
    const fits = value
      ? shape.length === 1 || (shape.length === 2 && (shape[1] === 1 || typeof shape[1] === 'string'))
      : shape.length === 2 && (shape[1] === width || typeof shape[1] === 'string');
    if (!fits) {
      throw new Error(
        `output "${chosen}" has shape [${shape.join(', ')}]; expected ${value ? '[N] or [N, 1]' : `[N, ${width}] (one per label)`}`,
      );
    }
  }
  return chosen;
}

function softmaxRows(values: Float32Array, width: number): void {
  for (let row = 0; row < values.length; row += width) {
    let max = -Infinity;
    for (let j = 0; j < width; j++) max = Math.max(max, values[row + j]);
    let sum = 0;
    for (let j = 0; j < width; j++) sum += Math.exp(values[row + j] - max);
    for (let j = 0; j < width; j++) values[row + j] = Math.exp(values[row + j] - max) / sum;
  }
}

/**
 * `encoded`: the artifact's preprocess.json, checked like a builtin one, and consistent with
 * artifact.json (task, labels, feature names where given).
 */
function encodedPreprocess(d: ArtifactDescriptor, json: unknown, uri: string): Preprocess {
  const file = `${uri}/${CONTRACT_FILES.preprocess}`;
  if (json === undefined) {
    throw new ArtifactError(
      `${uri}: input.kind "encoded" needs ${CONTRACT_FILES.preprocess} (how raw values are encoded); add it, or declare input.kind "stacked" or "named"`,
    );
  }
  let preprocess: Preprocess;
  try {
    checkPreprocessCounts(json, file);
    preprocess = checkPreprocess(json, file);
    encoderFor(preprocess);
  } catch (e) {
    throw e instanceof ArtifactError ? e : new ArtifactError(errorMessage(e));
  }
  const mismatch = (what: string): never => {
    throw new ArtifactError(
      `${uri}: artifact.json and ${CONTRACT_FILES.preprocess} disagree on ${what}: the files come from different runs`,
    );
  };
  if (preprocess.window) mismatch('the task (forecasting is served from builtin artifacts only)');
  if (preprocess.task !== d.task) mismatch(`the task (${d.task} vs ${preprocess.task})`);
  if (
    d.labels &&
    (preprocess.target.type !== 'label' || preprocess.target.labels.join('\n') !== d.labels.join('\n'))
  ) {
    mismatch('the labels');
  }
  if (
    d.features &&
    d.features.map((f) => f.name).join('\n') !== preprocess.features.map((f) => f.name).join('\n')
  ) {
    mismatch('the features');
  }
  return preprocess;
}

/** `stacked` and `named`: the declared features, passed through as they are. */
function rawPreprocess(d: ArtifactDescriptor, uri: string): Preprocess {
  const file = `${uri}/${CONTRACT_FILES.descriptor}`;
  if (!d.features) {
    throw new ArtifactError(
      `${file}: features is required for input.kind "${d.input?.kind ?? 'stacked'}": the raw features clients send, in the model's order`,
    );
  }
  const features = d.features.map((f, i): FeatureEncoding => {
    if (f.type === 'numeric') return { name: f.name, type: 'numeric', mean: 0, std: 1, fill: 0 };
    if (f.type === 'boolean') return { name: f.name, type: 'boolean', fill: 0 };
    throw new ArtifactError(
      `${file}: features.${i} ("${f.name}") is categorical: raw input kinds take numeric and boolean features; encode categories with ${CONTRACT_FILES.preprocess} (input.kind "encoded") or inside the model from a number`,
    );
  });
  const names = new Set<string>();
  for (const f of features) {
    if (names.has(f.name)) throw new ArtifactError(`${file}: feature "${f.name}" is declared twice`);
    names.add(f.name);
  }
  if (d.target !== undefined && names.has(d.target)) {
    throw new ArtifactError(`${file}: the target "${d.target}" is also a feature`);
  }
  let target: Preprocess['target'];
  if (d.task === 'regression') target = { type: 'numeric', name: d.target ?? 'prediction', mean: 0, std: 1 };
  else if (d.labels) target = { type: 'label', name: d.target ?? 'label', labels: d.labels };
  else
    throw new ArtifactError(
      `${file}: labels is required for classification: the class names in the order of the model output`,
    );
  return {
    formatVersion: 1,
    task: d.task,
    features,
    target,
    encodedWidth: features.length,
    inputShape: [features.length],
  };
}

/**
 * Raw kinds: the encoder checks names and types (did-you-mean, wrong types, nested values), then
 * the values go to the model as the client sent them, in float64 so that a float64 or integer
 * input sees exactly the number sent; integer inputs refuse fractions.
 */
function encodeFor(plan: InputPlan, preprocess: Preprocess, instances: readonly unknown[]): EncodedBatch {
  const encoded = encodeInstances(preprocess, instances);
  if (!encoded.ok || !plan.raw) return encoded;
  return plan.rawValues(instances as readonly Record<string, unknown>[]);
}
