/**
 * The JSON records of the state directory (README.md "Layout"). They are read back on every plan,
 * so each has a TypeBox schema and is validated on read: a hand-edited or truncated record becomes
 * a diagnostic naming the file, never a crash. Specs are validated with the kinds' own schemas.
 */
import { Type, type Static } from '@sinclair/typebox';
import { DeployedEndpointSpecSchema } from '../../resources/deployed-endpoint.js';
import { RegisteredModelSpecSchema } from '../../resources/registered-model.js';
import { ScheduleSpecSchema } from '../../resources/schedule.js';
import { TrainingRunSpecSchema } from '../../resources/training-run.js';

const StringMap = Type.Record(Type.String(), Type.String());
const NumberMap = Type.Record(Type.String(), Type.Number());
const Name = Type.String({ minLength: 1 });
const Count = Type.Integer({ minimum: 1 });

/** What every record carries: the applied spec hash, the manifest's annotations, ownership labels. */
const Applied = {
  specHash: Type.String({ minLength: 1 }),
  labels: StringMap,
  annotations: StringMap,
};

/**
 * Proof that a recorded pid is the process the provider started (processes.ts): the launch id
 * passed as `--launch-id` (written before the spawn, so a crash after it leaves a findable
 * process), then the start time and boot id read right after the spawn.
 */
export const LaunchSchema = Type.Object({
  id: Type.String({ minLength: 16 }),
  startTime: Type.Optional(Type.String({ minLength: 1 })),
  bootId: Type.Optional(Type.String({ minLength: 1 })),
});

// ---- runs/<name>/<number>/run.json ---------------------------------------------------------

/** A terminal state seen once and cached, so listing finished runs reads one file each. */
export const RunOutcomeSchema = Type.Object({
  state: Type.Union([Type.Literal('succeeded'), Type.Literal('failed'), Type.Literal('cancelled')]),
  finishedAt: Type.Optional(Type.String()),
  metrics: Type.Optional(NumberMap),
  baseline: Type.Optional(NumberMap),
  dataSha256: Type.Optional(Type.String()),
  gitCommit: Type.Optional(Type.String()),
  error: Type.Optional(Type.String()),
});
export type RunOutcome = Static<typeof RunOutcomeSchema>;

export const RunRecordSchema = Type.Object({
  formatVersion: Type.Literal(1),
  name: Name,
  number: Count,
  ...Applied,
  attempt: Count,
  schedule: Type.Optional(Name),
  createdAt: Type.String(),
  /** The manifest the run came from (data URIs in `spec` are already absolute). */
  manifestPath: Type.String(),
  /**
   * The spec the trainer is launched with (relative file:// URIs made absolute). Not validated
   * here: listing never needs it, the full TrainingRun schema costs ~100 ms to compile, and the
   * trainer validates it when a launch is repeated.
   */
  spec: Type.Unknown(),
  /**
   * The spec as the manifest gave it (data URIs as written), for the field diff of a later plan.
   * Absent in records written before it was kept: such a run gives no diff. Not validated, as above.
   */
  manifestSpec: Type.Optional(Type.Unknown()),
  /** Argument in the process's command line that identifies this run's process (the artifact dir). */
  marker: Type.String({ minLength: 1 }),
  /** Absent between writing the record and spawning: a launch that may have been interrupted. */
  pid: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Absent in records written before process stamps: such a pid is never signalled. */
  launch: Type.Optional(LaunchSchema),
  startedAt: Type.Optional(Type.String()),
  /**
   * Training slots the run holds once started (training-slots.ts): 1, or its trial workers. Absent
   * until started, and in records written before slots.
   */
  slots: Type.Optional(Count),
  /** Folders the training may read data from, fixed at create time (a queued run starts later). */
  dataRoots: Type.Optional(Type.Array(Type.String())),
  /** Commit of the manifest's git tree at create time (the trainer cannot see it from --spec-file). */
  gitCommit: Type.Optional(Type.String()),
  outcome: Type.Optional(RunOutcomeSchema),
});
export type RunRecord = Static<typeof RunRecordSchema>;

/**
 * The parts of run.json the provider reads (its presence means complete). `data` is the builtin
 * trainer's; your own trainer's run.json (written by mlform) has none. metrics.json is read with
 * the contract's ContractMetricsSchema (artifact/contract.ts).
 */
export const ArtifactRunSchema = Type.Object({
  specHash: Type.String(),
  data: Type.Optional(Type.Object({ sha256: Type.String() })),
  gitCommit: Type.Optional(Type.String()),
  finishedAt: Type.String(),
});

// ---- registry/<model>/ ---------------------------------------------------------------------

