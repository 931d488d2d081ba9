/**
 * TrainingRun <-> Vertex AI CustomJob: the job body (also what a Schedule's HTTP target posts)
 * and the observed run read back from a listed job. Pure functions; runs.ts does the calls.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { protos } from '@google-cloud/aiplatform';
import { isPlainRecord } from '../../resources/json-walk.js';
import { ownValue } from '../../resources/own-property.js';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { ownershipLabels, type ObservedRun, type RunState } from '../provider.js';
import { isoOf, type GcpSettings } from './context.js';
import type { Gcs } from './gcs.js';
import { jobDisplayName, LABEL, labelValue, scheduledDisplayName, type GcsLayout } from './names.js';
import { maxFailedTrials, studySpecOf } from './vizier.js';
import { selectBest } from '../../trainer/tuning/objectives/index.js';
import { vertexEnv } from './secrets.js';
import { hyperparameterArgs, hyperparametersJson, TRAINER_ENV } from '../../artifact/contract.js';
import { runRef } from '../../resources/address.js';
import { tensorboardUrl } from './tensorboard.js';

export type CustomJob = protos.google.cloud.aiplatform.v1.ICustomJob;
export type TuningJob = protos.google.cloud.aiplatform.v1.IHyperparameterTuningJob;
/** A run's job: a CustomJob, or a HyperparameterTuningJob (`spec.tuning`, README.md "Tuning"). */
export type VertexJob = CustomJob | TuningJob;

export const isTuningJob = (job: VertexJob): job is TuningJob => 'trialJobSpec' in job || 'studySpec' in job;
const jobSpecOf = (job: VertexJob): CustomJob['jobSpec'] =>
  isTuningJob(job) ? job.trialJobSpec : (job as CustomJob).jobSpec;

export const ENV = {
  spec: 'MLFORM_SPEC_JSON',
  specHash: 'MLFORM_SPEC_HASH',
  attempt: 'MLFORM_RUN_ATTEMPT',
  annotations: 'MLFORM_ANNOTATIONS',
  gitCommit: 'MLFORM_GIT_COMMIT',
  manifestDataUri: 'MLFORM_MANIFEST_DATA_URI',
  /** The TensorBoard instance (gcp.tensorboard): mlform's trainer copies its event files to AIP_TENSORBOARD_LOG_DIR. */
  tensorboard: 'MLFORM_TENSORBOARD',
} as const;

export interface MachineOption {
  machineType: string;
  accelerator?: { type: string; count: number };
}

/** The primary machine, then `resources.fallbacks` in order. */
export function machineOptions(spec: TrainingRunSpec): MachineOption[] {
  const r = spec.resources;
  return [
    { machineType: r.machineType, ...(r.accelerator && { accelerator: r.accelerator }) },
    ...(r.fallbacks ?? []).map((f) => ({
      machineType: f.machineType,
      ...(f.accelerator && { accelerator: f.accelerator }),
    })),
  ];
}

export interface JobInput {
  stack: string;
  name: string;
  /** Unknown for a scheduled run (Cloud Scheduler posts the same body every time). */
  number?: number;
  spec: TrainingRunSpec;
  specHash: string;
  attempt: number;
  schedule?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  gitCommit?: string;
  /**
   * The builtin trainer's data URI as the manifest wrote it, before staging (`''` for a container
   * trainer). Set for runs the engine creates, so that list gives back the manifest's spec: the
   * job's MLFORM_SPEC_JSON with this URI in place of the staged copy (no second copy of the spec).
   */
  manifestDataUri?: string;
  /** The Vertex AI TensorBoard instance the job streams `AIP_TENSORBOARD_LOG_DIR` into. */
  tensorboard?: string;
}

/** Label keys: lowercase letter first, then [a-z0-9_-], at most 63. */
const labelKey = (key: string): string | undefined => {
  const k = key
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '_')
    .slice(0, 63);
  return /^[a-z]/.test(k) ? k : undefined;
};

/**
 * A manifest's labels as cloud labels. Keys starting with `mlform-` are mlform's own (ownership,
 * run numbers, schedules, versions) and are dropped: a manifest label `mlform-run` or
 * `mlform-schedule` would otherwise pass for one where mlform sets none.
 */
