/**
 * `mlform artifact check DIR`: validates a folder against the artifact contract (docs/artifact.md,
 * contract.ts), every problem at once, each with the file, the field path and a fix. Works on local
 * folders and gs:// prefixes (storage.ts). Everything in an artifact is attacker-written: every read
 * is bounded (limits.ts), and a local file that leads outside the folder (a symlink) is refused
 * unread, since its content could otherwise be quoted back in a diagnostic.
 */
import { realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { error, warning, type Diagnostic } from '../resources/diagnostic.js';
import { errorMessage } from '../resources/error-message.js';
import type { Task } from '../resources/training-run.js';
import {
  ArtifactDescriptorSchema,
  CONTRACT_FILES,
  DEFAULT_MODEL_PATH,
  type ArtifactDescriptor,
  type ModelFormat,
} from './contract.js';
import { checkMetrics, checkPreprocess, checkStatistics, DOCS, schemaProblems } from './check-files.js';
import {
  builtinDescriptor,
  checkDescriptor,
  checkOnnxMapping,
  inputKindOf,
  outputKindOf,
} from './check-mapping.js';
import { ARTIFACT_FILES } from './files.js';
import { ARTIFACT_LIMITS, maxWeightBytes } from './limits.js';
import { readOnnxGraph } from './onnx-graph.js';
import { isGcsUri, readBounded, storeFor, toLocalPath } from './storage.js';

export { checkMetrics };

export interface ArtifactSummary {
  /** `builtin`: the builtin trainer's files, which imply their descriptor (no artifact.json). */
  descriptor: 'artifact.json' | 'builtin' | 'missing';
  model?: string;
  features?: number;
  input?: string;
  output?: string;
  labels?: number;
  metrics: Record<string, number | null>;
  baseline: Record<string, number | null>;
  statistics: boolean;
}

export interface ArtifactCheck {
  ok: boolean;
  format?: ModelFormat;
  task?: Task;
  diagnostics: Diagnostic[];
  summary: ArtifactSummary;
}

export interface CheckOptions {
  env?: NodeJS.ProcessEnv;
}

/** `metrics.json: metrics.val_mae must be a number or null; got string "1.2"`: a problem as one line. */
export function artifactProblem(d: Diagnostic): string {
  const where = d.file ?? '';
  return where && !d.message.startsWith(where) ? `${where}: ${d.message}` : d.message;
}

interface Folder {
  uri: string;
  /** Real path of a local folder (symlinks resolved), for the inside-the-folder checks. */
  real?: string;
  /** Relative names of every file in it. */
  files: Set<string>;
}

const relativeTo = (root: string, full: string): string =>
  full.startsWith(`${root}/`) ? full.slice(root.length + 1) : full.slice(root.length);

async function openFolder(dirUri: string): Promise<Folder | Diagnostic> {
  if (isGcsUri(dirUri)) {
    const uri = dirUri.replace(/\/+$/, '');
    const listed = await storeFor(uri).list(uri);
    return { uri, files: new Set(listed.map((f) => relativeTo(uri, f))) };
  }
  const path = toLocalPath(dirUri);
  try {
    if (!(await stat(path)).isDirectory()) {
      return error('artifact-not-a-folder', `${dirUri} is not a folder`, {
        hint: 'give the folder the trainer wrote (AIP_MODEL_DIR)',
      });
    }
  } catch {
    return error('artifact-not-found', `${dirUri} does not exist`, {
      hint: 'give the folder the trainer wrote (AIP_MODEL_DIR)',
    });
  }
  const real = await realpath(path);
  const listed = await storeFor(real).list(real);
  return { uri: real, real, files: new Set(listed.map((f) => relativeTo(real, f))) };
}

/** A local file whose real path leaves the folder (a symlink out) is refused unread. */
async function outside(folder: Folder, name: string): Promise<boolean> {
  if (folder.real === undefined) return false;
  try {
    const real = await realpath(join(folder.real, name));
    return real !== folder.real && !real.startsWith(`${folder.real}${sep}`);
  } catch {
    return false;
  }
}

const outsideProblem = (file: string): Diagnostic =>
  error('artifact-outside', 'leads outside the artifact folder (a symlink); it was not read', {
    file,
    hint: 'write the file itself into the folder',
  });

/** One of the contract's JSON files, read bounded and parsed; undefined when absent or unusable. */
async function readJson(folder: Folder, file: string, maxBytes: number, out: Diagnostic[]): Promise<unknown> {
  if (!folder.files.has(file)) return undefined;
  if (await outside(folder, file)) {
    out.push(outsideProblem(file));
    return undefined;
  }
  let text: string;
  try {
    text = (await readBounded(`${folder.uri}/${file}`, maxBytes, file)).toString('utf8');
  } catch (e) {
    out.push(error('artifact-unreadable', errorMessage(e), { file, hint: `see ${DOCS} "Limits"` }));
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    out.push(
      error('artifact-not-json', `not JSON: ${errorMessage(e)}`, {
        file,
        hint: 'write it with json.dump (NaN and Infinity are not JSON: write null)',
      }),
    );
    return undefined;
  }
}

/** The model file (or folder) is there and stays inside the artifact folder. */
async function checkModelFile(
  folder: Folder,
  model: string | undefined,
  format: ModelFormat,
  out: Diagnostic[],
) {
  const file = CONTRACT_FILES.descriptor;
  if (model === undefined) {
    if (format !== 'other') return;
    out.push(
      warning('artifact-no-model', 'format "other" without `model`: nothing says which file is the model', {
        file,
        path: ['model'],
        hint: 'set model to the model file or folder your serving container loads',
      }),
    );
    return;
  }
  const inFolder = [...folder.files].filter((f) => f === model || f.startsWith(`${model}/`));
  if (inFolder.length === 0) {
    out.push(
      error('artifact-missing-model', `model ${model} is not in the artifact folder`, {
        file,
        path: ['model'],
        hint: `write the ${format} model to AIP_MODEL_DIR/${model}, or set model to where it is`,
      }),
    );
    return;
  }
  for (const name of inFolder) {
    if (await outside(folder, name)) {
      out.push({ ...outsideProblem(name), path: ['model'] });
      return;
    }
  }
}

const describeNumber = (n: number | null): string => (n === null ? 'null' : String(Number(n.toPrecision(3))));

/** `onnx regression model, 7 features, metrics val_mae 2.1 (baseline 6.4)` */
export function describeArtifact(check: ArtifactCheck): string {
  const s = check.summary;
  const parts = [`${check.format ?? 'unknown'} ${check.task ?? ''} model`.replace(/\s+/g, ' ')];
  if (s.features !== undefined) parts.push(`${s.features} feature${s.features === 1 ? '' : 's'}`);
  if (s.labels !== undefined) parts.push(`${s.labels} labels`);
  const shown = Object.keys(s.metrics).filter((name) => name.startsWith('val_') && name !== 'val_loss');
  const metrics = (shown.length > 0 ? shown : Object.keys(s.metrics)).slice(0, 2).map((name) => {
    const base = s.baseline[name];
    return `${name} ${describeNumber(s.metrics[name])}${base !== undefined ? ` (baseline ${describeNumber(base)})` : ''}`;
  });
  if (metrics.length > 0) parts.push(`metrics ${metrics.join(', ')}`);
  if (s.statistics) parts.push('reference statistics');
  return parts.join(', ');
}

/** Checks an artifact folder (a path, file:// or gs:// URI) against the contract. */
export async function checkArtifact(dirUri: string, options: CheckOptions = {}): Promise<ArtifactCheck> {
  const out: Diagnostic[] = [];
  const summary: ArtifactSummary = { descriptor: 'missing', metrics: {}, baseline: {}, statistics: false };
  const done = (extra: Partial<ArtifactCheck> = {}): ArtifactCheck => ({
    ok: !out.some((d) => d.severity === 'error'),
    ...extra,
    diagnostics: out,
    summary,
  });
  let folder: Folder;
  try {
    const opened = await openFolder(dirUri);
    if ('severity' in opened) {
      out.push(opened);
      return done();
    }
    folder = opened;
  } catch (e) {
    out.push(error('artifact-unreadable', `${dirUri} could not be listed: ${errorMessage(e)}`));
    return done();
  }

  // metrics.json
  const metricsValue = await readJson(folder, CONTRACT_FILES.metrics, ARTIFACT_LIMITS.jsonBytes, out);
  if (metricsValue === undefined && !folder.files.has(CONTRACT_FILES.metrics)) {
    out.push(
      error(
        'artifact-missing-file',
        'missing: every trainer writes its validation metrics and the baseline',
        {
          file: CONTRACT_FILES.metrics,
          hint: `write {"formatVersion": 1, "metrics": {...}, "baseline": {...}} (${DOCS} "metrics.json")`,
        },
      ),
    );
  } else if (metricsValue !== undefined) {
    const checked = checkMetrics(metricsValue);
    out.push(...checked.diagnostics);
    if (checked.metrics) {
      summary.metrics = checked.metrics.metrics;
      summary.baseline = checked.metrics.baseline;
    }
  }

  // preprocess.json
  const preprocessValue = await readJson(
    folder,
    CONTRACT_FILES.preprocess,
    ARTIFACT_LIMITS.preprocessBytes,
    out,
  );
  const preprocess = preprocessValue === undefined ? undefined : checkPreprocess(preprocessValue, out);

  // artifact.json, or the builtin trainer's files
  let descriptor: ArtifactDescriptor | undefined;
  const descriptorValue = await readJson(folder, CONTRACT_FILES.descriptor, ARTIFACT_LIMITS.jsonBytes, out);
  if (descriptorValue !== undefined) {
    const problems = schemaProblems(CONTRACT_FILES.descriptor, ArtifactDescriptorSchema, descriptorValue);
    out.push(...problems);
    if (problems.length === 0) {
      descriptor = descriptorValue as ArtifactDescriptor;
      summary.descriptor = 'artifact.json';
      checkDescriptor(descriptor, preprocess, folder.files.has(CONTRACT_FILES.preprocess), out);
    }
  } else if (!folder.files.has(CONTRACT_FILES.descriptor)) {
    const builtin = [ARTIFACT_FILES.model, ARTIFACT_FILES.weights, ARTIFACT_FILES.preprocess];
    if (builtin.every((f) => folder.files.has(f))) {
      descriptor = builtinDescriptor(preprocess);
      summary.descriptor = 'builtin';
    } else {
      out.push(
        error(
          'artifact-missing-file',
          "missing: nothing says the model's format and how features map to its inputs",
          {
            file: CONTRACT_FILES.descriptor,
            hint: `write {"formatVersion": 1, "format": "onnx", "task": ..., "input": ..., "output": ...} (${DOCS} "artifact.json")`,
          },
        ),
      );
    }
  }
  const task: Task | undefined =
    summary.descriptor === 'builtin' && preprocess ? preprocess.task : descriptor?.task;
  if (!descriptor) return done({ ...(task && { task }) });

  const model = descriptor.model ?? DEFAULT_MODEL_PATH[descriptor.format];
  const labels =
    descriptor.labels?.length ??
    (preprocess?.target.type === 'label' ? preprocess.target.labels.length : undefined);
  const features = descriptor.features?.length ?? preprocess?.features.length;
  Object.assign(summary, {
    ...(model !== undefined && { model }),
    ...(features !== undefined && { features }),
    input: inputKindOf(descriptor),
    output: outputKindOf(descriptor),
    ...(labels !== undefined && descriptor.task === 'classification' && { labels }),
  });
  const before = out.length;
  await checkModelFile(folder, model, descriptor.format, out);
  if (descriptor.format === 'onnx' && model !== undefined && out.length === before) {
    try {
      const bytes = await readBounded(`${folder.uri}/${model}`, maxWeightBytes(options.env), model);
      checkOnnxMapping(readOnnxGraph(bytes), descriptor, preprocess, labels, out);
    } catch (e) {
      out.push(
        error('artifact-model', `${model}: ${errorMessage(e)}`, {
          file: model,
          hint: 'export it with torch.onnx.export, tf2onnx or skl2onnx',
        }),
      );
    }
  }

  // statistics.json (optional)
  const statisticsValue = await readJson(folder, CONTRACT_FILES.statistics, ARTIFACT_LIMITS.jsonBytes, out);
  if (statisticsValue !== undefined) {
    summary.statistics = true;
    const features = descriptor.features?.map((f) => f.name) ?? preprocess?.features.map((f) => f.name);
    checkStatistics(statisticsValue, features, out);
  }
  return done({ format: descriptor.format, ...(task && { task }) });
}
