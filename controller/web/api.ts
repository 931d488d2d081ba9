/**
 * The dashboard's HTTP API (`/api/v1/...`): one document per view, each a TypeBox schema, which is
 * the TypeScript type on both sides (the browser app in `web/` imports these types), and the check
 * the tests run on every answer. Served by `mlform controller` and `mlform ui` behind the same
 * bearer token as `/api/status` (controller/web/README.md).
 *
 * Every string in a document may come from a manifest or an artifact: the browser renders them as
 * text, never as HTML, and never as a URL other than the ones this API builds itself.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { DiagnosticSchema } from '../engine/change.js';

export const DASHBOARD_API_VERSION = 1;
export const API_PREFIX = '/api/v1';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const NumberMap = Type.Record(Type.String(), Type.Number());
const StringMap = Type.Record(Type.String(), Type.String());

export const KindSchema = Type.Union([
  Type.Literal('TrainingRun'),
  Type.Literal('RegisteredModel'),
  Type.Literal('DeployedEndpoint'),
  Type.Literal('Schedule'),
]);
export const SyncSchema = Type.Union([
  Type.Literal('Synced'),
  Type.Literal('OutOfSync'),
  Type.Literal('Unknown'),
]);
export const HealthSchema = Type.Union([
  Type.Literal('Healthy'),
  Type.Literal('Progressing'),
  Type.Literal('Degraded'),
  Type.Literal('Missing'),
  Type.Literal('Suspended'),
]);
export type ApiKind = Static<typeof KindSchema>;
export type ApiSync = Static<typeof SyncSchema>;
export type ApiHealth = Static<typeof HealthSchema>;

/** Diagnostics as the API carries them; `file` is relative to the project folder. */
export const ApiDiagnosticSchema = DiagnosticSchema;
export type ApiDiagnostic = Static<typeof ApiDiagnosticSchema>;

/** Where a resource's manifest document starts (relative file, 1-based line and column). */
export const SourceSchema = Type.Object({ file: Type.String(), line: Type.Integer(), col: Type.Integer() });

/** What every document starts with. */
const Header = {
  formatVersion: Type.Literal(DASHBOARD_API_VERSION),
  /** When the state behind the document was observed (ISO 8601). */
  observedAt: Type.String(),
  stack: Type.String(),
  provider: Type.Union([Type.Literal('local'), Type.Literal('gcp')]),
  /** Who serves it: the controller, or `mlform ui` reading the state itself. */
  mode: Type.Union([Type.Literal('controller'), Type.Literal('ui')]),
};

// ---- Overview ------------------------------------------------------------------------------

export const OverviewItemSchema = Type.Object({
  kind: KindSchema,
  name: Type.String(),
  /** `Kind/name`. */
  address: Type.String(),
  sync: SyncSchema,
  health: HealthSchema,
  /** The same one-line summary `mlform get` shows. */
  details: Type.String(),
  /** `metadata.labels` of the manifest ({} when it is no longer declared). */
  labels: StringMap,
  /** Null when the resource exists but is not in the manifests (pruned or `--no-prune`). */
  source: Nullable(SourceSchema),
  /**
   * The application the resource belongs to, for the Argo CD-style tree: the RegisteredModel's name
   * for the model, the TrainingRun it registers, the endpoints serving it and the schedules firing
   * that TrainingRun; null for a resource tied to no model.
   */
  group: Nullable(Type.String()),
  /** Edges of the tree, from this resource to another address. */
  links: Type.Array(
    Type.Object({
      relation: Type.Union([
        Type.Literal('trains'), // TrainingRun -> RegisteredModel it registers into
        Type.Literal('serves'), // DeployedEndpoint -> RegisteredModel
        Type.Literal('fires'), // Schedule -> TrainingRun (its template)
        Type.Literal('dependsOn'), // metadata.dependsOn
      ]),
      address: Type.String(),
    }),
  ),
  /** Small child nodes of the card: versions of a model, runs of a TrainingRun, fires of a schedule. */
  children: Type.Array(
    Type.Object({
      /** `v3`, `#12`, ... */
      label: Type.String(),
      /** `prod, staging`, `succeeded val_mae 2.1`, `running 3/10` ... */
      detail: Type.String(),
      health: HealthSchema,
    }),
  ),
  /** The failure that puts the resource in backoff or Degraded, redacted; null when none. */
  lastError: Nullable(Type.String()),
  nextRetryAt: Nullable(Type.String()),
});
export type OverviewItem = Static<typeof OverviewItemSchema>;

