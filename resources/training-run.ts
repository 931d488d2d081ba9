import { Type, type Static } from '@sinclair/typebox';
import { error, type Diagnostic } from './diagnostic.js';
import { didYouMean } from './suggest.js';
import { checkTuningSpace } from './tuning-space-checks.js';
import { StringEnum, Strict } from './schema-helpers.js';
import { checkEnv, EnvSchema } from './secret-ref.js';
import { checkTuningObjectives } from './tuning-objective-checks.js';

export const TASKS = ['regression', 'classification', 'forecasting'] as const;
export type Task = (typeof TASKS)[number];
export const NETWORK_TYPES = ['mlp', 'lstm', 'gru'] as const;
export const ACTIVATIONS = ['relu', 'tanh', 'sigmoid', 'elu', 'selu', 'swish', 'linear'] as const;
export const OPTIMIZERS = ['adam', 'sgd', 'rmsprop'] as const;
export const COLUMN_TYPES = ['numeric', 'categorical', 'boolean', 'date'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];
export const DATA_FORMATS = ['csv', 'json', 'jsonl', 'parquet'] as const;
export type DataFormat = (typeof DATA_FORMATS)[number];

/** GPUs Vertex AI custom training offers. TPUs are not listed: TensorFlow.js cannot drive them. */
export const ACCELERATOR_TYPES = [
  'NVIDIA_TESLA_T4',
  'NVIDIA_TESLA_V100',
  'NVIDIA_TESLA_P100',
  'NVIDIA_TESLA_P4',
  'NVIDIA_L4',
  'NVIDIA_TESLA_A100',
  'NVIDIA_A100_80GB',
  'NVIDIA_H100_80GB',
  'NVIDIA_H100_MEGA_80GB',
  'NVIDIA_H200_141GB',
  'NVIDIA_B200',
] as const;
export type AcceleratorType = (typeof ACCELERATOR_TYPES)[number];

const WindowSchema = Type.Object(
  {
    size: Type.Integer({ minimum: 1, maximum: 1000, description: 'Time steps the model sees per sample.' }),
    horizon: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 1,
      description: 'How many steps ahead of the window the target is predicted.',
    }),
    timeColumn: Type.String({ minLength: 1, description: 'Column the rows are sorted by before windowing.' }),
    season: Type.Optional(
      Type.Integer({
        minimum: 2,
        maximum: 10000,
        description:
          "Steps per seasonal cycle (7 for daily data with a weekly cycle), for the seasonal-naive baseline and MASE. Default: inferred from the time column's dates (hourly 24, daily 7, weekly 52, monthly 12, quarterly 4), else none.",
      }),
    ),
  },
  { ...Strict, description: 'Sliding window over a time-ordered table. Required for `task: forecasting`.' },
);

const DataSchema = Type.Object(
  {
    uri: Type.String({
      pattern: '^(file|gs)://.+',
      description: '`file://path` (relative to the manifest file) or `gs://bucket/object`.',
    }),
    format: Type.Optional(
      StringEnum(DATA_FORMATS, {
        description:
          'File format; inferred from the extension when omitted (a URI ending in `/` is a folder of Parquet part files).',
      }),
    ),
    target: Type.String({ minLength: 1, description: 'Column to predict.' }),
    features: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        uniqueItems: true,
        description:
          "Input columns. Default: every column except the target (and the time column). Forecasting always uses the target's own history too, so `[]` means univariate.",
      }),
    ),
    types: Type.Optional(
      Type.Record(Type.String(), StringEnum(COLUMN_TYPES), {
        description:
          'Column type overrides (numeric | categorical | boolean | date); other types are inferred from the data.',
      }),
    ),
    validationSplit: Type.Number({
      exclusiveMinimum: 0,
      maximum: 0.5,
      default: 0.2,
      description:
        'Fraction of rows held out for validation (the last rows in time for forecasting, a seeded shuffle otherwise).',
    }),
    maxCategories: Type.Integer({
      minimum: 2,
      maximum: 10000,
      default: 64,
      description:
        'Categorical columns with more distinct values are one-hot encoded into this many hashed buckets.',
    }),
    window: Type.Optional(WindowSchema),
  },
  { ...Strict, description: 'Where the training data is and how to read it.' },
);

