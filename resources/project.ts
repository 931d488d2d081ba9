import { Type, type Static } from '@sinclair/typebox';
import { error, type Diagnostic } from './diagnostic.js';
import { StringEnum, Strict } from './schema-helpers.js';
import { NotificationsSchema } from './monitoring.js';

export const PROJECT_FILE_NAMES = ['mlform.yaml', 'mlform.yml'] as const;
export const PROVIDERS = ['local', 'gcp'] as const;

/** Stacks prefix cloud names (`mlform-<stack>_<name>`), so they are short DNS labels. */
const STACK = /^[a-z]([-a-z0-9]{0,18}[a-z0-9])?$/;
/** Google Cloud region names: `us-central1`, `europe-west4`, `northamerica-northeast2`. */
const REGION = '^[a-z]+(-[a-z]+)+[0-9]+$';

const GcpSchema = Type.Object(
  {
    // Patterns, not free strings: these reach URLs and the commands mlform prints for pasting.
    project: Type.String({
      pattern: '^([a-z][-a-z0-9.]*[a-z0-9]:)?[a-z][-a-z0-9]{4,28}[a-z0-9]$',
      description: 'Google Cloud project id (6-30 lowercase letters, digits and hyphens).',
    }),
    region: Type.String({
      pattern: REGION,
      description: 'Region for Cloud Run, the registry and Cloud Scheduler, e.g. `europe-central2`.',
    }),
    trainingRegion: Type.Optional(
      Type.String({
        pattern: REGION,
        description: 'Region for Vertex AI trainings (GPU availability differs). Default: `region`.',
      }),
    ),
    bucket: Type.String({
      pattern: '^gs://[a-z0-9][-_.a-z0-9]*[a-z0-9](/.*)?$',
      description: 'gs:// prefix for artifacts and the lock.',
    }),
    trainerImage: Type.String({
      minLength: 1,
      description: 'Image of the builtin trainer (deploy/trainer-gpu).',
    }),
    servingImage: Type.String({ minLength: 1, description: 'Image of the model server (deploy/serving).' }),
    serviceAccount: Type.String({
      pattern: '^[^@\\s]+@[^@\\s]+\\.iam\\.gserviceaccount\\.com$',
      description: 'Service account e-mail that trainings, services and schedules run as.',
    }),
    tensorboard: Type.Optional(
      Type.Union(
        [
          Type.String({
            description:
              'An existing Vertex AI TensorBoard instance, `projects/P/locations/<trainingRegion>/tensorboards/ID`.',
          }),
          Type.Object(
            { create: Type.Literal(true, { description: 'Find or create the instance of the stack.' }) },
            {
              ...Strict,
              description: 'The instance of the stack, created on the first apply that launches a run.',
            },
          ),
        ],
        {
          description:
            'Managed TensorBoard: trainings stream their event files (AIP_TENSORBOARD_LOG_DIR) into this instance.',
        },
      ),
    ),
  },
  { ...Strict, description: 'Google Cloud settings; required when `provider: gcp`.' },
);

export const ProjectConfigSchema = Type.Object(
  {
    apiVersion: Type.Optional(Type.Literal('mlform/v1', { description: 'Optional; `mlform/v1`.' })),
    stack: Type.String({
      description:
        'Ownership namespace: a lowercase DNS label of at most 20 characters. Several stacks can share one cloud project.',
    }),
    provider: StringEnum(PROVIDERS, { default: 'local', description: 'local | gcp' }),
    local: Type.Object(
      {
        stateDir: Type.String({
          minLength: 1,
          default: '.mlform',
          description:
            'State directory (runs, registry, endpoints, lock), relative to mlform.yaml and inside its folder. Elsewhere only through the operator (`--state-dir`, `MLFORM_STATE_DIR`); the controller always uses its own.',
        }),
        cpuHourPrice: Type.Optional(
          Type.Number({
            minimum: 0,
            description:
              'Price of one CPU-hour of this machine in USD, so local plans show a cost estimate (CPU-hours x this price) and `budget` applies; without it local plans show none.',
          }),
        ),
      },
      { ...Strict, default: {}, description: 'Local provider settings.' },
    ),
    gcp: Type.Optional(GcpSchema),
    budget: Type.Optional(
      Type.Object(
        {
          perApply: Type.Optional(
            Type.Number({
              minimum: 0,
              description:
                'Most the trainings one apply launches may cost by the estimate (USD). Over it, the plan is an error.',
            }),
          ),
          monthly: Type.Optional(
            Type.Number({
              minimum: 0,
              description:
                'Most the stack may cost per month once applied by the estimate (endpoint floors, schedules). Over it, the plan is an error.',
            }),
          ),
        },
        {
          ...Strict,
          description:
            "Limits on the plan's cost estimate: an estimate over one is a plan error naming what costs what.",
        },
      ),
    ),
    notifications: Type.Optional(NotificationsSchema),
  },
  { ...Strict, description: 'The project file, `mlform.yaml`, at the root of a manifest tree.' },
);
export type ProjectConfig = Static<typeof ProjectConfigSchema>;