const Counts = Type.Record(Type.String(), Type.Integer());

export const OverviewDocSchema = Type.Object({
  ...Header,
  /** Counts over the whole stack (not only this page): by kind, health and sync. */
  counts: Type.Object({ total: Type.Integer(), byKind: Counts, byHealth: Counts, bySync: Counts }),
  /** Resources matching the filter, in order (group, then kind order, then name). */
  items: Type.Array(OverviewItemSchema),
  /** How many resources match the filter in all. */
  matched: Type.Integer(),
  /** Opaque; pass as `cursor` for the next page. Null on the last page. */
  nextCursor: Nullable(Type.String()),
  /** Problems that concern the whole stack: manifests that do not load, state that cannot be read. */
  diagnostics: Type.Array(ApiDiagnosticSchema),
});
export type OverviewDoc = Static<typeof OverviewDocSchema>;

// ---- Pending change (the plan) ---------------------------------------------------------------

export const PlanChangeSchema = Type.Object({
  address: Type.String(),
  resource: Type.String(),
  action: Type.String(),
  /** Terraform's symbol: `+`, `~`, `-/+`, `-`, `<=`, ... as `plan` prints it. */
  symbol: Type.String(),
  reason: Type.String(),
  /** A deferred change's values are known after training. */
  deferred: Type.Boolean(),
  fields: Type.Array(
    Type.Object({
      path: Type.String(),
      /** Rendered as YAML-ish text (credential-looking strings masked); null when absent. */
      before: Nullable(Type.String()),
      after: Nullable(Type.String()),
      drift: Type.Boolean(),
      replace: Type.Boolean(),
    }),
  ),
});
export type PlanChange = Static<typeof PlanChangeSchema>;

export const PlanDocSchema = Type.Object({
  ...Header,
  /** False when there is no plan (the manifests did not load). */
  available: Type.Boolean(),
  hasChanges: Type.Boolean(),
  summary: Counts,
  /** Actionable changes first (not noop or wait), in dependency order; then waits. */
  changes: Type.Array(PlanChangeSchema),
  diagnostics: Type.Array(ApiDiagnosticSchema),
});
export type PlanDoc = Static<typeof PlanDocSchema>;

// ---- Training run --------------------------------------------------------------------------

export const RunSummarySchema = Type.Object({
  number: Type.Integer(),
  state: Type.String(),
  attempt: Type.Integer(),
  schedule: Nullable(Type.String()),
  createdAt: Type.String(),
  finishedAt: Nullable(Type.String()),
  specHash: Type.String(),
  /** The key metric of the run when succeeded (`val_mae 2.31`), else its state detail. */
  detail: Type.String(),
});
export type RunSummary = Static<typeof RunSummarySchema>;

/** One curve: a value per epoch (null where the epoch did not report it). */
export const SeriesSchema = Type.Object({
  /** `loss`, `val_loss`, `mae`, `val_mae`, ... as the trainer reported it. */
  name: Type.String(),
  split: Type.Union([Type.Literal('train'), Type.Literal('validation')]),
  values: Type.Array(Nullable(Type.Number())),
});

export const TrialSchema = Type.Object({
  trial: Type.Integer(),
  params: Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Boolean()])),
  state: Type.String(),
  metric: Nullable(Type.Number()),
  /** Pruned trials are shown, marked. */
  pruned: Type.Boolean(),
  best: Type.Boolean(),
});