const NetworkSchema = Type.Object(
  {
    type: StringEnum(NETWORK_TYPES, {
      default: 'mlp',
      description: 'mlp | lstm | gru (recurrent types need `window`).',
    }),
    layers: Type.Array(Type.Integer({ minimum: 1, maximum: 4096 }), {
      minItems: 1,
      maxItems: 16,
      default: [64, 64],
      description: 'Units per hidden layer (dense for mlp, recurrent for lstm/gru).',
    }),
    activation: StringEnum(ACTIVATIONS, {
      default: 'relu',
      description: 'Activation of mlp hidden layers (recurrent cells keep tanh).',
    }),
    dropout: Type.Number({
      minimum: 0,
      maximum: 0.9,
      default: 0,
      description: 'Dropout rate after each hidden layer.',
    }),
  },
  { ...Strict, default: {}, description: 'The network built by the trainer.' },
);

const EarlyStoppingSchema = Type.Object(
  {
    patience: Type.Integer({
      minimum: 1,
      default: 10,
      description: 'Epochs without improvement before stopping.',
    }),
    metric: Type.String({ default: 'val_loss', description: 'Metric watched (`val_loss`, `val_mae`, ...).' }),
    minDelta: Type.Number({
      minimum: 0,
      default: 0,
      description: 'Smallest change that counts as improvement.',
    }),
  },
  { ...Strict, description: 'Stop when the metric stops improving and restore the best weights.' },
);

const HyperparametersSchema = Type.Object(
  {
    epochs: Type.Integer({ minimum: 1, maximum: 100000, default: 100, description: 'Maximum epochs.' }),
    batchSize: Type.Integer({
      minimum: 1,
      maximum: 65536,
      default: 32,
      description: 'Samples per gradient step.',
    }),
    learningRate: Type.Number({
      exclusiveMinimum: 0,
      maximum: 10,
      default: 0.001,
      description: 'Optimizer step size.',
    }),
    optimizer: StringEnum(OPTIMIZERS, { default: 'adam', description: 'adam | sgd | rmsprop' }),
    earlyStopping: Type.Optional(EarlyStoppingSchema),
  },
  { ...Strict, default: {}, description: 'Training loop settings.' },
);

const BuiltinTrainerSchema = Type.Object(
  {
    task: StringEnum(TASKS, { description: 'regression | classification | forecasting' }),
    data: DataSchema,
    network: NetworkSchema,
    hyperparameters: HyperparametersSchema,
    seed: Type.Integer({
      minimum: 0,
      default: 42,
      description: 'Seed for the split, initialisation and shuffling.',
    }),
  },
  { ...Strict, description: 'The TensorFlow.js trainer that ships with mlform.' },
);
export type BuiltinTrainer = Static<typeof BuiltinTrainerSchema>;

const ContainerTrainerSchema = Type.Object(
  {
    image: Type.String({ minLength: 1, description: 'Container image that trains and writes the artifact.' }),
    command: Type.Optional(Type.Array(Type.String(), { description: 'Entrypoint override.' })),
    args: Type.Optional(Type.Array(Type.String(), { description: 'Arguments.' })),
    env: Type.Optional(EnvSchema),
  },
  {
    ...Strict,
    description:
      'Your own training container, run as a Vertex AI CustomJob (gcp provider). It writes the artifact of docs/artifact.md to `AIP_MODEL_DIR`.',
  },
);

/** A hyperparameter of your own trainer: a name usable as a `--name=value` argument. */
export const HYPERPARAMETER_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_.-]*$';

const HyperparameterValuesSchema = Type.Record(
  Type.String({ pattern: HYPERPARAMETER_NAME_PATTERN }),
  Type.Union([Type.Number(), Type.String(), Type.Boolean()]),
  {
    description:
      'Hyperparameters of your own trainer (`command` or `container`): appended to its arguments as `--name=value`, and as one JSON object in `MLFORM_HYPERPARAMETERS`. Part of the spec, so a change is a new run.',
  },
);