export function checkProjectConfig(config: ProjectConfig): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (!STACK.test(config.stack)) {
    out.push(
      error(
        'invalid-stack',
        `stack "${config.stack}" must be a lowercase DNS label of at most 20 characters`,
        {
          path: ['stack'],
          hint: 'start with a letter; use a-z, 0-9 and -',
        },
      ),
    );
  }
  if (config.provider === 'gcp' && !config.gcp) {
    out.push(
      error('gcp-config', 'provider "gcp" needs a `gcp` section', {
        path: ['provider'],
        hint: 'add `gcp: {project, region, bucket, trainerImage, servingImage, serviceAccount}`',
      }),
    );
  }
  if (config.gcp) out.push(...checkTensorboard(config.gcp));
  return out;
}

/** The resource name Vertex accepts in `CustomJobSpec.tensorboard`. */
export const TENSORBOARD_NAME =
  /^projects\/([a-z0-9][-a-z0-9.:]*)\/locations\/([a-z]+(?:-[a-z]+)+[0-9]+)\/tensorboards\/([0-9]+)$/;

/**
 * `gcp.tensorboard` as a name must be an instance in the training region: Vertex refuses a job
 * whose TensorBoard is elsewhere, and only after the run was launched.
 */
function checkTensorboard(gcp: NonNullable<ProjectConfig['gcp']>): Diagnostic[] {
  const name = gcp.tensorboard;
  if (typeof name !== 'string') return [];
  const region = gcp.trainingRegion ?? gcp.region;
  const m = TENSORBOARD_NAME.exec(name);
  if (!m) {
    return [
      error('gcp-tensorboard-name', `gcp.tensorboard "${name}" is not a TensorBoard instance name`, {
        path: ['gcp', 'tensorboard'],
        hint: `write \`projects/${gcp.project}/locations/${region}/tensorboards/<numeric id>\` (gcloud ai tensorboards list --region ${region}), or \`{create: true}\``,
      }),
    ];
  }
  if (m[2] !== region) {
    return [
      error(
        'gcp-tensorboard-region',
        `gcp.tensorboard is in ${m[2]}, but trainings run in ${region}; Vertex AI needs the instance in the job's region`,
        {
          path: ['gcp', 'tensorboard'],
          hint: `use an instance in ${region}, or \`{create: true}\``,
        },
      ),
    ];
  }
  return [];
}

/**
 * `local.stateDir` is written by whoever writes the manifests, so it may only name a folder inside
 * the project (mlform.yaml's folder): state written anywhere else could overwrite another
 * project's state or orphan its servers. This is the lexical half of the rule; the provider adds
 * the symlink half (the realpath of the deepest existing ancestor).
 */
export type StateDirEscape = 'absolute' | 'parent' | 'root' | 'symlink';

export function lexicalStateDirEscape(stateDir: string): StateDirEscape | undefined {
  if (stateDir.startsWith('/') || stateDir.startsWith('\\') || /^[A-Za-z]:/.test(stateDir)) return 'absolute';
  const parts = stateDir.split(/[/\\]+/);
  let depth = 0;
  for (const part of parts) {
    if (part === '..') depth--;
    else if (part !== '.' && part !== '') depth++;
    if (depth < 0) return 'parent';
  }
  return depth === 0 ? 'root' : undefined;
}

const ESCAPES: Record<StateDirEscape, string> = {
  absolute: 'is an absolute path',
  parent: 'leads out of the project folder',
  root: 'is the project folder itself',
  symlink: 'leads out of the project folder through a symbolic link',
};

export function stateDirEscapeDiagnostic(
  stateDir: string,
  escape: StateDirEscape,
  detail?: string,
): Diagnostic {
  return error(
    'state-dir-outside-project',
    `local.stateDir "${stateDir}" ${ESCAPES[escape]}${detail ? ` (${detail})` : ''}; the manifests may only keep state inside the project folder`,
    {
      path: ['local', 'stateDir'],
      hint: 'use a relative folder such as .mlform; to keep state elsewhere, the operator passes --state-dir DIR or sets MLFORM_STATE_DIR',
    },
  );
}