export function sanitizeLabels(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    const key = labelKey(k);
    if (key && !key.startsWith('mlform-')) out[key] = labelValue(v);
  }
  return out;
}

export function runLabels(input: JobInput, option: number): Record<string, string> {
  return {
    ...sanitizeLabels(input.labels),
    ...ownershipLabels(input.stack, 'TrainingRun', input.name, input.specHash),
    [LABEL.attempt]: String(input.attempt),
    [LABEL.machine]: option === 0 ? 'primary' : `fallback-${option}`,
    ...(input.number !== undefined && { [LABEL.run]: String(input.number) }),
    ...(input.schedule !== undefined && { [LABEL.schedule]: labelValue(input.schedule) }),
  };
}

export function customJobBody(
  settings: GcpSettings,
  layout: GcsLayout,
  input: JobInput,
  option = 0,
): CustomJob {
  const machine = machineOptions(input.spec)[option];
  const outDir = input.number !== undefined ? layout.runDir(input.name, input.number) : undefined;
  const baseOutput = outDir ?? layout.scheduledBase(input.name);
  const manifest = {
    apiVersion: 'mlform/v1',
    kind: 'TrainingRun',
    metadata: { name: input.name },
    spec: input.spec,
  };
  const env: Record<string, string> = {
    [ENV.spec]: JSON.stringify(manifest),
    [ENV.specHash]: input.specHash,
    [ENV.attempt]: String(input.attempt),
    [ENV.annotations]: JSON.stringify(input.annotations),
    ...(input.gitCommit !== undefined && { [ENV.gitCommit]: input.gitCommit }),
    ...(input.manifestDataUri !== undefined && { [ENV.manifestDataUri]: input.manifestDataUri }),
    ...(input.tensorboard !== undefined && { [ENV.tensorboard]: input.tensorboard }),
  };
  const container = input.spec.trainer.container;
  if (container) {
    // Your own trainer (docs/artifact.md): its hyperparameters as JSON too, and which run it is
    // (unknown for a scheduled run: Cloud Scheduler posts the same body every time).
    env[TRAINER_ENV.hyperparameters] = hyperparametersJson(input.spec.trainer.hyperparameters);
    if (input.number !== undefined) env[TRAINER_ENV.run] = runRef({ name: input.name, number: input.number });
  }
  const args = [...(container?.args ?? []), ...hyperparameterArgs(input.spec.trainer.hyperparameters)];
  const containerSpec: protos.google.cloud.aiplatform.v1.IContainerSpec = container
    ? {
        imageUri: container.image,
        ...(container.command && { command: container.command }),
        ...(args.length > 0 && { args }),
        // Secrets travel as references (MLFORM_SECRET_REFS), never as values; mlform's own
        // variables win over the manifest's.
        env: [
          ...vertexEnv(container.env, settings.project).filter((e) => !(e.name && e.name in env)),
          ...Object.entries(env).map(([name, value]) => ({ name, value })),
        ],
      }
    : {
        imageUri: settings.trainerImage,
        // The image's entrypoint is `mlform train`; the spec comes in MLFORM_SPEC_JSON.
        args: outDir !== undefined ? ['--out', outDir, '--json'] : ['--out-base', baseOutput, '--json'],
        env: Object.entries(env).map(([name, value]) => ({ name, value })),
      };
  return {
    displayName:
      input.number !== undefined
        ? jobDisplayName(input.stack, input.name, input.number)
        : scheduledDisplayName(input.stack, input.name, input.schedule ?? 'schedule'),
    labels: runLabels(input, option),
    jobSpec: {
      workerPoolSpecs: [
        {
          replicaCount: 1,
          machineSpec: {
            machineType: machine.machineType,
            ...(machine.accelerator && {
              acceleratorType: machine.accelerator
                .type as keyof typeof protos.google.cloud.aiplatform.v1.AcceleratorType,
              acceleratorCount: machine.accelerator.count,
            }),
          },
          containerSpec,
        },
      ],
      ...(input.spec.resources.spot && { scheduling: { strategy: 'SPOT' } }),
      serviceAccount: settings.serviceAccount,
      // Vertex streams <baseOutputDirectory>/logs/ (AIP_TENSORBOARD_LOG_DIR) into the instance.
      ...(input.tensorboard !== undefined && { tensorboard: input.tensorboard }),
      baseOutputDirectory: { outputUriPrefix: baseOutput },
    },
  };
}