export const ModelRecordSchema = Type.Object({
  formatVersion: Type.Literal(1),
  name: Name,
  ...Applied,
  spec: RegisteredModelSpecSchema,
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type ModelRecord = Static<typeof ModelRecordSchema>;

/** versions/<N>/version.json: lineage, written last (its presence means the copy is complete). */
export const VersionRecordSchema = Type.Object({
  formatVersion: Type.Literal(1),
  model: Name,
  version: Count,
  run: Type.Object({ name: Name, number: Count }),
  /** The run's spec hash. */
  specHash: Type.String({ minLength: 1 }),
  labels: StringMap,
  metrics: NumberMap,
  baseline: NumberMap,
  dataSha256: Type.Optional(Type.String()),
  gitCommit: Type.Optional(Type.String()),
  createdAt: Type.String(),
});
export type VersionRecord = Static<typeof VersionRecordSchema>;

/** The newest alias moves kept in aliases.json (older ones are dropped). */
export const ALIAS_HISTORY_LIMIT = 100;

export const AliasMoveSchema = Type.Object({
  alias: Type.String(),
  version: Count,
  /** The version it pointed at before; null when the alias is new. */
  previous: Type.Union([Count, Type.Null()]),
  at: Type.String(),
});
export type AliasMove = Static<typeof AliasMoveSchema>;

export const AliasesRecordSchema = Type.Object({
  formatVersion: Type.Literal(1),
  aliases: Type.Record(Type.String(), Count),
  /** Moves, oldest first, at most ALIAS_HISTORY_LIMIT; absent in files written before it was kept. */
  history: Type.Optional(Type.Array(AliasMoveSchema)),
});

// ---- endpoints/<name>/ ---------------------------------------------------------------------

export const EndpointRecordSchema = Type.Object({
  formatVersion: Type.Literal(1),
  name: Name,
  ...Applied,
  spec: DeployedEndpointSpecSchema,
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  url: Type.String(),
  /** Absent between writing the record and spawning. */
  pid: Type.Optional(Type.Integer({ minimum: 1 })),
  /** Absent in records written before process stamps: such a pid is never signalled. */
  launch: Type.Optional(LaunchSchema),
  /** sha256 of config.json as written: "config unchanged" compares this. */
  configSha256: Type.String(),
  startedAt: Type.Optional(Type.String()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type EndpointRecord = Static<typeof EndpointRecordSchema>;

/**
 * config.json, the serving config the process runs (serving/README.md). Read back for the
 * live traffic and settings; open to fields someone added by hand.
 */
export const EndpointConfigSchema = Type.Object({
  name: Type.String(),
  versions: Type.Array(
    Type.Object({
      version: Count,
      uri: Type.String(),
      percent: Type.Number({ minimum: 0, maximum: 100 }),
      /** A `container.command` endpoint: the version's own server, in front of which mlform serves. */
      upstream: Type.Optional(
        Type.Object({ url: Type.String(), healthPath: Type.String(), predictPath: Type.String() }),
      ),
    }),
  ),
  batching: Type.Object({
    enabled: Type.Boolean(),
    maxBatchSize: Type.Integer(),
    batchTimeoutMicros: Type.Integer(),
  }),
  limits: Type.Object({ requestTimeoutSeconds: Type.Integer() }),
  /** `spec.monitoring` (providers/serving-monitoring.ts): logs and summaries under the state's monitoring/<name>. */
  monitoring: Type.Optional(
    Type.Object({
      root: Type.String(),
      endpoint: Type.String(),
      sampleRate: Type.Number(),
      windowSeconds: Type.Integer(),
      retentionSeconds: Type.Integer(),
    }),
  ),
});
export type EndpointConfig = Static<typeof EndpointConfigSchema> & {
  logging?: { level: string; requests: boolean };
  drainTimeoutSeconds?: number;
};

// ---- schedules/<name>/schedule.json --------------------------------------------------------

export const ScheduleRecordSchema = Type.Object({
  formatVersion: Type.Literal(1),
  name: Name,
  ...Applied,
  spec: ScheduleSpecSchema,
  /** The template TrainingRun, resolved at put time so triggers need no manifests. */
  template: Type.Object({
    name: Name,
    /** Validated with TemplateSpecSchema when fired, not on every listing (see RunRecordSchema.spec). */
    spec: Type.Unknown(),
    specHash: Type.String({ minLength: 1 }),
    manifestPath: Type.String(),
  }),
  lastFireTime: Type.Optional(Type.String()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
export type ScheduleRecord = Static<typeof ScheduleRecordSchema>;

/** The template's spec, checked when a schedule fires. */
export const TemplateSpecSchema = TrainingRunSpecSchema;

// ---- lock.json -----------------------------------------------------------------------------

export const LeaseRecordSchema = Type.Object({
  formatVersion: Type.Literal(1),
  holder: Type.String(),
  pid: Type.Integer(),
  hostname: Type.String(),
  /** Random per acquisition: "still ours" compares this, not the pid (one process, two leases). */
  token: Type.String({ minLength: 1 }),
  acquiredAt: Type.String(),
  expiresAt: Type.String(),
});
export type LeaseRecord = Static<typeof LeaseRecordSchema>;
