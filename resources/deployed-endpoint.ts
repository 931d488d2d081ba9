import { Type, type Static } from '@sinclair/typebox';
import { error, type Diagnostic } from './diagnostic.js';
import { didYouMean } from './suggest.js';
import { StringEnum, Strict } from './schema-helpers.js';
import type { RegisteredModelSpec } from './registered-model.js';
import { checkEnv, EnvSchema } from './secret-ref.js';
import { EndpointMonitoringSchema } from './monitoring.js';

export const PRESETS = {
  development: { scaling: { minInstances: 0, maxInstances: 2 }, resources: { memory: '2Gi', cpu: '1' } },
  production: { scaling: { minInstances: 1, maxInstances: 10 }, resources: { memory: '4Gi', cpu: '2' } },
  'high-traffic': { scaling: { minInstances: 2, maxInstances: 50 }, resources: { memory: '8Gi', cpu: '4' } },
} as const;
export type PresetName = keyof typeof PRESETS;
const PRESET_NAMES = Object.keys(PRESETS) as PresetName[];

/** Cloud Run's CPU choices and the memory each one allows. */
const CPU_VALUES = ['1', '2', '4', '6', '8'] as const;
const MIN_MEMORY_MI: Record<string, number> = { '1': 128, '2': 128, '4': 2048, '6': 4096, '8': 4096 };
const MAX_MEMORY_MI: Record<string, number> = { '1': 4096, '2': 8192, '4': 16384, '6': 24576, '8': 32768 };

export const DEFAULT_TRAFFIC = [{ version: 'champion', percent: 100 }];

const VersionSelectorSchema = Type.Union([Type.Integer({ minimum: 1 }), Type.String({ minLength: 1 })], {
  description: 'A version number, an alias of the model, or `latest`.',
});

const UrlPathSchema = (description: string, fallback?: string) =>
  Type.String({
    pattern: '^/[\\x21-\\x7e]*$',
    maxLength: 512,
    ...(fallback !== undefined && { default: fallback }),
    description,
  });

/**
 * A serving container of your own, for models mlform cannot load itself (a TF SavedModel behind
 * TensorFlow Serving, a custom server). One revision (gcp) or process (local) per model version;
 * mlform's readiness gate and traffic split stay the same (docs/artifact.md "Serving containers").
 */
export const ServingContainerSchema = Type.Object(
  {
    image: Type.Optional(
      Type.String({ minLength: 1, description: 'Image of one Cloud Run revision per model version (gcp).' }),
    ),
    command: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        maxItems: 256,
        description:
          'Local provider: the server as a program and its arguments (no shell), one process per model version, run in the sandbox and only where the operator allows commands (SECURITY.md).',
      }),
    ),
    args: Type.Optional(
      Type.Array(Type.String(), {
        maxItems: 256,
        description:
          'Arguments (after the image entrypoint or `command`); `$(MODEL_URI)`, `$(MODEL_NAME)`, `$(MODEL_VERSION)` and `$(PORT)` are replaced.',
      }),
    ),
    env: Type.Optional(EnvSchema),
    port: Type.Integer({
      minimum: 1,
      maximum: 65535,
      default: 8080,
      description: 'Port the server listens on (gcp; locally mlform picks one and passes it as PORT).',
    }),
    healthPath: UrlPathSchema('Path that answers 200 once the model is loaded (the readiness gate).', '/'),
    predictPath: UrlPathSchema('Path clients call to predict, e.g. `/v1/models/half_plus_two:predict`.'),
  },
  {
    ...Strict,
    description:
      "Your own serving container instead of mlform's model server: `image` (gcp), `command` (local), or both.",
  },
);
export type ServingContainer = Static<typeof ServingContainerSchema>;

export const DeployedEndpointSpecSchema = Type.Object(
  {
    model: Type.String({ description: 'RegisteredModel to serve.' }),
    traffic: Type.Array(
      Type.Object(
        {
          version: VersionSelectorSchema,
          percent: Type.Integer({ minimum: 0, maximum: 100, description: 'Share of requests, 0-100.' }),
        },
        Strict,
      ),
      {
        minItems: 1,
        maxItems: 10,
        default: DEFAULT_TRAFFIC,
        description:
          'Traffic split across versions; percents sum to 100. Default: 100% to the `champion` alias.',
      },
    ),
    preset: StringEnum(PRESET_NAMES, {
      default: 'development',
      description:
        'development: 0-2 instances, 2Gi/1 CPU; production: 1-10, 4Gi/2; high-traffic: 2-50, 8Gi/4.',
    }),
    scaling: Type.Optional(
      Type.Object(
        {
          minInstances: Type.Integer({ minimum: 0, maximum: 1000, description: 'Instances kept warm.' }),
          maxInstances: Type.Integer({ minimum: 1, maximum: 1000, description: 'Upper bound on instances.' }),
        },
        { ...Strict, description: "Overrides the preset's scaling." },
      ),
    ),
    resources: Type.Optional(
      Type.Object(
        {
          memory: Type.String({
            pattern: '^[0-9]+(Mi|Gi)$',
            description: 'Memory per instance, e.g. `4Gi`, `512Mi`.',
          }),
          cpu: StringEnum(CPU_VALUES, { description: 'CPUs per instance: "1", "2", "4", "6" or "8".' }),
        },
        { ...Strict, description: "Overrides the preset's resources." },
      ),
    ),
    batching: Type.Object(
      {
        enabled: Type.Boolean({
          default: true,
          description: 'Coalesce concurrent requests into one model call.',
        }),
        maxBatchSize: Type.Integer({ minimum: 1, maximum: 4096, default: 64, description: 'Largest batch.' }),
        batchTimeoutMicros: Type.Integer({
          minimum: 0,
          maximum: 1_000_000,
          default: 10_000,
          description: 'Longest wait for a batch to fill, in microseconds.',
        }),
      },
      { ...Strict, default: {}, description: 'Dynamic batching in the model server.' },
    ),
    timeoutSeconds: Type.Integer({
      minimum: 1,
      maximum: 3600,
      default: 300,
      description: 'Request timeout.',
    }),
    container: Type.Optional(ServingContainerSchema),
    monitoring: Type.Optional(EndpointMonitoringSchema),
  },
  { ...Strict, description: 'A serving endpoint for a RegisteredModel.' },
);
export type DeployedEndpointSpec = Static<typeof DeployedEndpointSpecSchema>;