const CommandSchema = Type.Array(Type.String({ minLength: 1 }), {
  minItems: 1,
  maxItems: 256,
  description:
    'Your own trainer as a program and its arguments (no shell), e.g. `[python3, train.py]`, run by the local provider in a sandbox, and only where the operator allows commands (SECURITY.md). It writes the artifact of docs/artifact.md to `AIP_MODEL_DIR`.',
});
export const AcceleratorSchema = Type.Object(
  {
    type: StringEnum(ACCELERATOR_TYPES, { description: 'GPU type, as Vertex AI names it.' }),
    count: Type.Integer({ minimum: 1, maximum: 16, default: 1, description: 'GPUs per worker.' }),
  },
  {
    ...Strict,
    description: 'GPUs. A run that asks for one and cannot see it fails instead of using the CPU.',
  },
);

const MachineSchema = Type.Object(
  {
    machineType: Type.String({ minLength: 1, description: 'Compute Engine machine type.' }),
    accelerator: Type.Optional(AcceleratorSchema),
  },
  Strict,
);

/** `2h`, `45m`, `1h30m`, `90s`: hours, minutes and seconds in that order, at least one. */
export const DURATION_PATTERN = '^(?=[0-9])([0-9]+h)?([0-9]+m)?([0-9]+s)?$';

/** Seconds of a duration matching `DURATION_PATTERN`. */
export function parseDuration(text: string): number {
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!m) return Number.NaN;
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

/** The spec a run's identity is hashed from: the cost estimate's hint is not part of it. */
export function hashedRunSpec(spec: TrainingRunSpec): TrainingRunSpec {
  if (spec.resources.expectedDuration === undefined) return spec;
  const { expectedDuration: _estimate, ...resources } = spec.resources;
  return { ...spec, resources };
}

export const ResourcesSchema = Type.Object(
  {
    machineType: Type.String({
      minLength: 1,
      default: 'n1-standard-4',
      description: 'Compute Engine machine type (gcp).',
    }),
    accelerator: Type.Optional(AcceleratorSchema),
    spot: Type.Boolean({
      default: false,
      description: 'Use Spot VMs; preempted runs resume from their checkpoint.',
    }),
    fallbacks: Type.Optional(
      Type.Array(MachineSchema, {
        maxItems: 8,
        description: 'Tried in order when the cloud has no capacity or quota for the machine above.',
      }),
    ),
    expectedDuration: Type.Optional(
      Type.String({
        pattern: DURATION_PATTERN,
        description:
          'How long a run takes (`45m`, `2h`, `1h30m`), for the cost estimate in the plan until there are finished runs to take the median of. Not part of the spec hash: changing it trains nothing.',
      }),
    ),
  },
  {
    ...Strict,
    default: {},
    description: 'Where the training runs (gcp); locally only `accelerator` is checked.',
  },
);

const SearchDimensionSchema = Type.Object(
  {
    uniform: Type.Optional(
      Type.Array(Type.Number(), { minItems: 2, maxItems: 2, description: '[low, high]' }),
    ),
    logUniform: Type.Optional(
      Type.Array(Type.Number(), { minItems: 2, maxItems: 2, description: '[low, high], both > 0' }),
    ),
    int: Type.Optional(
      Type.Array(Type.Integer(), { minItems: 2, maxItems: 2, description: '[low, high] inclusive' }),
    ),
    choice: Type.Optional(Type.Array(Type.Unknown(), { minItems: 1, description: 'Values to pick from.' })),
    layers: Type.Optional(
      Type.Object(
        {
          count: Type.Array(Type.Integer({ minimum: 1, maximum: 8 }), {
            minItems: 2,
            maxItems: 2,
            description: '[low, high] inclusive: how many hidden layers.',
          }),
          units: Type.Array(Type.Integer({ minimum: 1 }), {
            minItems: 2,
            maxItems: 2,
            description: '[low, high] inclusive: units of each layer that exists (log scale).',
          }),
        },
        {
          ...Strict,
          description:
            'A list of layer widths (`network.layers` only): the depth is sampled, then the units of each layer that exists; a layer beyond the depth has no parameter (conditional).',
        },
      ),
    ),
    points: Type.Optional(
      Type.Integer({
        minimum: 2,
        maximum: 100,
        description:
          'Grid sampler: values taken from a uniform/logUniform range (evenly spaced, log-spaced for logUniform).',
      }),
    ),
    when: Type.Optional(
      Type.Object(
        {
          key: Type.String({ minLength: 1, description: 'Another key of this space (a `choice` or `int`).' }),
          in: Type.Array(Type.Unknown(), {
            minItems: 1,
            description: 'Values of that key for which this one exists.',
          }),
        },
        {
          ...Strict,
          description:
            'A conditional parameter: sampled only when `key` took one of the values `in`; otherwise the spec keeps its own value.',
        },
      ),
    ),
  },
  { ...Strict, description: 'Exactly one of uniform, logUniform, int, choice, layers.' },
);