// ---- reading jobs back ---------------------------------------------------------------------

const STATES: Record<string, RunState> = {
  JOB_STATE_QUEUED: 'queued',
  JOB_STATE_PENDING: 'queued',
  JOB_STATE_RUNNING: 'running',
  JOB_STATE_CANCELLING: 'running',
  JOB_STATE_PAUSED: 'running',
  JOB_STATE_UPDATING: 'running',
  JOB_STATE_SUCCEEDED: 'succeeded',
  JOB_STATE_PARTIALLY_SUCCEEDED: 'failed',
  JOB_STATE_FAILED: 'failed',
  JOB_STATE_EXPIRED: 'failed',
  JOB_STATE_CANCELLED: 'cancelled',
};

const JOB_STATE_NAMES = [
  'JOB_STATE_UNSPECIFIED',
  'JOB_STATE_QUEUED',
  'JOB_STATE_PENDING',
  'JOB_STATE_RUNNING',
  'JOB_STATE_SUCCEEDED',
  'JOB_STATE_FAILED',
  'JOB_STATE_CANCELLING',
  'JOB_STATE_CANCELLED',
  'JOB_STATE_PAUSED',
  'JOB_STATE_EXPIRED',
  'JOB_STATE_UPDATING',
  'JOB_STATE_PARTIALLY_SUCCEEDED',
];

export function stateOf(state: CustomJob['state']): RunState {
  const name = typeof state === 'number' ? JOB_STATE_NAMES[state] : (state ?? 'JOB_STATE_UNSPECIFIED');
  return STATES[name ?? ''] ?? 'queued';
}

export const jobIdOf = (job: VertexJob): string => (job.name ?? '').split('/').pop() ?? '';

function envOf(job: VertexJob): Record<string, string> {
  const env = jobSpecOf(job)?.workerPoolSpecs?.[0]?.containerSpec?.env ?? [];
  return Object.fromEntries(env.flatMap((e) => (e.name ? [[e.name, e.value ?? '']] : [])));
}

function artifactOf(job: VertexJob): string | undefined {
  if (isTuningJob(job)) return bestTrialOf(job)?.artifactUri;
  const spec = job.jobSpec?.workerPoolSpecs?.[0]?.containerSpec;
  const args = spec?.args ?? [];
  const out = args.indexOf('--out');
  if (out >= 0 && args[out + 1]) return args[out + 1];
  const base = args.indexOf('--out-base');
  if (base >= 0 && args[base + 1]) return `${args[base + 1]}/${jobIdOf(job)}`;
  const prefix = job.jobSpec?.baseOutputDirectory?.outputUriPrefix;
  return prefix ? `${prefix.replace(/\/+$/, '')}/model` : undefined;
}

function parseRecord(text: string | undefined): Record<string, string> {
  if (!text) return {};
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'))
      : {};
  } catch {
    return {};
  }
}

/**
 * The spec as the manifest gave it: MLFORM_SPEC_JSON's spec with the data URI as written. Only for
 * jobs that carry MLFORM_MANIFEST_DATA_URI (runs the engine created; a schedule's jobs and older
 * jobs give none, so no diff rather than a staged `gs://` URI that the manifest never had).
 */
function manifestSpecOf(env: Record<string, string>): TrainingRunSpec | undefined {
  const dataUri = env[ENV.manifestDataUri];
  if (dataUri === undefined) return undefined;
  let manifest: unknown;
  try {
    manifest = JSON.parse(env[ENV.spec] ?? '');
  } catch {
    return undefined;
  }
  const spec = isPlainRecord(manifest) ? ownValue(manifest, 'spec') : undefined;
  if (!isPlainRecord(spec)) return undefined;
  // Written by customJobBody from a validated spec; only ever diffed, never executed.
  const parsed = spec as TrainingRunSpec;
  const builtin = parsed.trainer?.builtin;
  if (!builtin || !dataUri) return parsed;
  return {
    ...parsed,
    trainer: { ...parsed.trainer, builtin: { ...builtin, data: { ...builtin.data, uri: dataUri } } },
  };
}

