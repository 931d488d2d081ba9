/**
 * The training entry point, as run by `mlform train` on a laptop, by the local provider in a
 * detached process, and inside the training container on Vertex AI. It resolves the spec and the
 * output location (from arguments or the container's environment) and runs one training.
 */
import { readFile } from 'node:fs/promises';
import { delimiter, dirname, resolve } from 'node:path';
import { error, type Diagnostic } from '../resources/diagnostic.js';
import type { TrainingRun } from '../resources/kinds.js';
import { loadManifests, loadResourceValue, type LoadedResource } from '../manifests/load.js';
import { findTreeRoot } from '../manifests/tree-root.js';
import { checkDataLocation, parseDataRoots } from './data/load-table.js';
import { DATA_ROOTS_ENV, isGcsUri, joinUri } from '../artifact/storage.js';
import type { MetricsFile } from '../artifact/files.js';
import type { TrainingRunSpec } from '../resources/training-run.js';
import { parseParameterArgs } from './tuning/hypertune.js';
import { trialSpec } from './tuning/trial-spec.js';
import { reportTrialMeasurement } from './tuning/trial-report.js';
import type { TrialParams } from './tuning/search-space.js';

export interface TrainInvocation {
  /** TrainingRun manifest (YAML, possibly multi-document) or JSON (a manifest or a bare spec). */
  specFile?: string;
  /** The same as inline JSON (the container gets its spec this way, or via MLFORM_SPEC_JSON). */
  specJson?: string;
  /**
   * The same JSON in a file: what the local provider passes (a file of mode 0600 in the run's
   * folder), so the spec never shows on a command line. Relative data URIs resolve like
   * `specJson`'s (the provider made them absolute already).
   */
  specJsonFile?: string;
  /** Exact artifact directory (path or gs://). */
  out?: string;
  /** Base directory: the artifact goes to <base>/<CLOUD_ML_JOB_ID> (or a timestamp outside Vertex AI). */
  outBase?: string;
  /** Which TrainingRun, when the file holds several. */
  name?: string;
  /** Further folders local data may be read from (`--allow-data-root`, repeatable). */
  allowDataRoot?: string[];
  /**
   * A trial's parameters: `--<parameterId>=<value>` (keys of `tuning.space`, as a Vertex AI
   * HyperparameterTuningJob passes them) or `--hp.<path>=<value>` (trainer/tuning/hypertune.ts).
   */
  parameterArgs?: string[];
}

/** One trial of a search run by someone else (a Vertex AI HyperparameterTuningJob). */
export interface TrialInvocation {
  /** `$CLOUD_ML_TRIAL_ID`, or `0` when only parameters were given. */
  id: string;
  params: TrialParams;
  /** `tuning.metric` of the run's spec (reported through the hypertune file). */
  metric: string;
}

export interface ResolvedTraining {
  resource: LoadedResource;
  baseDir: string;
  outDir: string;
  manifestFile?: string;
  /** Set for a trial: the spec then has the parameters applied and no `tuning`. */
  trial?: TrialInvocation;
  /** A trial's run `tuning` (its objectives and penalties decide what the trial reports). */
  trialTuning?: TrainingRunSpec['tuning'];
  /** Folders local data was checked against (and must stay inside when it is read). */
  dataRoots: string[];
}

/** The operator's variable for extra data folders, as `controller/cli/operator.ts` reads it. */
const ALLOW_DATA_ROOTS_ENV = 'MLFORM_ALLOW_DATA_ROOTS';

