/**
 * `mlform artifact check DIR`: validates a folder against the artifact contract (docs/artifact.md,
 * contract.ts), every problem at once, each with the file, the field path and a fix. Works on local
 * folders and gs:// prefixes (storage.ts). Everything in an artifact is attacker-written: every read
 * is bounded (limits.ts), and a local file that leads outside the folder (a symlink) is refused
 * unread, since its content could otherwise be quoted back in a diagnostic.
 */
import { realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { error, formatPath, warning, type Diagnostic, type FieldPath } from '../resources/diagnostic.js';
import { errorMessage } from '../resources/error-message.js';
import type { Task } from '../resources/training-run.js';
import { validateAgainstJsonSchema } from '../manifests/schema-validation.js';
import {
  ArtifactDescriptorSchema,
  CONTRACT_FILES,
  ContractMetricsSchema,
  DEFAULT_MODEL_PATH,
  PreprocessFileSchema,
  ReferenceStatisticsSchema,
  type ArtifactDescriptor,
  type ColumnStatistics,
  type ContractMetrics,
  type ModelFormat,
  type PreprocessFile,
  type ReferenceStatistics,
} from './contract.js';
import { ARTIFACT_FILES } from './files.js';
import { ARTIFACT_LIMITS, ArtifactLimitError, checkPreprocessCounts, maxWeightBytes } from './limits.js';
import { readOnnxGraph, type OnnxGraph, type OnnxValue } from './onnx-graph.js';
import { isGcsUri, readBounded, storeFor, toLocalPath } from './storage.js';

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

const DOCS = 'docs/artifact.md';

/** `metrics.json: metrics.val_mae must be a number or null; got string "1.2"`: a problem as one line. */
export function artifactProblem(d: Diagnostic): string {
  const where = d.file ?? '';
  return where && !d.message.startsWith(where) ? `${where}: ${d.message}` : d.message;
}

/** A file's schema problems as diagnostics naming the file and the field. */
function schemaProblems(file: string, schema: object, value: unknown): Diagnostic[] {
  return validateAgainstJsonSchema(schema, value).map(({ target: _target, ...issue }) => ({
    ...issue,
    code: `artifact-${issue.code}`,
    file,
    hint: issue.hint ?? `see ${DOCS} "${file}"`,
  }));
}

/**
 * metrics.json's content checked against the contract, with the checks `gate` and `beats
 * baseline` rely on. Used by the checker and by providers reading a finished run's metrics.
 */
export function checkMetrics(value: unknown): { metrics?: ContractMetrics; diagnostics: Diagnostic[] } {
  const file = CONTRACT_FILES.metrics;
  const diagnostics = schemaProblems(file, ContractMetricsSchema, value);
  if (diagnostics.length > 0) return { diagnostics };
  const metrics = value as ContractMetrics;
  if (Object.keys(metrics.metrics).length === 0) {
    diagnostics.push(
      error('artifact-no-metrics', 'metrics is empty: gates and aliases have nothing to compare', {
        file,
        path: ['metrics'],
        hint: 'write the validation metrics gates use, e.g. {"val_mae": 2.1}',
      }),
    );
  }
  const missing = Object.keys(metrics.metrics).filter(
    (name) => name.startsWith('val_') && name !== 'val_loss' && !(name in metrics.baseline),
  );
  if (missing.length > 0) {
    diagnostics.push(
      warning(
        'artifact-no-baseline',
        `baseline has no ${missing.join(', ')}: \`beats baseline\` cannot compare it`,
        {
          file,
          path: ['baseline'],
          hint: 'add the naive baseline (mean or majority class) on the same validation split, with the same names',
        },
      ),
    );
  }
  return { metrics, diagnostics };
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

/** The builtin trainer's files imply its descriptor: tfjs, the encoded input, preprocess.json's task. */
function builtinDescriptor(preprocess: PreprocessFile | undefined): ArtifactDescriptor {
  const classification = preprocess?.target.type === 'label';
  return {
    formatVersion: 1,
    format: 'tfjs',
    model: ARTIFACT_FILES.model,
    task: classification ? 'classification' : 'regression',
    input: { kind: 'encoded' },
    output: { kind: classification ? 'probabilities' : 'value' },
    ...(preprocess?.target.type === 'label' && { labels: preprocess.target.labels }),
  };
}

function checkPreprocess(value: unknown, out: Diagnostic[]): PreprocessFile | undefined {
  const file = CONTRACT_FILES.preprocess;
  try {
    checkPreprocessCounts(value, file);
  } catch (e) {
    if (!(e instanceof ArtifactLimitError)) throw e;
    out.push(error('artifact-limit', e.message, { file, hint: `see ${DOCS} "Limits"` }));
    return undefined;
  }
  const problems = schemaProblems(file, PreprocessFileSchema, value);
  out.push(...problems);
  if (problems.length > 0) return undefined;
  const preprocess = value as PreprocessFile;
  const width = preprocess.features.reduce(
    (sum, f) => sum + (f.type === 'categorical' ? (f.hashBuckets ?? f.vocabulary.length) : 1),
    0,
  );
  if (width !== preprocess.encodedWidth) {
    out.push(
      error(
        'artifact-inconsistent',
        `encodedWidth is ${preprocess.encodedWidth}, but the features encode to ${width} values`,
        {
          file,
          path: ['encodedWidth'],
          hint: 'numeric, boolean and date features take 1 value each, a categorical one its vocabulary length (or hashBuckets)',
        },
      ),
    );
  }
  if (preprocess.inputShape.at(-1) !== preprocess.encodedWidth) {
    out.push(
      error(
        'artifact-inconsistent',
        `inputShape ends in ${preprocess.inputShape.at(-1)}, not encodedWidth ${preprocess.encodedWidth}`,
        {
          file,
          path: ['inputShape'],
          hint: `write [${preprocess.encodedWidth}] (or [window, ${preprocess.encodedWidth}] for forecasting)`,
        },
      ),
    );
  }
  return preprocess;
}

function checkColumn(stats: ColumnStatistics, path: FieldPath, rows: number, out: Diagnostic[]): void {
  const file = CONTRACT_FILES.statistics;
  const at = (field: string) => ({ file, path: [...path, field] });
  if (stats.count > rows) {
    out.push(
      error(
        'artifact-inconsistent',
        `${formatPath([...path, 'count'])} is ${stats.count}, over rows ${rows}`,
        at('count'),
      ),
    );
  }
  if (stats.kind === 'numeric') {
    if (stats.binEdges.length !== stats.binCounts.length + 1) {
      out.push(
        error(
          'artifact-inconsistent',
          `${formatPath([...path, 'binEdges'])} has ${stats.binEdges.length} edges for ${stats.binCounts.length} bins`,
          { ...at('binEdges'), hint: 'k bins have k + 1 edges' },
        ),
      );
    }
    if (stats.binEdges.some((edge, i) => i > 0 && edge < stats.binEdges[i - 1])) {
      out.push(
        error(
          'artifact-inconsistent',
          `${formatPath([...path, 'binEdges'])} must not decrease`,
          at('binEdges'),
        ),
      );
    }
    const counted = stats.binCounts.reduce((a, b) => a + b, 0);
    if (counted > stats.count) {
      out.push(
        error(
          'artifact-inconsistent',
          `${formatPath([...path, 'binCounts'])} add up to ${counted}, over count ${stats.count}`,
          at('binCounts'),
        ),
      );
    }
    return;
  }
  const total = Object.values(stats.frequencies).reduce((a, b) => a + b, 0) + (stats.otherRate ?? 0);
  if (total > 1 + 1e-6) {
    out.push(
      error(
        'artifact-inconsistent',
        `${formatPath([...path, 'frequencies'])} add up to ${total.toFixed(4)}, over 1`,
        {
          ...at('frequencies'),
          hint: 'frequencies are shares of the present (non-missing) rows',
        },
      ),
    );
  }
}

function checkStatistics(value: unknown, features: readonly string[] | undefined, out: Diagnostic[]): void {
  const file = CONTRACT_FILES.statistics;
  const problems = schemaProblems(file, ReferenceStatisticsSchema, value);
  out.push(...problems);
  if (problems.length > 0) return;
  const stats = value as ReferenceStatistics;
  for (const [name, column] of Object.entries(stats.features)) {
    checkColumn(column, ['features', name], stats.rows, out);
    if (features && !features.includes(name)) {
      out.push(
        warning('artifact-unknown-feature', `features.${name} is not one of the model's features`, {
          file,
          path: ['features', name],
          hint: `the features are ${features.join(', ')}`,
        }),
      );
    }
  }
  if (stats.predictions) checkColumn(stats.predictions, ['predictions'], stats.rows, out);
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

const lastDim = (value: OnnxValue): number | string | null | undefined => value.shape?.at(-1);

/** artifact.json's input and output mapping against the ONNX graph's inputs and outputs. */
function checkOnnxMapping(
  graph: OnnxGraph,
  descriptor: ArtifactDescriptor,
  preprocess: PreprocessFile | undefined,
  labels: number | undefined,
  out: Diagnostic[],
): void {
  const file = CONTRACT_FILES.descriptor;
  const mapping = (message: string, path: FieldPath, hint?: string) =>
    out.push(error('artifact-mapping', message, { file, path, ...(hint !== undefined && { hint }) }));
  const names = (values: OnnxValue[]) => values.map((v) => v.name).join(', ') || 'none';
  const width = (value: OnnxValue, expected: number, what: string, path: FieldPath) => {
    const last = lastDim(value);
    if (typeof last === 'number' && last !== expected && !(expected === 1 && value.shape?.length === 1)) {
      mapping(`the model's ${value.name} has width ${last}, but ${what} is ${expected}`, path);
    } else if (typeof last !== 'number') {
      out.push(
        warning(
          'artifact-unchecked',
          `the model's ${value.name} has no fixed last dimension; its width ${expected} could not be checked`,
          {
            file,
            path,
            hint: 'export with a fixed feature dimension (only the batch dimension dynamic)',
          },
        ),
      );
    }
  };
  const float = (value: OnnxValue, path: FieldPath) => {
    if (value.elementType !== 'float') {
      mapping(
        `the model's input ${value.name} is ${value.elementType ?? 'not a tensor'}, not float (float32)`,
        path,
        'export the model with float32 inputs',
      );
    }
  };

  const kind = descriptor.input?.kind ?? 'encoded';
  if (kind === 'named') {
    const features = descriptor.features ?? [];
    const fed = new Set<string>();
    features.forEach((feature, i) => {
      const inputName = feature.input ?? feature.name;
      fed.add(inputName);
      const input = graph.inputs.find((v) => v.name === inputName);
      if (!input) {
        mapping(
          `the model has no input ${inputName} for feature ${feature.name} (its inputs: ${names(graph.inputs)})`,
          ['features', i, 'input'],
          'set features[].input to the model input it feeds',
        );
      }
    });
    for (const input of graph.inputs.filter((v) => !fed.has(v.name))) {
      mapping(
        `the model's input ${input.name} is fed by no feature`,
        ['features'],
        `add a feature with input: ${input.name}`,
      );
    }
  } else {
    const wanted = descriptor.input?.name;
    const input = wanted !== undefined ? graph.inputs.find((v) => v.name === wanted) : graph.inputs[0];
    const path: FieldPath = ['input'];
    if (wanted === undefined && graph.inputs.length !== 1) {
      mapping(
        `input kind ${kind} feeds one input, but the model has ${graph.inputs.length} (${names(graph.inputs)})`,
        path,
        'set input.name, or use input.kind named',
      );
    } else if (!input) {
      mapping(`the model has no input ${wanted} (its inputs: ${names(graph.inputs)})`, [...path, 'name']);
    } else {
      float(input, path);
      if (kind === 'encoded' && preprocess)
        width(input, preprocess.encodedWidth, "preprocess.json's encodedWidth", path);
      if (kind === 'stacked') width(input, descriptor.features?.length ?? 0, 'the number of features', path);
    }
  }

  const wantedOutput = descriptor.output?.name;
  const output =
    wantedOutput !== undefined ? graph.outputs.find((v) => v.name === wantedOutput) : graph.outputs[0];
  if (!output) {
    mapping(
      `the model has no output ${wantedOutput ?? ''} (its outputs: ${names(graph.outputs)})`.replace(
        '  ',
        ' ',
      ),
      ['output', 'name'],
    );
    return;
  }
  if (descriptor.task === 'regression') width(output, 1, 'a regression value', ['output']);
  else if (labels !== undefined) width(output, labels, 'the number of labels', ['output']);
}

/** The descriptor's own rules: kinds that fit the task and the format, labels, features. */
function checkDescriptor(
  descriptor: ArtifactDescriptor,
  preprocess: PreprocessFile | undefined,
  hasPreprocess: boolean,
  out: Diagnostic[],
) {
  const file = CONTRACT_FILES.descriptor;
  const problem = (path: FieldPath, message: string, hint: string) =>
    out.push(error('artifact-descriptor', message, { file, path, hint }));
  const input = descriptor.input?.kind ?? 'encoded';
  const output = descriptor.output?.kind ?? (descriptor.task === 'regression' ? 'value' : 'probabilities');
  if (descriptor.task === 'regression' && output !== 'value') {
    problem(
      ['output', 'kind'],
      `a regression model's output kind is value, not ${output}`,
      'set output.kind: value',
    );
  }
  if (descriptor.task === 'classification') {
    if (output === 'value') {
      problem(
        ['output', 'kind'],
        "a classifier's output kind is logits or probabilities, not value",
        'set output.kind: logits (softmax is applied) or probabilities',
      );
    }
    if (!descriptor.labels && preprocess?.target.type !== 'label') {
      problem(
        ['labels'],
        'a classifier needs its labels, in the order of the model output',
        'add labels: ["class-a", "class-b", ...]',
      );
    }
  }
  if (
    input === 'encoded' &&
    !hasPreprocess &&
    (descriptor.format === 'onnx' || descriptor.format === 'tfjs')
  ) {
    problem(
      ['input', 'kind'],
      'input kind encoded needs preprocess.json, and the folder has none',
      'write preprocess.json, or use input.kind stacked or named with features',
    );
  }
  if ((input === 'stacked' || input === 'named') && !descriptor.features) {
    problem(
      ['features'],
      `input kind ${input} needs features (the raw features clients send, in order)`,
      'add features: [{name, type}, ...]',
    );
  }
  if (input === 'stacked') {
    descriptor.features?.forEach((f, i) => {
      if (f.type === 'categorical') {
        problem(
          ['features', i, 'type'],
          `input kind stacked takes numeric and boolean features; ${f.name} is categorical`,
          'use input.kind encoded with preprocess.json (one-hot), or named inputs',
        );
      }
    });
  }
  if (
    preprocess &&
    descriptor.task !== (preprocess.task === 'forecasting' ? 'regression' : preprocess.task)
  ) {
    problem(
      ['task'],
      `task is ${descriptor.task}, but preprocess.json's task is ${preprocess.task}`,
      'make both files say the same task',
    );
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
  Object.assign(summary, {
    ...(model !== undefined && { model }),
    features: descriptor.features?.length ?? preprocess?.features.length,
    input: descriptor.input?.kind ?? 'encoded',
    output: descriptor.output?.kind ?? (descriptor.task === 'regression' ? 'value' : 'probabilities'),
    ...(labels !== undefined && descriptor.task === 'classification' && { labels }),
  });
  if (summary.features === undefined) delete summary.features;
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
