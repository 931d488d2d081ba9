/**
 * The operator policy (`--policy FILE`, `MLFORM_POLICY`): mlform's AppProject. The operator writes
 * it, outside the manifest tree, to bound what any commit may ask for; the manifests never name or
 * widen it. Every rule is optional and an absent rule sets no limit, so a policy says only what it
 * restricts. Checked by `controller/engine/policy.ts`.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Strict } from './schema-helpers.js';

const Names = (description: string) =>
  Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true, description });

const Limit = (description: string, minimum = 0) => Type.Integer({ minimum, description });

export const PolicySchema = Type.Object(
  {
    apiVersion: Type.Optional(Type.Literal('mlform/v1', { description: 'Optional; `mlform/v1`.' })),
    kind: Type.Optional(Type.Literal('Policy', { description: 'Optional; `Policy`.' })),
    regions: Type.Optional(
      Names('Google Cloud regions a project may use for `gcp.region` and `gcp.trainingRegion`.'),
    ),
    machineTypes: Type.Optional(
      Names('Machine types a TrainingRun may ask for, in `resources` and in every fallback.'),
    ),
    acceleratorTypes: Type.Optional(
      Names('Accelerator (GPU) types a TrainingRun may ask for, in `resources` and in every fallback.'),
    ),
    maxGpusPerRun: Type.Optional(
      Limit(
        'GPUs one TrainingRun may hold at once: accelerator count × tuning.parallel (trials run side by side), for the machine and each fallback.',
      ),
    ),
    maxConcurrentRuns: Type.Optional(
      Limit(
        'Trainings the manifests may have running at once: one per TrainingRun, tuning.parallel for a tuned one.',
        1,
      ),
    ),
    maxLocalTrainings: Type.Optional(
      Limit(
        'Training processes the local provider runs at once from its state directory (a tuning run counts its trial workers); runs beyond it wait as `queued`. Default: the number of cores, or MLFORM_MAX_LOCAL_TRAININGS; with both, the smaller.',
        1,
      ),
    ),
    maxFiresPerHour: Type.Optional(
      Limit('Most fires of one Schedule in any 60 minutes, computed from its cron and time zone.', 1),
    ),
    maxTotalFiresPerHour: Type.Optional(
      Limit('Most fires of all Schedules together in any 60 minutes (the sum of each one’s most).', 1),
    ),
    maxEndpointInstances: Type.Optional(
      Limit("Upper bound on a DeployedEndpoint's `scaling.maxInstances` (after its preset).", 1),
    ),
    maxEndpointMinInstances: Type.Optional(
      Limit("Upper bound on a DeployedEndpoint's `scaling.minInstances`: instances paid for while idle."),
    ),
    dataRoots: Type.Optional(
      Type.Array(Type.String({ minLength: 1, pattern: '^/' }), {
        uniqueItems: true,
        description:
          'Absolute folders data may be read from besides the manifest tree (adds to --allow-data-root).',
      }),
    ),
    buckets: Type.Optional(
      Type.Array(Type.String({ pattern: '^(gs://)?[a-z0-9][-_.a-z0-9]*[a-z0-9]/?$' }), {
        uniqueItems: true,
        description: 'Cloud Storage buckets `gs://` data may be read from (names, with or without gs://).',
      }),
    ),
    notificationHosts: Type.Optional(
      Names(
        'Hosts notification sinks may reach: a host name, or `.example.com` for its subdomains (with --notify-allow-host, a destination must be in both).',
      ),
    ),
    allowLocalCommands: Type.Optional(
      Type.Boolean({
        description:
          'Whether a manifest may run a command on the machine running mlform (enforced once `trainer.command` exists).',
      }),
    ),
    allowPrune: Type.Optional(
      Type.Boolean({
        description:
          'Whether a plan may delete managed resources whose manifests are gone (`plan`/`apply` prune by default; the controller with --prune).',
      }),
    ),
    allowDestroy: Type.Optional(
      Type.Boolean({ description: 'Whether `mlform destroy` and `plan --destroy` may run.' }),
    ),
    allowImport: Type.Optional(
      Type.Boolean({
        description:
          "Whether mlform.yaml's `import:` may adopt objects no stack owns into the stack (which may then change and delete them). The operator's own `mlform import ADDRESS ID` is not bound by it.",
      }),
    ),
  },
  { ...Strict, description: 'Operator policy: what any manifest of any commit may ask for.' },
);
export type Policy = Static<typeof PolicySchema>;

/** Rule names as they appear in messages (`policy: ... exceeds maxGpusPerRun 4`). */
export type PolicyRule = Exclude<keyof Policy, 'apiVersion' | 'kind'>;
