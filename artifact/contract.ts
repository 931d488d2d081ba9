/**
 * The artifact contract every trainer follows, the builtin one and your own (docs/artifact.md):
 * what a training leaves in `AIP_MODEL_DIR`, so that gates, aliases, registration and serving work
 * the same whoever trained the model. The builtin trainer's files (files.ts) are one instance of it.
 *
 * - `metrics.json` (required): validation metrics and the naive baseline on the same split.
 * - `artifact.json` (required unless the folder holds the builtin trainer's files): the model's
 *   format and file, the task, and how features and predictions map to the model's inputs and
 *   outputs.
 * - `preprocess.json` (optional): mlform's preprocessing description, applied by the server to
 *   raw feature values before the model (the `encoded` input kind).
 * - `statistics.json` (optional): reference statistics of the validation split and of the model's
 *   predictions on it, for monitoring (issue 15); the builtin trainer does not write it yet.
 * - `run.json`: lineage, written by mlform itself once the trainer exited 0 (never by the trainer).
 *
 * `mlform artifact check DIR` (check.ts) validates a folder against all of this.
 */
import { Type, type Static } from '@sinclair/typebox';
import { TASKS } from '../resources/training-run.js';
import { StringEnum } from '../resources/schema-helpers.js';
import type { Preprocess } from './preprocess/types.js';

export const CONTRACT_FILES = {
  descriptor: 'artifact.json',
  metrics: 'metrics.json',
  preprocess: 'preprocess.json',
  statistics: 'statistics.json',
  run: 'run.json',
} as const;

/** The environment a trainer gets (the names Vertex AI uses; the same locally). */
export const TRAINER_ENV = {
  modelDir: 'AIP_MODEL_DIR',
  checkpointDir: 'AIP_CHECKPOINT_DIR',
  tensorboardDir: 'AIP_TENSORBOARD_LOG_DIR',
  hyperparameters: 'MLFORM_HYPERPARAMETERS',
  run: 'MLFORM_RUN',
} as const;

/** Your own trainer's hyperparameters (`spec.trainer.hyperparameters`). */
export type HyperparameterValues = Record<string, number | string | boolean>;

/**
 * The hyperparameters as arguments appended after the trainer's own: `--name=value`, names in
 * sorted order (the same arguments for the same spec), booleans as `true`/`false`. The local
 * command trainer and the gcp CustomJob both use this, so a script parses one form.
 */
export function hyperparameterArgs(values: HyperparameterValues | undefined): string[] {
  return Object.keys(values ?? {})
    .sort()
    .map((name) => `--${name}=${String(values?.[name])}`);
}

/** `MLFORM_HYPERPARAMETERS`: the same values as one JSON object (types kept). */
export const hyperparametersJson = (values: HyperparameterValues | undefined): string =>
  JSON.stringify(
    Object.fromEntries(
      Object.keys(values ?? {})
        .sort()
        .map((k) => [k, values?.[k]]),
    ),
  );

export const MODEL_FORMATS = ['tfjs', 'onnx', 'savedmodel', 'other'] as const;
export type ModelFormat = (typeof MODEL_FORMATS)[number];

/** The model file (or folder) of each format when `model` is not given. */
export const DEFAULT_MODEL_PATH: Record<ModelFormat, string | undefined> = {
  tfjs: 'model.json',
  onnx: 'model.onnx',
  savedmodel: 'saved_model',
  other: undefined,
};

export const CONTRACT_TASKS = ['regression', 'classification'] as const;
export const FEATURE_TYPES = ['numeric', 'categorical', 'boolean'] as const;
export const INPUT_KINDS = ['encoded', 'stacked', 'named'] as const;
export const OUTPUT_KINDS = ['value', 'logits', 'probabilities'] as const;

const RelativePath = Type.String({
  minLength: 1,
  maxLength: 256,
  pattern: '^(?!/)(?!.*(^|/)\\.\\.(/|$))[A-Za-z0-9._/-]+$',
  description: 'A path inside the artifact folder.',
});

export const ArtifactDescriptorSchema = Type.Object(
  {
    formatVersion: Type.Literal(1),
    format: StringEnum(MODEL_FORMATS, {
      description:
        'tfjs | onnx (mlform serves both) | savedmodel | other (served through a serving container only).',
    }),
    model: Type.Optional(RelativePath),
    task: StringEnum(CONTRACT_TASKS),
    target: Type.Optional(
      Type.String({ minLength: 1, maxLength: 256, description: 'The predicted column.' }),
    ),
    features: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 256 }),
            type: StringEnum(FEATURE_TYPES),
            input: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 256,
                description: 'The model input it feeds (`named`).',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        { minItems: 1, maxItems: 4096, description: 'Raw features clients send, in order.' },
      ),
    ),
    input: Type.Optional(
      Type.Object(
        {
          kind: StringEnum(INPUT_KINDS, {
            description:
              'encoded: preprocess.json turns raw values into the one float input; stacked: one float input [N, features]; named: one input per feature.',
          }),
          name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
        },
        { additionalProperties: false },
      ),
    ),
    output: Type.Optional(
      Type.Object(
        {
          name: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
          kind: StringEnum(OUTPUT_KINDS, {
            description: 'value (regression), logits or probabilities (classification, one per label).',
          }),
        },
        { additionalProperties: false },
      ),
    ),
    labels: Type.Optional(
      Type.Array(Type.String({ maxLength: 256 }), {
        minItems: 2,
        maxItems: 10000,
        description: 'Class labels in the order of the model output.',
      }),
    ),
    framework: Type.Optional(Type.String({ maxLength: 128, description: 'Free text, e.g. "pytorch 2.3".' })),
  },
  { additionalProperties: false },
);
export type ArtifactDescriptor = Static<typeof ArtifactDescriptorSchema>;