/**
 * Whether a job runs your own trainer container (`trainer.container`), from the spec mlform put in
 * its env: such a run's artifact is checked against the contract when it succeeds (runs.ts).
 */
export function isContainerJob(job: VertexJob): boolean {
  try {
    const manifest = JSON.parse(envOf(job)[ENV.spec] ?? '') as unknown;
    const spec = isPlainRecord(manifest) ? ownValue(manifest, 'spec') : undefined;
    const trainer = isPlainRecord(spec) ? ownValue(spec, 'trainer') : undefined;
    return (
      isPlainRecord(trainer) &&
      ownValue(trainer, 'container') !== undefined &&
      ownValue(trainer, 'builtin') === undefined
    );
  } catch {
    return false;
  }
}

/** A listed job as a run; `number` comes from the label, or is assigned (scheduled runs). */
export function runOf(job: VertexJob, number: number): ObservedRun {
  const labels = job.labels ?? {};
  const env = envOf(job);
  let state = stateOf(job.state);
  const artifactUri = artifactOf(job);
  const finishedAt = isoOf(job.endTime);
  const tuning = isTuningJob(job) ? tuningOf(job) : undefined;
  const spec = manifestSpecOf(env);
  const tensorboard = jobSpecOf(job)?.tensorboard;
  const tensorboardPage = tensorboard ? tensorboardUrl(tensorboard, jobIdOf(job)) : undefined;
  let error = job.error?.message || 'the Vertex AI job failed';
  if (tuning && state === 'succeeded' && artifactUri === undefined) {
    // Nothing to register: no trial reported the study's metric.
    state = 'failed';
    error = `the HyperparameterTuningJob succeeded but no trial reported ${tuning.metric}`;
  }
  return {
    name: labels[LABEL.name] ?? '',
    number,
    specHash: env[ENV.specHash] ?? labels[LABEL.spec] ?? '',
    state,
    attempt: Number(labels[LABEL.attempt] ?? '1') || 1,
    ...(labels[LABEL.schedule] !== undefined && { schedule: labels[LABEL.schedule] }),
    createdAt: isoOf(job.createTime) ?? new Date(0).toISOString(),
    ...(finishedAt !== undefined && state !== 'queued' && state !== 'running' && { finishedAt }),
    ...(artifactUri !== undefined && { artifactUri }),
    ...(state === 'failed' && { error }),
    ...(tuning &&
      (state === 'running' || state === 'succeeded') && {
        progress: { epoch: 0, epochs: 0, trial: { done: tuning.done, of: tuning.of } },
      }),
    ...(env[ENV.gitCommit] !== undefined && { gitCommit: env[ENV.gitCommit] }),
    ...(tensorboardPage !== undefined && { tensorboardUrl: tensorboardPage }),
    annotations: parseRecord(env[ENV.annotations]),
    ...(spec !== undefined && { spec }),
  };
}

/**
 * Run numbers of one name's jobs. Jobs created by mlform carry `mlform-run`; jobs a Schedule
 * created cannot (the body is fixed), so they are numbered in createTime order after the highest
 * number created before them, skipping numbers a labelled job holds.
 */
export function assignNumbers<J extends VertexJob>(jobs: readonly J[]): Map<J, number> {
  const out = new Map<J, number>();
  const taken = new Set<number>();
  for (const j of jobs) {
    const n = Number(j.labels?.[LABEL.run]);
    if (Number.isInteger(n) && n > 0) {
      out.set(j, n);
      taken.add(n);
    }
  }
  const time = (j: VertexJob) => Date.parse(isoOf(j.createTime) ?? '') || 0;
  const sorted = [...jobs].sort((a, b) => time(a) - time(b) || (a.name ?? '').localeCompare(b.name ?? ''));
  let high = 0;
  for (const j of sorted) {
    const n = out.get(j);
    if (n !== undefined) {
      high = Math.max(high, n);
      continue;
    }
    let next = high + 1;
    while (taken.has(next)) next++;
    out.set(j, next);
    taken.add(next);
    high = next;
  }
  return out;
}

