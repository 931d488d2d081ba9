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
 * - `run.json`: lineage, written by mlform itself once the trainer exited 0 (never by the trainer).
 */
import { Type, type Static } from '@sinclair/typebox';
import { StringEnum } from '../resources/schema-helpers.js';

export const CONTRACT_FILES = {
  descriptor: 'artifact.json',
  metrics: 'metrics.json',
  preprocess: 'preprocess.json',
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
  Type.Union([Type.Number(), Type.Null()]),
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