const MetricValues = Type.Record(
  Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }),
  Type.Union([Type.Number(), Type.Null()], { description: 'a number or null' }),
  { additionalProperties: false, description: 'Metric names: letters, digits and _ (val_mae).' },
);

/**
 * The part of metrics.json every trainer must write. Metric names are those gates and aliases use
 * (`val_mae`, `val_accuracy`, ...); null stands for a non-finite value. Other fields are allowed
 * (the builtin trainer writes health, training and backend details).
 */
export const ContractMetricsSchema = Type.Object({
  formatVersion: Type.Literal(1),
  metrics: MetricValues,
  baseline: MetricValues,
  baselineKind: Type.Optional(Type.String({ maxLength: 256 })),
  task: Type.Optional(Type.String({ maxLength: 64 })),
});
export type ContractMetrics = Static<typeof ContractMetricsSchema>;

// ---- preprocess.json -----------------------------------------------------------------------

const Finite = Type.Number({ description: 'A finite number.' });
const FeatureName = Type.String({ minLength: 1, maxLength: 256 });

/** Numbers and dates: filled when missing, then (x - mean) / std. */
const scaledFeature = <T extends 'numeric' | 'date'>(type: T) =>
  Type.Object({
    name: FeatureName,
    type: Type.Literal(type),
    mean: Finite,
    std: Type.Number({ exclusiveMinimum: 0 }),
    fill: Finite,
    relative: Type.Optional(Type.Boolean()),
  });

/**
 * preprocess.json (docs/artifact.md "preprocess.json"): how the server turns raw feature values into
 * the model's float32 input row, and the model's output into a prediction. The TypeScript shape is
 * `Preprocess` (preprocess/types.ts); this schema is what an artifact from any trainer is checked
 * against.
 */
export const PreprocessFileSchema = Type.Object({
  formatVersion: Type.Literal(1),
  task: StringEnum(TASKS),
  features: Type.Array(
    Type.Union(
      [
        scaledFeature('numeric'),
        Type.Object({ name: FeatureName, type: Type.Literal('boolean'), fill: Finite }),
        scaledFeature('date'),
        Type.Object({
          name: FeatureName,
          type: Type.Literal('categorical'),
          vocabulary: Type.Array(Type.String()),
          hashBuckets: Type.Optional(Type.Integer({ minimum: 1 })),
        }),
      ],
      {
        description:
          'a feature encoding: {name, type: numeric|date, mean, std, fill}, {name, type: boolean, fill} or {name, type: categorical, vocabulary, hashBuckets?}',
      },
    ),
    { minItems: 1 },
  ),
  target: Type.Union(
    [
      Type.Object({
        type: Type.Literal('numeric'),
        name: FeatureName,
        mean: Finite,
        std: Type.Number({ exclusiveMinimum: 0 }),
        mode: Type.Optional(StringEnum(['absolute', 'delta'] as const)),
      }),
      Type.Object({
        type: Type.Literal('label'),
        name: FeatureName,
        labels: Type.Array(Type.String(), { minItems: 2 }),
      }),
    ],
    {
      description: 'a target encoding: {type: numeric, name, mean, std} or {type: label, name, labels}',
    },
  ),
  encodedWidth: Type.Integer({ minimum: 1 }),
  inputShape: Type.Array(Type.Integer({ minimum: 1 }), { minItems: 1, maxItems: 2 }),
  window: Type.Optional(
    Type.Object({
      size: Type.Integer({ minimum: 1 }),
      horizon: Type.Integer({ minimum: 1 }),
      timeColumn: FeatureName,
    }),
  ),
});
export type PreprocessFile = Static<typeof PreprocessFileSchema>;
// The schema and the encoder's type describe the same file.
const _preprocessIsEncoderInput = (file: PreprocessFile): Preprocess => file;
void _preprocessIsEncoderInput;

// ---- statistics.json -----------------------------------------------------------------------

/**
 * statistics.json: the reference distribution drift is measured against (issue 15). Its schema is
 * monitoring's (monitoring/statistics.ts), the one the model server and observation read; the
 * artifact contract re-exports it so the checker and the page validate the same file.
 */
export {
  ReferenceStatisticsSchema,
  type FeatureStatistics,
  type ReferenceStatistics,
} from '../monitoring/statistics.js';
