/**
 * TrainingRun <-> Vertex AI CustomJob: the job body (also what a Schedule's HTTP target posts)
 * and the observed run read back from a listed job. Pure functions; runs.ts does the calls.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { protos } from '@google-cloud/aiplatform';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { ownershipLabels, type ObservedRun, type RunState } from '../provider.js';
import { isoOf, type GcpSettings } from './context.js';
import type { Gcs } from './gcs.js';
import { jobDisplayName, LABEL, labelValue, scheduledDisplayName, type GcsLayout } from './names.js';

export type CustomJob = protos.google.cloud.aiplatform.v1.ICustomJob;

export const ENV = {
  spec: 'MLFORM_SPEC_JSON',
  specHash: 'MLFORM_SPEC_HASH',
  attempt: 'MLFORM_RUN_ATTEMPT',
  annotations: 'MLFORM_ANNOTATIONS',
  gitCommit: 'MLFORM_GIT_COMMIT',
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
}

/** Label keys: lowercase letter first, then [a-z0-9_-], at most 63. */
const labelKey = (key: string): string | undefined => {
  const k = key
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, '_')
    .slice(0, 63);
  return /^[a-z]/.test(k) ? k : undefined;
};

export function sanitizeLabels(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) {
    const key = labelKey(k);
    if (key) out[key] = labelValue(v);
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
  };
  const container = input.spec.trainer.container;
  const containerSpec: protos.google.cloud.aiplatform.v1.IContainerSpec = container
    ? {
        imageUri: container.image,
        ...(container.command && { command: container.command }),
        ...(container.args && { args: container.args }),
        env: Object.entries({ ...(container.env ?? {}), ...env }).map(([name, value]) => ({ name, value })),
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

export const jobIdOf = (job: CustomJob): string => (job.name ?? '').split('/').pop() ?? '';

function envOf(job: CustomJob): Record<string, string> {
  const env = job.jobSpec?.workerPoolSpecs?.[0]?.containerSpec?.env ?? [];
  return Object.fromEntries(env.flatMap((e) => (e.name ? [[e.name, e.value ?? '']] : [])));
}

function artifactOf(job: CustomJob): string | undefined {
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

/** A listed job as a run; `number` comes from the label, or is assigned (scheduled runs). */
export function runOf(job: CustomJob, number: number): ObservedRun {
  const labels = job.labels ?? {};
  const env = envOf(job);
  const state = stateOf(job.state);
  const artifactUri = artifactOf(job);
  const finishedAt = isoOf(job.endTime);
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
    ...(state === 'failed' && { error: job.error?.message || 'the Vertex AI job failed' }),
    ...(env[ENV.gitCommit] !== undefined && { gitCommit: env[ENV.gitCommit] }),
    annotations: parseRecord(env[ENV.annotations]),
  };
}

/**
 * Run numbers of one name's jobs. Jobs created by mlform carry `mlform-run`; jobs a Schedule
 * created cannot (the body is fixed), so they are numbered in createTime order after the highest
 * number created before them, skipping numbers a labelled job holds.
 */
export function assignNumbers(jobs: readonly CustomJob[]): Map<CustomJob, number> {
  const out = new Map<CustomJob, number>();
  const taken = new Set<number>();
  for (const j of jobs) {
    const n = Number(j.labels?.[LABEL.run]);
    if (Number.isInteger(n) && n > 0) {
      out.set(j, n);
      taken.add(n);
    }
  }
  const time = (j: CustomJob) => Date.parse(isoOf(j.createTime) ?? '') || 0;
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