export const SAMPLERS = ['random', 'grid', 'tpe', 'bayesian'] as const;
export const PRUNERS = ['none', 'median', 'asha', 'hyperband'] as const;
export const PENALTIES = ['deadNeurons', 'gradients', 'stability', 'generalization'] as const;

const SamplerSchema = Type.Object(
  {
    type: StringEnum(SAMPLERS, {
      description:
        "random; grid (every combination, in order); tpe (Tree-structured Parzen Estimator, Bergstra et al. 2011, as Optuna); bayesian (Vertex AI Vizier's default, gcp only).",
    }),
    startupTrials: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        description: 'tpe: random trials before the model is used (default 10).',
      }),
    ),
    candidates: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        description: 'tpe: candidates drawn per parameter to maximise l(x)/g(x) (default 24).',
      }),
    ),
  },
  { ...Strict, description: "How the next trial's parameters are chosen (default: random)." },
);

const PrunerSchema = Type.Object(
  {
    type: StringEnum(PRUNERS, {
      description:
        'none; median (stop a trial whose best value so far is worse than the median of the completed trials at the same epoch); asha (asynchronous successive halving); hyperband (several ASHA brackets).',
    }),
    warmupEpochs: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'median: epochs a trial trains before it can be stopped (default 0).',
      }),
    ),
    startupTrials: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'median: trials that finish before any is stopped (default 5).',
      }),
    ),
    minEpochs: Type.Optional(
      Type.Integer({ minimum: 1, description: "asha/hyperband: the first rung's epochs (default 1)." }),
    ),
    eta: Type.Optional(
      Type.Integer({
        minimum: 2,
        maximum: 10,
        description: 'asha/hyperband: 1/eta of a rung goes on, budgets grow by eta (default 3).',
      }),
    ),
  },
  {
    ...Strict,
    description:
      'When an unpromising trial stops early, from its per-epoch metric (default: asha, as `algorithm: halving`).',
  },
);

const ObjectiveSchema = Type.Object(
  {
    metric: Type.String({
      minLength: 1,
      description:
        'A metric of metrics.json, or `parameters` (trainable weights) or `modelBytes` (weight file size).',
    }),
    goal: StringEnum(['minimize', 'maximize'] as const, { description: 'minimize | maximize' }),
  },
  { ...Strict },
);

