/** Names, labels and paths of the cloud objects a stack owns (README.md "Names"). */
import { createHash } from 'node:crypto';

export interface Paths {
  project: string;
  region: string;
  trainingRegion: string;
  /** gs://bucket/prefix without a trailing slash. */
  bucket: string;
}

export const LABEL = {
  stack: 'mlform-stack',
  kind: 'mlform-kind',
  name: 'mlform-name',
  spec: 'mlform-spec',
  run: 'mlform-run',
  attempt: 'mlform-attempt',
  schedule: 'mlform-schedule',
  runName: 'mlform-run-name',
  runNumber: 'mlform-run-number',
  machine: 'mlform-machine',
  version: 'mlform-version',
} as const;

/** Label values: at most 63 of [a-z0-9_-] (lowercase; we never need international characters). */
export function labelValue(value: string): string {
  const v = value.toLowerCase().replace(/[^a-z0-9_-]/g, '_');
  return v.length <= 63 ? v : `${v.slice(0, 54)}-${shortHash(v)}`;
}

const shortHash = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 8);

/**
 * `mlform-<stack>-<name>` cut to `max` characters with a hash of the whole when longer, so the
 * name stays deterministic and unique.
 */
export function fitName(full: string, max: number): string {
  return full.length <= max ? full : `${full.slice(0, max - 9).replace(/[-_]+$/, '')}-${shortHash(full)}`;
}

export const parentOf = (project: string, region: string) => `projects/${project}/locations/${region}`;

/** CustomJob display name: `mlform-<stack>-<name>-<k>`. */
export const jobDisplayName = (stack: string, name: string, number: number) =>
  `mlform-${stack}-${name}-${number}`;

/** Display name of the jobs a Schedule creates: the same body every time, no number known. */
export const scheduledDisplayName = (stack: string, name: string, schedule: string) =>
  `mlform-${stack}-${name}-scheduled-${schedule}`;

/** Vertex AI model id: 1-63 of [a-z0-9_-], starting with a letter. */
export const modelId = (stack: string, name: string) => fitName(`mlform-${stack}-${name}`, 63);

/** Cloud Scheduler job id (letters, digits, hyphens, underscores; <= 500). */
export const schedulerJobId = (stack: string, name: string) => `mlform-${stack}-${name}`;

/** Cloud Run revision of a model version. */
export const revisionName = (service: string, version: number) => `${service}-v${version}`;

/** The object prefix of a stack, `gs://bucket/prefix/<stack>`. */
export const stackPrefix = (p: Paths, stack: string) => `${p.bucket}/${stack}`;

export const gcsLayout = (p: Paths, stack: string) => {
  const root = stackPrefix(p, stack);
  return {
    root,
    runDir: (name: string, number: number) => `${root}/runs/${name}/${number}`,
    /** Base of scheduled runs: the trainer appends `CLOUD_ML_JOB_ID`. */
    scheduledBase: (name: string) => `${root}/runs/${name}/scheduled`,
    data: (sha: string, basename: string) => `${root}/data/${sha.slice(0, 16)}/${basename}`,
    pending: (name: string, number: number) => `${root}/pending/${name}/${number}.json`,
    pendingPrefix: `${root}/pending/`,
    outcome: (name: string, number: number) => `${root}/outcomes/${name}/${number}.json`,
    outcomePrefix: `${root}/outcomes/`,
    model: (name: string) => `${root}/models/${name}.json`,
    modelPrefix: `${root}/models/`,
    lock: (name: string) => `${root}/locks/${name}.json`,
  };
};
export type GcsLayout = ReturnType<typeof gcsLayout>;