export const RunDetailSchema = Type.Object({
  ...RunSummarySchema.properties,
  progress: Nullable(
    Type.Object({
      epoch: Type.Integer(),
      epochs: Type.Integer(),
      etaSeconds: Nullable(Type.Number()),
      trial: Nullable(Type.Object({ done: Type.Integer(), of: Type.Integer() })),
    }),
  ),
  metrics: NumberMap,
  baseline: NumberMap,
  error: Nullable(Type.String()),
  dataSha256: Nullable(Type.String()),
  gitCommit: Nullable(Type.String()),
  /** Where the artifact is (local path or gs:// URI) and the TensorBoard log directory in it. */
  artifactUri: Nullable(Type.String()),
  tensorboardDir: Nullable(Type.String()),
  /** Per-epoch curves: `epochs[i]` is the epoch number of `values[i]` of every series. */
  curves: Type.Object({ epochs: Type.Array(Type.Integer()), series: Type.Array(SeriesSchema) }),
  /** The naive baseline as reference lines: metric name -> value (same names as the series). */
  baselineLines: NumberMap,
  /**
   * The curves' units when they are not the metrics' own: the builtin trainer reports its epochs
   * on the standardized target (as TensorBoard shows them), and the baseline lines follow.
   */
  curvesNote: Type.Optional(Nullable(Type.String())),
  /** Model health from metrics.json once the run succeeded; null before or for other trainers. */
  health: Nullable(
    Type.Object({
      score: Type.Number(),
      deadFractionMax: Nullable(Type.Number()),
      gradNormLast: Nullable(Type.Number()),
      gradNormMax: Nullable(Type.Number()),
      exploding: Type.Boolean(),
      vanishing: Type.Boolean(),
      lossCv: Nullable(Type.Number()),
      gap: Nullable(Type.Number()),
      overfitting: Type.Boolean(),
      /** Per layer: dead-unit share and last gradient norm. */
      layers: Type.Array(
        Type.Object({
          name: Type.String(),
          deadFraction: Nullable(Type.Number()),
          gradNorm: Nullable(Type.Number()),
        }),
      ),
    }),
  ),
  /** The last lines of the run's log (at most 200), oldest first, control characters removed. */
  logTail: Type.Array(Type.String()),
  /** Tuning: the trials, the objective and its goal; null for an untuned run. */
  tuning: Nullable(
    Type.Object({
      metric: Type.String(),
      goal: Type.Union([Type.Literal('minimize'), Type.Literal('maximize')]),
      trials: Type.Array(TrialSchema),
    }),
  ),
});
export type RunDetail = Static<typeof RunDetailSchema>;

export const TrainingRunDocSchema = Type.Object({
  ...Header,
  resource: OverviewItemSchema,
  /** The normalised spec as YAML text (from the manifests, else the last applied one). */
  specYaml: Nullable(Type.String()),
  /** The newest runs first, at most `limit` (20 by default). */
  runs: Type.Array(RunSummarySchema),
  runsTotal: Type.Integer(),
  /** The run shown: `?run=N`, else the newest one; null when there is none. */
  run: Nullable(RunDetailSchema),
});
export type TrainingRunDoc = Static<typeof TrainingRunDocSchema>;

// ---- Registered model ----------------------------------------------------------------------

export const VersionSchema = Type.Object({
  version: Type.Integer(),
  aliases: Type.Array(Type.String()),
  run: Type.Object({ name: Type.String(), number: Type.Integer() }),
  metrics: NumberMap,
  baseline: NumberMap,
  /** The model's gate checked against this version's metrics: passed, and why not. */
  gate: Nullable(Type.Object({ passed: Type.Boolean(), detail: Type.String() })),
  dataSha256: Nullable(Type.String()),
  gitCommit: Nullable(Type.String()),
  specHash: Type.String(),
  artifactUri: Type.String(),
  createdAt: Type.String(),
  /** Endpoints sending traffic to it: `name 90%`. */
  servedBy: Type.Array(Type.Object({ endpoint: Type.String(), percent: Type.Number() })),
});

export const RegisteredModelDocSchema = Type.Object({
  ...Header,
  resource: OverviewItemSchema,
  specYaml: Nullable(Type.String()),
  /** The metric the chart shows: the gate's metric, else the first of val_mae, val_accuracy, ... */
  keyMetric: Nullable(Type.String()),
  /** Newest first, at most `limit` (50 by default). */
  versions: Type.Array(VersionSchema),
  versionsTotal: Type.Integer(),
  /** Alias moves, newest first (empty where the registry keeps no history: say so in `aliasHistoryNote`). */
  aliasHistory: Type.Array(
    Type.Object({
      alias: Type.String(),
      version: Type.Integer(),
      previous: Nullable(Type.Integer()),
      at: Type.String(),
    }),
  ),
  aliasHistoryNote: Nullable(Type.String()),
  /** The latest run the gate refused, when the plan says one was refused. */
  rejected: Nullable(Type.Object({ run: Type.String(), reason: Type.String() })),
});
export type RegisteredModelDoc = Static<typeof RegisteredModelDocSchema>;