const TuningSchema = Type.Object(
  {
    trials: Type.Integer({ minimum: 1, maximum: 1000, description: 'Number of trials.' }),
    parallel: Type.Integer({ minimum: 1, maximum: 64, default: 1, description: 'Trials run at once.' }),
    metric: Type.String({ default: 'val_loss', description: 'Metric that ranks trials.' }),
    goal: StringEnum(['minimize', 'maximize'] as const, {
      default: 'minimize',
      description: 'minimize | maximize',
    }),
    algorithm: StringEnum(['random', 'halving'] as const, {
      default: 'halving',
      description:
        'Shorthand kept from the first version: random = random sampler, no pruner; halving = random sampler, asha pruner. `sampler` and `pruner` override it.',
    }),
    sampler: Type.Optional(SamplerSchema),
    pruner: Type.Optional(PrunerSchema),
    objectives: Type.Optional(
      Type.Array(ObjectiveSchema, {
        minItems: 1,
        maxItems: 3,
        description:
          'Further objectives next to `metric`: the search becomes multi-objective and reports the Pareto front of [metric, ...objectives].',
      }),
    ),
    selection: Type.Optional(
      StringEnum(['primary', 'knee'] as const, {
        description:
          "Multi-objective: which Pareto-optimal trial becomes the run's artifact. primary (default): the best `metric`; knee: the closest to the ideal point after scaling each objective to [0, 1].",
      }),
    ),
    penalties: Type.Optional(
      Type.Partial(
        Type.Object(
          Object.fromEntries(
            PENALTIES.map((name) => [
              name,
              Type.Number({
                minimum: 0,
                description: `Weight of (1 - health.components.${name === 'deadNeurons' ? 'deadNeurons' : name}).`,
              }),
            ]),
          ) as Record<(typeof PENALTIES)[number], ReturnType<typeof Type.Number>>,
        ),
        {
          ...Strict,
          description:
            "Model-health penalties: a trial's score is `metric` worsened by the sum of weight x (1 - health component), in the metric's units.",
        },
      ),
    ),
    space: Type.Record(Type.String(), SearchDimensionSchema, {
      description:
        'Search space. Keys are paths in `trainer.builtin` (`network.layers`); bare names mean `hyperparameters.<name>`.',
    }),
  },
  { ...Strict, description: "Hyperparameter search; the best trial becomes the run's artifact." },
);

export const TrainingRunSpecSchema = Type.Object(
  {
    model: Type.Optional(Type.String({ description: 'RegisteredModel this run feeds.' })),
    trainer: Type.Object(
      {
        builtin: Type.Optional(BuiltinTrainerSchema),
        command: Type.Optional(CommandSchema),
        workingDir: Type.Optional(
          Type.String({
            minLength: 1,
            description:
              "Working directory of `command`, relative to the manifest's folder (default: that folder); it must stay inside the manifest tree.",
          }),
        ),
        env: Type.Optional(EnvSchema),
        network: Type.Optional(
          Type.Boolean({
            description:
              'The command needs the network (downloads, a tracking server). Default false: no network in the sandbox. The operator must allow it too.',
          }),
        ),
        hyperparameters: Type.Optional(HyperparameterValuesSchema),
        container: Type.Optional(ContainerTrainerSchema),
      },
      {
        ...Strict,
        description:
          'Either `builtin`, or your own trainer: `command` (local provider), `container` (gcp), or both, one per provider.',
      },
    ),
    resources: ResourcesSchema,
    tuning: Type.Optional(TuningSchema),
    retry: Type.Object(
      {
        limit: Type.Integer({
          minimum: 0,
          maximum: 10,
          default: 2,
          description: 'Retries after code errors. Preemptions and capacity waits are counted apart.',
        }),
      },
      { ...Strict, default: {}, description: 'Retry policy.' },
    ),
    tensorboard: Type.Object(
      {
        histograms: Type.Boolean({ default: true, description: 'Weight histograms per layer and epoch.' }),
        images: Type.Boolean({
          default: true,
          description: 'Predicted-vs-actual scatter or confusion matrix.',
        }),
        stepInterval: Type.Integer({
          minimum: 1,
          default: 50,
          description: 'Write step scalars every N steps.',
        }),
      },
      { ...Strict, default: {}, description: 'What the trainer logs for TensorBoard.' },
    ),
  },
  { ...Strict, description: 'One completed training of this spec.' },
);
export type TrainingRunSpec = Static<typeof TrainingRunSpecSchema>;

export const BARE_HYPERPARAMETERS = ['epochs', 'batchSize', 'learningRate', 'optimizer'];
export const TUNABLE_PATHS = [
  ...BARE_HYPERPARAMETERS.map((name) => `hyperparameters.${name}`),
  'hyperparameters.earlyStopping.patience',
  'network.type',
  'network.layers',
  'network.activation',
  'network.dropout',
  'seed',
];

