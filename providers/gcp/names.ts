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

/** `full` cut to `max` characters with a hash of the whole when longer (deterministic). */
export function fitName(full: string, max: number): string {
  return full.length <= max ? full : `${full.slice(0, max - 9).replace(/[-_]+$/, '')}-${shortHash(full)}`;
}

export const parentOf = (project: string, region: string) => `projects/${project}/locations/${region}`;

/**
 * Every cloud id of a stack's object is `mlform-<stack>_<name>`. Stacks and resource names are DNS
 * labels (`[a-z0-9-]`, resources/project.ts and resources/metadata.ts), so neither can hold the
 * `_`: the id names exactly one (stack, name) pair. Stack `a` with `b-c` is `mlform-a_b-c`, stack
 * `a-b` with `c` is `mlform-a-b_c` (both were `mlform-a-b-c` before issue 18, see legacyName).
 */
export const SEPARATOR = '_';
export const qualifiedName = (stack: string, name: string) => `mlform-${stack}${SEPARATOR}${name}`;

/**
 * The names of releases before issue 18, `mlform-<stack>-<name>`, which two stacks can share.
 * Objects under them are adopted only when their labels (a Scheduler job: its description or the
 * CustomJob it posts) name this very stack and resource; mlform never creates such a name again.
 */
export const legacyName = (stack: string, name: string) => `mlform-${stack}-${name}`;

/**
 * `qualifiedName` cut to `max` characters: the `mlform-<stack>_` prefix is always kept whole (at
 * most 28 characters), then as much of the name as fits and a hash of the whole, so two stacks
 * never share an id and one stack's names collide only if sha256 does.
 */
export function fitQualified(stack: string, name: string, max: number): string {
  const full = qualifiedName(stack, name);
  if (full.length <= max) return full;
  const prefix = qualifiedName(stack, '');
  const room = max - prefix.length - 9;
  return `${prefix}${name.slice(0, Math.max(room, 0)).replace(/-+$/, '')}-${shortHash(full)}`;
}

/** CustomJob display name: `mlform-<stack>_<name>-<k>` (display names are at most 128 characters). */
export const jobDisplayName = (stack: string, name: string, number: number) =>
  `${qualifiedName(stack, name)}-${number}`;

/** Display name of the jobs a Schedule creates: the same body every time, no number known. */
export const scheduledDisplayName = (stack: string, name: string, schedule: string) =>
  fitName(`${qualifiedName(stack, name)}-scheduled-${schedule}`, DISPLAY_NAME_MAX);

const DISPLAY_NAME_MAX = 128;

/** Vertex AI model id: 1-63 of [a-z0-9_-], not starting with a digit or hyphen. */
export const modelId = (stack: string, name: string) => fitQualified(stack, name, 63);

/** The model id releases before issue 18 used (`legacyName` cut to 63 with a hash). */
export const legacyModelId = (stack: string, name: string) => fitName(legacyName(stack, name), 63);

/** Cloud Scheduler job id (letters, digits, hyphens, underscores; <= 500): never cut. */
export const schedulerJobId = (stack: string, name: string) => qualifiedName(stack, name);

/** The Scheduler job id releases before issue 18 used. */
export const legacySchedulerJobId = (stack: string, name: string) => legacyName(stack, name);

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
    /** An endpoint's monitoring root (monitoring/layout.ts): logs, window summaries, feedback. */
    monitoring: (endpoint: string) => `${root}/monitoring/${endpoint}`,
    /** The stack state store (Provider.stateStore) prefix. */
    store: `${root}/store/`,
  };
};
export type GcsLayout = ReturnType<typeof gcsLayout>;