export async function resolveTraining(
  invocation: TrainInvocation,
  env: Record<string, string | undefined>,
): Promise<{ ok: true; value: ResolvedTraining } | { ok: false; diagnostics: Diagnostic[] }> {
  const fail = (message: string, hint?: string) => ({
    ok: false as const,
    diagnostics: [error('train-input', message, { hint })],
  });
  let specJson = invocation.specJson ?? env.MLFORM_SPEC_JSON;
  let specJsonSource = 'MLFORM_SPEC_JSON';
  if (invocation.specJsonFile) {
    const text = await readFile(invocation.specJsonFile, 'utf8').catch(() => undefined);
    if (text === undefined) return fail(`cannot read the spec file ${invocation.specJsonFile}`);
    specJson = text;
    specJsonSource = invocation.specJsonFile;
  }
  const extraRoots = [
    ...(invocation.allowDataRoot ?? []),
    ...(env[ALLOW_DATA_ROOTS_ENV] ?? '').split(delimiter).filter((p) => p.trim() !== ''),
  ].map((p) => resolve(p));
  // Whoever launched this process (the local provider) says where data may be; by hand, the
  // tree root of the spec file (or of the working directory) does, plus the operator's folders.
  let launcherRoots: string[] | undefined;
  if (env[DATA_ROOTS_ENV] !== undefined) {
    const parsed = parseDataRoots(env[DATA_ROOTS_ENV]);
    if ('problem' in parsed) return fail(parsed.problem, 'unset it, or set it to e.g. ["/srv/data"]');
    launcherRoots = parsed.roots;
  }
  let treeRoot: string | undefined;
  let resources: LoadedResource[];
  let baseDir: string;
  let manifestFile: string | undefined;
  if (invocation.specFile) {
    manifestFile = resolve(invocation.specFile);
    baseDir = dirname(manifestFile);
    const text = await readFile(manifestFile, 'utf8').catch(() => undefined);
    const json = text !== undefined && manifestFile.endsWith('.json') ? parseJson(text) : undefined;
    if (json !== undefined) {
      const loaded = loadJsonSpec(json, invocation.specFile, invocation.name);
      if (!loaded.resource) return { ok: false, diagnostics: loaded.diagnostics };
      resources = [loaded.resource];
    } else {
      const { desired, diagnostics } = await loadManifests([manifestFile], {
        references: false,
        trust: { dataRoots: [...(launcherRoots ?? []), ...extraRoots] },
      });
      if (diagnostics.some((d) => d.severity === 'error')) return { ok: false, diagnostics };
      resources = desired.resources;
      treeRoot = desired.treeRoot;
    }
  } else if (specJson !== undefined) {
    // Inside the container data URIs are gs:// (or absolute); relative ones resolve against the cwd.
    baseDir = process.cwd();
    const json = parseJson(specJson);
    if (json === undefined)
      return fail(
        `the spec JSON (${invocation.specJsonFile ? specJsonSource : '--spec-json or MLFORM_SPEC_JSON'}) does not parse`,
      );
    const loaded = loadJsonSpec(json, specJsonSource, invocation.name);
    if (!loaded.resource) return { ok: false, diagnostics: loaded.diagnostics };
    resources = [loaded.resource];
  } else {
    return fail(
      'no spec given',
      'pass --spec FILE (a TrainingRun manifest), --spec-file FILE (JSON), --spec-json, or set MLFORM_SPEC_JSON',
    );
  }

  const runs = resources.filter(
    (r) => r.kind === 'TrainingRun' && (!invocation.name || r.name === invocation.name),
  );
  if (runs.length !== 1) {
    const names = resources.filter((r) => r.kind === 'TrainingRun').map((r) => r.name);
    return fail(
      runs.length === 0
        ? `no TrainingRun${invocation.name ? ` named "${invocation.name}"` : ''} in the spec`
        : 'several TrainingRuns in the file',
      names.length > 0 ? `choose one with --name (${names.join(', ')})` : undefined,
    );
  }
  let resource = runs[0];
  const trainer = (resource.manifest as TrainingRun).spec.trainer;
  if (!trainer.builtin && !trainer.command) {
    return fail(
      `TrainingRun "${resource.name}" uses trainer.container only; \`mlform train\` runs the builtin trainer or trainer.command`,
      'run the image on Vertex AI (`provider: gcp`), or add `command` to run your trainer here',
    );
  }
  if (
    trainer.command &&
    (parameterArgsGiven(invocation, env) || (resource.manifest as TrainingRun).spec.tuning)
  ) {
    return fail(
      `TrainingRun "${resource.name}" runs trainer.command: tuning and trials are for the builtin trainer`,
    );
  }

  // A trial of a HyperparameterTuningJob: its parameters applied, no search of our own.
  let trial: TrialInvocation | undefined;
  let trialTuning: TrainingRunSpec['tuning'];
  const parameterArgs = invocation.parameterArgs ?? [];
  if (parameterArgs.length > 0 || env.CLOUD_ML_TRIAL_ID) {
    const spec = (resource.manifest as TrainingRun).spec as TrainingRunSpec;
    const parsed = parseParameterArgs(parameterArgs, spec.tuning?.space ?? {});
    if (!parsed.ok) return fail(parsed.message);
    const applied = trialSpec(spec, parsed.params);
    if (!applied.ok) return fail(applied.message);
    trial = {
      id: env.CLOUD_ML_TRIAL_ID ?? '0',
      params: parsed.params,
      metric: spec.tuning?.metric ?? 'val_loss',
    };
    trialTuning = spec.tuning;
    // The identity (spec hash) stays the run's: the trial is a part of it.
    resource = {
      ...resource,
      manifest: { ...resource.manifest, spec: applied.spec } as typeof resource.manifest,
    };
  }

  // Checked here, before anything reads the data: the same rule as the loader's at plan time.
  const dataRoots = launcherRoots
    ? [...launcherRoots, ...extraRoots]
    : [treeRoot ?? (await findTreeRoot(manifestFile ? dirname(manifestFile) : process.cwd())), ...extraRoots];
  const dataUri = (resource.manifest as TrainingRun).spec.trainer.builtin?.data.uri;
  if (dataUri !== undefined && !isGcsUri(dataUri)) {
    const refused = await checkDataLocation(dataUri, baseDir, dataRoots);
    if (refused) {
      const hint = `move the data inside the repository, or allow its folder with --allow-data-root (or ${DATA_ROOTS_ENV})`;
      return {
        ok: false,
        diagnostics: [
          error('data-outside-tree', `data ${dataUri} ${refused}`, {
            path: ['spec', 'trainer', 'builtin', 'data', 'uri'],
            hint,
          }),
        ],
      };
    }
  }

  const base = invocation.outBase ?? env.MLFORM_OUTPUT_BASE;
  let outDir = invocation.out;
  if (!outDir && base) {
    // Scheduled runs on Vertex AI share one base directory: the job id keeps them apart.
    const id =
      env.CLOUD_ML_JOB_ID ??
      `${resource.name}-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}`;
    outDir = joinUri(base, id);
  }
  // Vertex AI's AIP_MODEL_DIR: a HyperparameterTuningJob trial's is `<base>/<trialId>/model/`.
  if (!outDir && env.AIP_MODEL_DIR) outDir = env.AIP_MODEL_DIR.replace(/\/+$/, '');
  if (!outDir)
    return fail(
      'no output directory',
      'pass --out DIR|gs://..., or --out-base / MLFORM_OUTPUT_BASE (or set AIP_MODEL_DIR)',
    );
  return {
    ok: true,
    value: {
      resource,
      baseDir,
      outDir: outDir.startsWith('gs://') ? outDir : resolve(outDir),
      manifestFile,
      ...(trial && { trial }),
      ...(trial && trialTuning && { trialTuning }),
      dataRoots,
    },
  };
}