// ---- Endpoint ------------------------------------------------------------------------------

export const EndpointDocSchema = Type.Object({
  ...Header,
  resource: OverviewItemSchema,
  specYaml: Nullable(Type.String()),
  url: Nullable(Type.String()),
  model: Type.String(),
  /** Live split, as the endpoint reports it. */
  traffic: Type.Array(
    Type.Object({ version: Type.Integer(), percent: Type.Number(), aliases: Type.Array(Type.String()) }),
  ),
  ready: Type.Boolean(),
  healthDetail: Nullable(Type.String()),
  /**
   * From the model server's `/metrics` (local provider), rates over the time between the last two
   * scrapes; null with `servingNote` saying why when not available (gcp: Cloud Monitoring not read).
   */
  serving: Nullable(
    Type.Object({
      requestsTotal: Type.Number(),
      errorsTotal: Type.Number(),
      /** Requests per second; null until two scrapes exist. */
      requestRate: Nullable(Type.Number()),
      latencyMs: Type.Object({
        p50: Nullable(Type.Number()),
        p95: Nullable(Type.Number()),
        p99: Nullable(Type.Number()),
      }),
      byVersion: Type.Array(
        Type.Object({ version: Type.String(), requests: Type.Number(), ready: Type.Boolean() }),
      ),
    }),
  ),
  servingNote: Nullable(Type.String()),
  /** An editable sample request; `canSend`: POST /api/v1/deployedendpoints/:name/predict forwards it. */
  sample: Nullable(Type.Object({ path: Type.String(), body: Type.String() })),
  canSend: Type.Boolean(),
  sendNote: Nullable(Type.String()),
});
export type EndpointDoc = Static<typeof EndpointDocSchema>;

/** The answer of the predict proxy: the endpoint's status and body, as text (bounded). */
export const PredictResultSchema = Type.Object({
  status: Type.Integer(),
  body: Type.String(),
  durationMs: Type.Number(),
});
export type PredictResult = Static<typeof PredictResultSchema>;

// ---- Schedules -----------------------------------------------------------------------------

export const ScheduleItemSchema = Type.Object({
  resource: OverviewItemSchema,
  cron: Nullable(Type.String()),
  /** `at` for a one-off schedule. */
  at: Nullable(Type.String()),
  timeZone: Type.String(),
  suspended: Type.Boolean(),
  concurrencyPolicy: Type.String(),
  template: Type.String(),
  /** Fire times in the window, ISO 8601 UTC, and the same instants as local time in `timeZone`. */
  nextFires: Type.Array(Type.Object({ at: Type.String(), local: Type.String() })),
  lastFireTime: Nullable(Type.String()),
  /** Runs the schedule started, newest first (at most 10). */
  runs: Type.Array(RunSummarySchema),
});
export type ScheduleItem = Static<typeof ScheduleItemSchema>;

export const SchedulesDocSchema = Type.Object({
  ...Header,
  /** The window the fire times cover: `from` (default now) for `days` (default 7, at most 31). */
  window: Type.Object({ from: Type.String(), to: Type.String() }),
  items: Type.Array(ScheduleItemSchema),
  matched: Type.Integer(),
  nextCursor: Nullable(Type.String()),
});
export type SchedulesDoc = Static<typeof SchedulesDocSchema>;

// ---- Controller ----------------------------------------------------------------------------