/** `learningRate` -> `hyperparameters.learningRate`; dotted paths are relative to `trainer.builtin`. */
export const resolveTuningPath = (key: string): string =>
  BARE_HYPERPARAMETERS.includes(key) ? `hyperparameters.${key}` : key;

/** Rules a JSON Schema cannot express. Paths are relative to the document root. */
export function checkTrainingRunSpec(spec: TrainingRunSpec): Diagnostic[] {
  const out: Diagnostic[] = [];
  const { builtin, container, command } = spec.trainer;
  const own = command !== undefined || container !== undefined;
  if ((builtin === undefined) === !own) {
    out.push(
      error(
        'trainer-choice',
        builtin
          ? 'spec.trainer sets `builtin` and your own trainer (`command`/`container`): choose one'
          : 'spec.trainer must set `builtin`, or `command` and/or `container`',
        {
          path: ['spec', 'trainer'],
          hint: 'use `builtin` for the TensorFlow.js trainer; `command` (local) or `container` (gcp) for your own',
        },
      ),
    );
  }
  if (builtin) out.push(...checkBuiltin(builtin));
  if (container) out.push(...checkEnv(container.env, ['spec', 'trainer', 'container', 'env']));
  out.push(...checkEnv(spec.trainer.env, ['spec', 'trainer', 'env']));
  for (const field of ['workingDir', 'env', 'network'] as const) {
    if (spec.trainer[field] !== undefined && command === undefined) {
      out.push(
        error('trainer-command-field', `spec.trainer.${field} applies to \`command\` only`, {
          path: ['spec', 'trainer', field],
          hint:
            field === 'env' && container
              ? 'the container takes its variables in `container.env`'
              : 'add `command`, or remove this field',
        }),
      );
    }
  }
  if (spec.trainer.hyperparameters !== undefined && !own) {
    out.push(
      error('trainer-hyperparameters', 'spec.trainer.hyperparameters applies to `command` and `container`', {
        path: ['spec', 'trainer', 'hyperparameters'],
        hint: 'the builtin trainer takes `builtin.hyperparameters`',
      }),
    );
  }
  const dir = spec.trainer.workingDir;
  if (dir !== undefined && (dir.startsWith('/') || /^[A-Za-z]:/.test(dir))) {
    out.push(
      error('trainer-working-dir', `workingDir "${dir}" must be relative to the manifest's folder`, {
        path: ['spec', 'trainer', 'workingDir'],
        hint: 'a folder below the manifest, e.g. `.` or `src`',
      }),
    );
  }
  if (spec.tuning) {
    if (!builtin) {
      out.push(
        error('tuning-needs-builtin', 'tuning works with the builtin trainer only', {
          path: ['spec', 'tuning'],
        }),
      );
    }
    if (spec.tuning.parallel > spec.tuning.trials) {
      out.push(
        error(
          'tuning-parallel',
          `tuning.parallel (${spec.tuning.parallel}) exceeds tuning.trials (${spec.tuning.trials})`,
          {
            path: ['spec', 'tuning', 'parallel'],
          },
        ),
      );
    }
    out.push(...checkTuningObjectives(spec));
    for (const [key, dimension] of Object.entries(spec.tuning.space)) {
      const path = ['spec', 'tuning', 'space', key];
      const resolved = resolveTuningPath(key);
      if (!TUNABLE_PATHS.includes(resolved)) {
        out.push(
          error('tuning-unknown-parameter', `"${key}" is not a tunable parameter`, {
            path,
            hint:
              didYouMean(key, [...BARE_HYPERPARAMETERS, ...TUNABLE_PATHS]) ??
              `tunable: ${[...BARE_HYPERPARAMETERS, ...TUNABLE_PATHS.filter((p) => !p.startsWith('hyperparameters.') || p.includes('earlyStopping'))].join(', ')}`,
          }),
        );
      }
      const kinds = (['uniform', 'logUniform', 'int', 'choice', 'layers'] as const).filter(
        (k) => dimension[k] !== undefined,
      );
      if (kinds.length !== 1) {
        out.push(
          error(
            'tuning-dimension',
            `search dimension "${key}" must set exactly one of uniform, logUniform, int, choice, layers`,
            {
              path,
            },
          ),
        );
        continue;
      }
      const range = dimension.uniform ?? dimension.logUniform ?? dimension.int;
      if (range && !(range[0] < range[1])) {
        out.push(
          error(
            'tuning-range',
            `search range for "${key}" must be [low, high] with low < high, got [${range.join(', ')}]`,
            {
              path: [...path, kinds[0]],
            },
          ),
        );
      }
      if (dimension.logUniform && dimension.logUniform[0] <= 0) {
        out.push(
          error('tuning-range', `logUniform bounds for "${key}" must be > 0`, {
            path: [...path, 'logUniform', 0],
          }),
        );
      }
    }
    out.push(...checkTuningSpace(spec.tuning));
  }
  return out;
}