/** The preset expanded into explicit scaling and resources, so the canonical spec says what runs. */
export function normalizeDeployedEndpointSpec(spec: DeployedEndpointSpec): DeployedEndpointSpec {
  const preset = PRESETS[spec.preset];
  return {
    ...spec,
    scaling: spec.scaling ?? { ...preset.scaling },
    resources: spec.resources ?? { ...preset.resources },
  };
}

const memoryMi = (memory: string): number =>
  memory.endsWith('Gi') ? Number.parseInt(memory, 10) * 1024 : Number.parseInt(memory, 10);

export function checkDeployedEndpointSpec(spec: DeployedEndpointSpec): Diagnostic[] {
  const out: Diagnostic[] = [];
  const total = spec.traffic.reduce((sum, t) => sum + t.percent, 0);
  if (total !== 100) {
    out.push(
      error('traffic-sum', `traffic percents sum to ${total}, not 100`, {
        path: ['spec', 'traffic'],
        hint: `adjust the percents: ${spec.traffic.map((t) => `${t.version}=${t.percent}`).join(', ')}`,
      }),
    );
  }
  const seen = new Map<string, number>();
  spec.traffic.forEach((t, i) => {
    const key = String(t.version);
    if (seen.has(key)) {
      out.push(
        error(
          'traffic-duplicate',
          `version "${key}" appears twice in traffic (entries ${seen.get(key)} and ${i})`,
          {
            path: ['spec', 'traffic', i, 'version'],
            hint: 'merge the two entries into one',
          },
        ),
      );
    } else seen.set(key, i);
  });
  if (spec.scaling && spec.scaling.minInstances > spec.scaling.maxInstances) {
    out.push(
      error(
        'scaling-range',
        `scaling.minInstances (${spec.scaling.minInstances}) is above maxInstances (${spec.scaling.maxInstances})`,
        { path: ['spec', 'scaling', 'minInstances'] },
      ),
    );
  }
  if (spec.container) {
    if (spec.container.image === undefined && spec.container.command === undefined) {
      out.push(
        error('container-choice', 'spec.container needs `image` (gcp), `command` (local), or both', {
          path: ['spec', 'container'],
        }),
      );
    }
    out.push(...checkEnv(spec.container.env, ['spec', 'container', 'env']));
  }
  if (spec.resources) {
    const { cpu, memory } = spec.resources;
    const mi = memoryMi(memory);
    if (mi < (MIN_MEMORY_MI[cpu] ?? 0) || mi > (MAX_MEMORY_MI[cpu] ?? Infinity)) {
      out.push(
        error(
          'resources-memory',
          `memory ${memory} is outside what ${cpu} CPU allows (${MIN_MEMORY_MI[cpu]}Mi to ${(MAX_MEMORY_MI[cpu] ?? 0) / 1024}Gi)`,
          { path: ['spec', 'resources', 'memory'] },
        ),
      );
    }
  }
  return out;
}

/**
 * Cross-resource rule: every alias selector in traffic must be an alias the model defines.
 * `defaulted` is true when traffic was not written and the default (champion) applies.
 */
export function checkTrafficAgainstModel(
  spec: DeployedEndpointSpec,
  model: RegisteredModelSpec,
  modelName: string,
  defaulted: boolean,
): Diagnostic[] {
  const aliases = Object.keys(model.aliases);
  const out: Diagnostic[] = [];
  spec.traffic.forEach((t, i) => {
    if (typeof t.version !== 'string' || t.version === 'latest' || aliases.includes(t.version)) return;
    if (/^\d+$/.test(t.version)) {
      out.push(
        error('traffic-version', `version "${t.version}" is a string; write the number without quotes`, {
          path: ['spec', 'traffic', i, 'version'],
        }),
      );
      return;
    }
    const known = [...aliases, 'latest'];
    out.push(
      defaulted
        ? error(
            'traffic-alias',
            `traffic defaults to the "champion" alias, but RegisteredModel "${modelName}" defines no such alias`,
            {
              path: ['spec', 'model'],
              hint: `add \`aliases: {champion: {policy: best, metric: val_loss}}\` to the model, or set \`traffic: [{version: latest, percent: 100}]\``,
            },
          )
        : error('traffic-alias', `RegisteredModel "${modelName}" has no alias "${t.version}"`, {
            path: ['spec', 'traffic', i, 'version'],
            hint: didYouMean(t.version, known) ?? `known: ${known.join(', ')}, or a version number`,
          }),
    );
  });
  return out;
}