export const ControllerDocSchema = Type.Object({
  ...Header,
  /** Controller mode: the replica's view; `mlform ui`: null. */
  controller: Nullable(
    Type.Object({
      version: Type.String(),
      identity: Type.String(),
      leader: Type.Boolean(),
      ready: Type.Boolean(),
      source: Type.String(),
      commit: Nullable(Type.String()),
      appliedCommit: Nullable(Type.String()),
      lastSync: Nullable(
        Type.Object({ startedAt: Type.String(), finishedAt: Type.String(), result: Type.String() }),
      ),
      lastError: Nullable(Type.String()),
      badCommit: Nullable(Type.String()),
    }),
  ),
  /** `mlform ui`: when the state was last read and how often it is. */
  refresh: Nullable(Type.Object({ lastAt: Type.String(), everySeconds: Type.Number() })),
  /**
   * Every error to act on, each with its manifest position when it has one: manifests that do not
   * load (the bad commit's), plan errors, failed runs and resources in retry backoff.
   */
  errors: Type.Array(
    Type.Object({
      address: Nullable(Type.String()),
      message: Type.String(),
      hint: Nullable(Type.String()),
      source: Nullable(SourceSchema),
    }),
  ),
  backoff: Type.Array(
    Type.Object({
      address: Type.String(),
      failures: Type.Integer(),
      lastError: Type.String(),
      nextRetryAt: Type.String(),
    }),
  ),
});
export type ControllerDoc = Static<typeof ControllerDocSchema>;

/** 4xx/5xx bodies: what is wrong, the query field at fault when there is one, and a fix. */
export const ApiErrorSchema = Type.Object({
  error: Type.String(),
  field: Type.Optional(Type.String()),
  hint: Type.Optional(Type.String()),
});
export type ApiError = Static<typeof ApiErrorSchema>;

// ---- Routes --------------------------------------------------------------------------------

export const OVERVIEW_FILTERS = ['kind', 'health', 'sync', 'label', 'q'] as const;

/** A parsed API request: what to build. */
export type ApiRoute =
  | {
      view: 'overview';
      filter: {
        kind?: ApiKind;
        health?: ApiHealth;
        sync?: ApiSync;
        label?: { key: string; value?: string };
        q?: string;
      };
      limit: number;
      offset: number;
    }
  | { view: 'plan' }
  | { view: 'trainingrun'; name: string; run?: number; limit: number }
  | { view: 'registeredmodel'; name: string; limit: number }
  | { view: 'deployedendpoint'; name: string }
  | { view: 'schedules'; name?: string; from?: Date; days: number; limit: number; offset: number }
  | { view: 'controller' };
export type ApiView = ApiRoute['view'];

export type ApiDocument =
  OverviewDoc | PlanDoc | TrainingRunDoc | RegisteredModelDoc | EndpointDoc | SchedulesDoc | ControllerDoc;

/** The schema of each view's document (tests validate every answer against it). */
export const DOCUMENT_SCHEMAS = {
  overview: OverviewDocSchema,
  plan: PlanDocSchema,
  trainingrun: TrainingRunDocSchema,
  registeredmodel: RegisteredModelDocSchema,
  deployedendpoint: EndpointDocSchema,
  schedules: SchedulesDocSchema,
  controller: ControllerDocSchema,
} as const satisfies Record<ApiView, TSchema>;

/**
 * Live updates (Server-Sent Events): `GET /api/v1/stream?path=<an API path with its query>`, e.g.
 * `?path=%2Fapi%2Fv1%2Ftrainingruns%2Fmpg-mlp%3Frun%3D2`. The first event is the document at once;
 * then one event each time the state behind it changes and the document differs. Events:
 * `event: doc` (data: the document JSON), `event: problem` (data: an ApiError; the stream stays
 * open), comments `: ping` every 15 s. The browser reads it with fetch (so the bearer token travels
 * in the Authorization header, as on every other route), not EventSource.
 */
export const STREAM_PATH = `${API_PREFIX}/stream`;
export const STREAM_EVENTS = { doc: 'doc', problem: 'problem' } as const;

/** The front end's pages (history API URLs, all served index.html): stable and shareable. */
export const UI_PAGES = {
  overview: '/',
  plan: '/plan',
  trainingrun: '/trainingruns/:name',
  registeredmodel: '/registeredmodels/:name',
  deployedendpoint: '/deployedendpoints/:name',
  schedules: '/schedules',
  controller: '/controller',
} as const;