function checkBuiltin(builtin: BuiltinTrainer): Diagnostic[] {
  const out: Diagnostic[] = [];
  const base = ['spec', 'trainer', 'builtin'];
  const { data, network, task } = builtin;
  const recurrent = network.type === 'lstm' || network.type === 'gru';
  if (task === 'forecasting' && !data.window) {
    out.push(
      error('window-required', 'task "forecasting" needs data.window', {
        path: [...base, 'data'],
        hint: 'add `window: {size: 24, horizon: 1, timeColumn: date}`',
      }),
    );
  }
  if (recurrent && !data.window) {
    out.push(
      error('window-required', `network type "${network.type}" reads sequences and needs data.window`, {
        path: [...base, 'network', 'type'],
        hint: 'use `type: mlp` for tabular data, or add data.window',
      }),
    );
  }
  if (data.window && task !== 'forecasting') {
    out.push(
      error('window-task', `data.window is only used by task "forecasting", not "${task}"`, {
        path: [...base, 'data', 'window'],
      }),
    );
  }
  if (data.features?.length === 0 && task !== 'forecasting') {
    out.push(
      error('features-empty', `task "${task}" needs at least one feature`, {
        path: [...base, 'data', 'features'],
        hint: 'list input columns, or omit `features` to use every column except the target',
      }),
    );
  }
  // Forecasting reads the target's past in every window (it is the main input), so listing it
  // there is allowed; for the other tasks a model that sees its target learns nothing useful.
  if (data.features?.includes(data.target) && task !== 'forecasting') {
    const index = data.features.indexOf(data.target);
    out.push(
      error('target-in-features', `the target "${data.target}" is also listed as a feature`, {
        path: [...base, 'data', 'features', index],
        hint: 'remove it from features: a model that sees its target learns nothing useful',
      }),
    );
  }
  const es = builtin.hyperparameters.earlyStopping;
  if (es && es.patience >= builtin.hyperparameters.epochs) {
    out.push(
      error(
        'early-stopping-patience',
        `earlyStopping.patience (${es.patience}) must be below epochs (${builtin.hyperparameters.epochs})`,
        {
          path: [...base, 'hyperparameters', 'earlyStopping', 'patience'],
        },
      ),
    );
  }
  if (es && !/^(val_)?[a-z][a-z0-9_]*$/.test(es.metric)) {
    out.push(
      error('early-stopping-metric', `"${es.metric}" is not a metric name`, {
        path: [...base, 'hyperparameters', 'earlyStopping', 'metric'],
        hint: 'use val_loss, val_mae, val_accuracy, ...',
      }),
    );
  }
  if (data.format === undefined && !/(\.(csv|json|jsonl|ndjson|parquet)|\/)$/i.test(data.uri)) {
    out.push(
      error('data-format', `cannot infer the format of "${data.uri}" from its extension`, {
        path: [...base, 'data', 'uri'],
        hint: 'add `format: csv | json | jsonl | parquet` (parquet also reads a folder of part files)',
      }),
    );
  }
  return out;
}