/**
 * After a trial's training: its final `tuning.metric` (the score, penalties applied) and further
 * objectives go to the hypertune file, which Vertex AI reads as the trial's measurement
 * (tuning/trial-report.ts). Nothing for a plain training. Returns the file.
 */
export async function reportTrialMetric(
  resolved: ResolvedTraining,
  metrics: MetricsFile,
  env: Record<string, string | undefined>,
): Promise<string | undefined> {
  const trial = resolved.trial;
  if (!trial) return undefined;
  return reportTrialMeasurement(trial, resolved.trialTuning, metrics, resolved.outDir, env);
}

const parameterArgsGiven = (invocation: TrainInvocation, env: Record<string, string | undefined>): boolean =>
  (invocation.parameterArgs ?? []).length > 0 || env.CLOUD_ML_TRIAL_ID !== undefined;

/** Your own trainer (`trainer.command`) runs under the supervisor of trainer/command/. */
export { isCommandTraining, superviseCommand } from './command/supervise.js';

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A full manifest, or a bare spec wrapped into one. */
function loadJsonSpec(json: unknown, file: string, name: string | undefined) {
  const isManifest = json !== null && typeof json === 'object' && 'kind' in json;
  const document = isManifest
    ? json
    : { apiVersion: 'mlform/v1', kind: 'TrainingRun', metadata: { name: name ?? 'run' }, spec: json };
  return loadResourceValue(document, file);
}