// ---- data staging --------------------------------------------------------------------------

/**
 * A `file://` data URI (relative to the manifest) is uploaded once to
 * `<stack>/data/<sha256 prefix>/<basename>` and the spec sent to Vertex AI uses that gs:// URI.
 */
export async function stageData(
  gcs: Gcs,
  layout: GcsLayout,
  spec: TrainingRunSpec,
  manifestPath: string,
): Promise<TrainingRunSpec> {
  const builtin = spec.trainer.builtin;
  const uri = builtin?.data.uri;
  if (!builtin || !uri || uri.startsWith('gs://')) return spec;
  const path = uri.startsWith('file:///')
    ? fileURLToPath(uri)
    : resolve(dirname(manifestPath), uri.startsWith('file://') ? uri.slice('file://'.length) : uri);
  const data = await readFile(path);
  const sha = createHash('sha256').update(data).digest('hex');
  const target = layout.data(sha, basename(path));
  if (!(await gcs.exists(target))) {
    await gcs.write(target, data, { contentType: 'application/octet-stream', metadata: { sha256: sha } });
  }
  return {
    ...spec,
    trainer: { ...spec.trainer, builtin: { ...builtin, data: { ...builtin.data, uri: target } } },
  };
}

// ---- tuning: HyperparameterTuningJob -------------------------------------------------------

export { studyParameters, studySpecOf } from './vizier.js';

/**
 * The HyperparameterTuningJob of a run with `spec.tuning`: every trial is the CustomJob the run
 * would get, except that it writes to Vertex's `AIP_MODEL_DIR` (`<run dir>/<trialId>/model/`)
 * instead of `--out`, and the trainer reads its parameters from the trial's arguments.
 *
 * A scheduled run (no `number`; Cloud Scheduler posts this body on every firing) cannot use
 * `AIP_MODEL_DIR`: trial ids restart at 1 in each job, so firings would overwrite each other's
 * trials. Its trials keep `--out-base <runs/<name>/scheduled>` and write to
 * `<base>/<CLOUD_ML_JOB_ID>`, the id of the trial's own CustomJob (`Trial.customJob`).
 */
export function tuningJobBody(
  settings: GcpSettings,
  layout: GcsLayout,
  input: JobInput,
  option = 0,
): TuningJob {
  const tuning = input.spec.tuning;
  if (!tuning) throw new Error('tuningJobBody: the spec has no tuning');
  const custom = customJobBody(settings, layout, input, option);
  const jobSpec = custom.jobSpec ?? {};
  const pool = jobSpec.workerPoolSpecs?.[0] ?? {};
  const number = input.number;
  return {
    displayName: custom.displayName,
    labels: custom.labels,
    studySpec: studySpecOf(tuning),
    maxTrialCount: tuning.trials,
    parallelTrialCount: Math.min(tuning.parallel, tuning.trials),
    maxFailedTrialCount: maxFailedTrials(tuning.trials),
    trialJobSpec:
      number === undefined
        ? jobSpec
        : {
            ...jobSpec,
            workerPoolSpecs: [{ ...pool, containerSpec: { ...pool.containerSpec, args: ['--json'] } }],
            baseOutputDirectory: { outputUriPrefix: layout.runDir(input.name, number) },
          },
  };
}

type Tuning = NonNullable<TrainingRunSpec['tuning']>;

const TRIAL_DONE = new Set(['SUCCEEDED', 'INFEASIBLE', 'STOPPING']);
const GOAL_NAMES = ['GOAL_TYPE_UNSPECIFIED', 'MAXIMIZE', 'MINIMIZE'];
const TRIAL_STATE_NAMES = ['STATE_UNSPECIFIED', 'REQUESTED', 'ACTIVE', 'STOPPING', 'SUCCEEDED', 'INFEASIBLE'];
const enumName = (v: unknown, names: string[]): string =>
  typeof v === 'number' ? (names[v] ?? '') : String(v ?? '');

function tuningOf(job: TuningJob): { metric: string; maximize: boolean; done: number; of: number } {
  const metric = job.studySpec?.metrics?.[0];
  const trials = job.trials ?? [];
  return {
    metric: metric?.metricId ?? '',
    maximize: enumName(metric?.goal, GOAL_NAMES) === 'MAXIMIZE',
    done: trials.filter((t) => TRIAL_DONE.has(enumName(t.state, TRIAL_STATE_NAMES))).length,
    of: Number(job.maxTrialCount ?? trials.length) || trials.length,
  };
}

/**
 * The run's `tuning` from the spec mlform put in the job's env; for a job without one (written
 * by hand or by an older release) the study's own metrics stand in for it.
 */
function jobTuning(job: TuningJob): Tuning {
  let tuning: unknown;
  try {
    const manifest = JSON.parse(envOf(job)[ENV.spec] ?? '') as unknown;
    const spec = isPlainRecord(manifest) ? ownValue(manifest, 'spec') : undefined;
    tuning = isPlainRecord(spec) ? ownValue(spec, 'tuning') : undefined;
  } catch {
    tuning = undefined;
  }
  const metrics = (job.studySpec?.metrics ?? []).map((m) => ({
    metric: m.metricId ?? '',
    goal: enumName(m.goal, GOAL_NAMES) === 'MAXIMIZE' ? ('maximize' as const) : ('minimize' as const),
  }));
  const [primary = { metric: '', goal: 'minimize' as const }, ...objectives] = metrics;
  const selection = isPlainRecord(tuning) ? ownValue(tuning, 'selection') : undefined;
  // The study's metrics are what the trials measured; only `selection` comes from the spec.
  return {
    trials: Number(job.maxTrialCount ?? 1) || 1,
    parallel: Number(job.parallelTrialCount ?? 1) || 1,
    metric: primary.metric,
    goal: primary.goal,
    algorithm: 'random',
    space: {},
    ...(objectives.length > 0 && { objectives }),
    ...((selection === 'primary' || selection === 'knee') && { selection }),
  };
}

/**
 * The trial whose artifact becomes the run's: among SUCCEEDED trials with a final measurement of
 * every study metric, the one `selectBest` picks (the same rule as a local study: the best
 * `tuning.metric` by the goal, ties to the lower trial id; with several objectives `selection`
 * chooses on the Pareto front). The metric a trial reports is already its penalised score
 * (trainer/tuning/trial-report.ts). Its artifact is `<baseOutputDirectory>/<trialId>/model`.
 */
export function bestTrialOf(
  job: TuningJob,
): { id: string; value: number; artifactUri: string | undefined } | undefined {
  const tuning = jobTuning(job);
  const ids = [tuning.metric, ...(tuning.objectives ?? []).map((o) => o.metric)];
  const scored = (job.trials ?? []).flatMap((t) => {
    const trial = Number(t.id);
    if (enumName(t.state, TRIAL_STATE_NAMES) !== 'SUCCEEDED' || !t.id || !Number.isInteger(trial)) return [];
    const values = ids.map((id) => {
      const m = t.finalMeasurement?.metrics?.find((x) => x.metricId === id);
      const value = Number(m?.value);
      return m?.value === undefined || m.value === null || !Number.isFinite(value) ? null : value;
    });
    if (values.some((v) => v === null)) return [];
    return [{ id: t.id, trial, values, score: values[0] }];
  });
  const best = scored.find((t) => t.trial === selectBest(tuning, scored).best);
  if (!best) return undefined;
  return { id: best.id, value: best.values[0] as number, artifactUri: trialArtifact(job, best.id) };
}

/** Where trial `id` wrote its artifact: `<base>/<trialId>/model`, or for a scheduled job `<out-base>/<its CustomJob id>`. */
function trialArtifact(job: TuningJob, id: string): string | undefined {
  const args = job.trialJobSpec?.workerPoolSpecs?.[0]?.containerSpec?.args ?? [];
  const outBase = args.indexOf('--out-base');
  if (outBase >= 0 && args[outBase + 1]) {
    const customJob = job.trials?.find((t) => t.id === id)?.customJob ?? '';
    const jobId = customJob.split('/').pop();
    return jobId ? `${args[outBase + 1]}/${jobId}` : undefined;
  }
  const base = job.trialJobSpec?.baseOutputDirectory?.outputUriPrefix?.replace(/\/+$/, '');
  return base ? `${base}/${id}/model` : undefined;
}
