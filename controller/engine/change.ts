/**
 * The plan as data (Terraform's `plans.Change`): one `Change` per thing apply would do, a
 * discriminated union on `action` (and on `kind` where an action applies to several kinds), so the
 * type checker enforces what each action carries — `before: null` for creates, `after: null` for
 * deletes. Every change holds what apply needs to execute it without deciding anything again;
 * `reason` is display only. The TypeBox schemas are the single source of the types and of the
 * validation of saved plan files.
 */
import { Type, type Static, type TLiteral, type TProperties, type TSchema } from '@sinclair/typebox';
import { DeployedEndpointSpecSchema } from '../../resources/deployed-endpoint.js';
import type { Diagnostic } from '../../resources/diagnostic.js';
import type { Kind } from '../../resources/kinds.js';
import { RegisteredModelSpecSchema } from '../../resources/registered-model.js';
import { ScheduleSpecSchema } from '../../resources/schedule.js';
import { Strict } from '../../resources/schema-helpers.js';
import { TrainingRunSpecSchema } from '../../resources/training-run.js';
import { PlanCostSchema } from './cost-schema.js';

export const PLAN_FORMAT_VERSION = 1;

export const ACTIONS = [
  'create',
  'update',
  'replace',
  'delete',
  'cancel',
  'register',
  'promote',
  'adopt',
  'wait',
  'fire',
  'noop',
] as const;
export type Action = (typeof ACTIONS)[number];

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const StringMap = Type.Record(Type.String(), Type.String());
const Metrics = Type.Record(Type.String(), Type.Number());

export const RunRefSchema = Type.Object(
  { name: Type.String(), number: Type.Integer({ minimum: 1 }) },
  { ...Strict, description: 'One launch of a TrainingRun: `<name>#<number>`.' },
);
export type RunRefValue = Static<typeof RunRefSchema>;

export const FieldChangeSchema = Type.Object(
  {
    /** `spec.gate.max`, `scaling.minInstances`, `traffic`, `healthy`, `metadata.annotations.x` */
    path: Type.String(),
    /** The actual value (live where the provider reports one); null when absent. */
    before: Type.Unknown(),
    /** The desired value; null when absent. Traffic entries with `version: null` are known after training. */
    after: Type.Unknown(),
    /** The actual value differs from what was last applied: someone changed it outside mlform. */
    drift: Type.Optional(Type.Boolean()),
    /** Changing this field is what makes the change a `-/+` replace (`# forces replacement`). */
    replace: Type.Optional(Type.Boolean()),
  },
  Strict,
);
export type FieldChange = Static<typeof FieldChangeSchema>;

/** A queued or running run, as the plan saw it. */
const ActiveRunSchema = Type.Object(
  {
    name: Type.String(),
    number: Type.Integer({ minimum: 1 }),
    specHash: Type.String(),
    attempt: Type.Integer({ minimum: 1 }),
    state: Type.Union([Type.Literal('queued'), Type.Literal('running')]),
    schedule: Nullable(Type.String()),
  },
  Strict,
);
export type ActiveRun = Static<typeof ActiveRunSchema>;

const ProgressSchema = Type.Object(
  {
    epoch: Type.Number(),
    epochs: Type.Number(),
    loss: Type.Optional(Type.Number()),
    metrics: Type.Optional(Metrics),
    etaSeconds: Type.Optional(Type.Number()),
    trial: Type.Optional(Type.Object({ done: Type.Number(), of: Type.Number() })),
  },
  { description: 'Progress when the plan was made (display only; not part of the fingerprint).' },
);

/** Everything `trainingRuns.create` needs (the provider adds ownership labels from the stack). */
const RunLaunchSchema = Type.Object(
  {
    name: Type.String(),
    /** Max observed run number of this name + 1: a repeated create after a crash is recognised. */
    number: Type.Integer({ minimum: 1 }),
    attempt: Type.Integer({ minimum: 1 }),
    specHash: Type.String(),
    spec: TrainingRunSpecSchema,
    /** Absolute path of the manifest file: relative `file://` data URIs resolve against its folder. */
    manifestPath: Type.String(),
    model: Nullable(Type.String()),
    labels: StringMap,
    annotations: StringMap,
  },
  Strict,
);
export type RunLaunch = Static<typeof RunLaunchSchema>;

const ModelObjectSchema = Type.Object(
  {
    name: Type.String(),
    specHash: Type.String(),
    spec: RegisteredModelSpecSchema,
    labels: StringMap,
    annotations: StringMap,
  },
  Strict,
);
const ModelBeforeSchema = Type.Object(
  { specHash: Type.String(), spec: RegisteredModelSpecSchema, annotations: StringMap },
  Strict,
);

export const TrafficEntrySchema = Type.Object(
  {
    /** As written: a version number, an alias, or `latest`. */
    selector: Type.Union([Type.Integer(), Type.String()]),
    percent: Type.Integer({ minimum: 0, maximum: 100 }),
    /** null: known after training (a registration or alias move it depends on is deferred). */
    version: Nullable(Type.Integer({ minimum: 1 })),
    /** The version's artifact, when the version is known. */
    artifactUri: Nullable(Type.String()),
  },
  Strict,
);
export type TrafficEntry = Static<typeof TrafficEntrySchema>;

const EndpointObjectSchema = Type.Object(
  {
    name: Type.String(),
    model: Type.String(),
    specHash: Type.String(),
    spec: DeployedEndpointSpecSchema,
    /** One entry per `spec.traffic` entry, resolved to version numbers. */
    traffic: Type.Array(TrafficEntrySchema),
    /** Some entry resolves only after training: apply resolves it once its dependencies are done. */
    trafficDeferred: Type.Boolean(),
    labels: StringMap,
    annotations: StringMap,
  },
  Strict,
);
const EndpointBeforeSchema = Type.Object(
  {
    specHash: Type.String(),
    spec: DeployedEndpointSpecSchema,
    /** Live traffic, labelled with the selectors of the applied spec where they line up. */
    traffic: Type.Array(TrafficEntrySchema),
    healthy: Type.Boolean(),
    healthDetail: Nullable(Type.String()),
  },
  Strict,
);

const ScheduleObjectSchema = Type.Object(
  {
    name: Type.String(),
    /** Hash of the schedule's spec and its template's spec: a template change updates the schedule. */
    specHash: Type.String(),
    spec: ScheduleSpecSchema,
    template: Type.Object(
      {
        name: Type.String(),
        specHash: Type.String(),
        spec: TrainingRunSpecSchema,
        manifestPath: Type.String(),
      },
      Strict,
    ),
    /** ISO time of the next firing when the plan was made; null when suspended. */
    nextFireTime: Nullable(Type.String()),
    labels: StringMap,
    annotations: StringMap,
  },
  Strict,
);
const ScheduleBeforeSchema = Type.Object(
  { specHash: Type.String(), spec: ScheduleSpecSchema, paused: Type.Boolean() },
  Strict,
);

/** An alias rule as the model spec writes it (`{policy, metric?, goal?}` or `{version}`). */
const AliasRuleSchema = Type.Object(
  {
    policy: Type.Optional(Type.Union([Type.Literal('best'), Type.Literal('latest')])),
    metric: Type.Optional(Type.String()),
    goal: Type.Optional(Type.Union([Type.Literal('minimize'), Type.Literal('maximize')])),
    version: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  Strict,
);
export type AliasRule = Static<typeof AliasRuleSchema>;

// ---- Changes --------------------------------------------------------------------------------

const common = {
  /** Unique in the plan: `Kind/name`, or below it (`RegisteredModel/mpg/aliases/champion`). */
  address: Type.String(),
  /** `Kind/name` of the resource the change belongs to (failures are isolated per resource). */
  resource: Type.String(),
  /** One line for people. Never parsed. */
  reason: Type.String(),
  /** Field-level differences (updates; replaces show what changed). */
  fields: Type.Array(FieldChangeSchema),
  /** Addresses of changes that must be done first (only non-noop changes of this plan). */
  dependsOn: Type.Array(Type.String()),
  /** The change corrects drift (actual state changed outside mlform). */
  drift: Type.Optional(Type.Boolean()),
};

function variant<A extends Action, K extends Kind, P extends TProperties>(action: A, kind: K, properties: P) {
  const head: { action: TLiteral<A>; kind: TLiteral<K> } = {
    action: Type.Literal(action),
    kind: Type.Literal(kind),
  };
  return Type.Object({ ...head, ...common, ...properties }, Strict);
}

const none = Type.Null();

export const CreateRunSchema = variant('create', 'TrainingRun', { before: none, after: RunLaunchSchema });
export const CreateModelSchema = variant('create', 'RegisteredModel', {
  before: none,
  after: ModelObjectSchema,
});
export const CreateEndpointSchema = variant('create', 'DeployedEndpoint', {
  before: none,
  after: EndpointObjectSchema,
});
export const CreateScheduleSchema = variant('create', 'Schedule', {
  before: none,
  after: ScheduleObjectSchema,
});

export const UpdateModelSchema = variant('update', 'RegisteredModel', {
  before: ModelBeforeSchema,
  after: ModelObjectSchema,
});
export const UpdateEndpointSchema = variant('update', 'DeployedEndpoint', {
  before: EndpointBeforeSchema,
  after: EndpointObjectSchema,
});
export const UpdateScheduleSchema = variant('update', 'Schedule', {
  before: ScheduleBeforeSchema,
  after: ScheduleObjectSchema,
});

/** Only runs are replaced: every other kind updates in place. */
export const ReplaceRunSchema = variant('replace', 'TrainingRun', {
  /** Active runs of an older spec of this name, cancelled before the new run starts. */
  before: Type.Object({ cancel: Type.Array(ActiveRunSchema) }, Strict),
  after: RunLaunchSchema,
});

export const DeleteModelSchema = variant('delete', 'RegisteredModel', {
  target: Type.Literal('model'),
  before: Type.Object(
    { name: Type.String(), specHash: Type.String(), versions: Type.Array(Type.Integer()) },
    Strict,
  ),
  after: none,
});
/** Retention: one version of a model that stays. */
export const DeleteVersionSchema = variant('delete', 'RegisteredModel', {
  target: Type.Literal('version'),
  before: Type.Object({ model: Type.String(), version: Type.Integer(), run: RunRefSchema }, Strict),
  after: none,
});
export const DeleteEndpointSchema = variant('delete', 'DeployedEndpoint', {
  before: Type.Object({ name: Type.String(), specHash: Type.String(), model: Type.String() }, Strict),
  after: none,
});
export const DeleteScheduleSchema = variant('delete', 'Schedule', {
  before: Type.Object({ name: Type.String(), specHash: Type.String() }, Strict),
  after: none,
});

/** A queued or running run that is no longer wanted. Finished runs are history and never deleted. */
export const CancelRunSchema = variant('cancel', 'TrainingRun', { before: ActiveRunSchema, after: none });

export const RegisterSchema = variant('register', 'RegisteredModel', {
  before: none,
  after: Type.Union([
    Type.Object(
      {
        model: Type.String(),
        run: RunRefSchema,
        deferred: Type.Literal(false),
        /** Predicted (max + 1 in plan order); the registry's answer is authoritative. */
        version: Type.Integer({ minimum: 1 }),
        specHash: Type.String(),
        artifactUri: Type.String(),
        metrics: Metrics,
        baseline: Metrics,
        /** How the run passed the gate, for display. */
        gate: Type.String(),
      },
      Strict,
    ),
    Type.Object(
      {
        model: Type.String(),
        run: RunRefSchema,
        /** Known after training: apply checks the gate with `evaluateGate` once the run succeeded. */
        deferred: Type.Literal(true),
        version: none,
      },
      Strict,
    ),
  ]),
});

export const PromoteSchema = variant('promote', 'RegisteredModel', {
  before: Type.Object(
    { model: Type.String(), alias: Type.String(), version: Nullable(Type.Integer()) },
    Strict,
  ),
  after: Type.Union([
    Type.Object(
      {
        model: Type.String(),
        alias: Type.String(),
        rule: AliasRuleSchema,
        deferred: Type.Literal(false),
        version: Type.Integer({ minimum: 1 }),
      },
      Strict,
    ),
    Type.Object(
      {
        model: Type.String(),
        alias: Type.String(),
        rule: AliasRuleSchema,
        /** Known after training: apply computes the target with `aliasTarget` when registrations are done. */
        deferred: Type.Literal(true),
        version: none,
      },
      Strict,
    ),
  ]),
});

/** Nothing to do now, but something is in progress: a training, or versions an endpoint needs. */
export const WaitRunSchema = variant('wait', 'TrainingRun', {
  before: none,
  after: none,
  run: ActiveRunSchema,
  progress: Nullable(ProgressSchema),
});
export const WaitEndpointSchema = variant('wait', 'DeployedEndpoint', {
  before: none,
  after: none,
  model: Type.String(),
  /** Traffic selectors that resolve to no version yet. */
  unresolved: Type.Array(Type.Union([Type.Integer(), Type.String()])),
});

/**
 * A Schedule fired now by one of its `triggers`: the condition holds in the endpoint's observed
 * monitoring, the cooldown has passed and `concurrencyPolicy` allows it (plan-triggers.ts). Apply
 * calls `schedules.trigger` with the signal, which the run records.
 */
export const FireScheduleSchema = variant('fire', 'Schedule', {
  before: none,
  after: Type.Object(
    {
      name: Type.String(),
      /** Index in `spec.triggers` of the trigger whose condition holds (the first one). */
      trigger: Type.Integer({ minimum: 0 }),
      endpoint: Type.String(),
      /** `drift on DeployedEndpoint/mpg: Horsepower psi 0.41 > 0.2 (window ...)`, recorded on the run. */
      signal: Type.String(),
      /** Active runs of the schedule the provider cancels first (`concurrencyPolicy: Replace`). */
      replaces: Type.Array(ActiveRunSchema),
    },
    Strict,
  ),
});

/**
 * `import:`: an existing cloud object becomes the stack's (`<= adopt`). Apply labels it with the
 * ownership labels and the manifest's spec hash and changes nothing else; what differs from the
 * manifest is planned beside it (after it) as the usual update or alias move.
 */
export const AdoptSchema = Type.Object(
  {
    action: Type.Literal('adopt'),
    kind: Type.Union([
      Type.Literal('RegisteredModel'),
      Type.Literal('DeployedEndpoint'),
      Type.Literal('Schedule'),
    ]),
    ...common,
    /** The object as the unmanaged listing showed it. */
    before: Type.Object({ id: Type.String() }, Strict),
    after: Type.Object(
      {
        name: Type.String(),
        id: Type.String(),
        specHash: Type.String(),
        spec: Type.Union([RegisteredModelSpecSchema, DeployedEndpointSpecSchema, ScheduleSpecSchema]),
        labels: StringMap,
        annotations: StringMap,
        /** Endpoints: revision -> the model version it serves (matched by artifact). */
        revisions: Type.Optional(Type.Record(Type.String(), Type.Integer({ minimum: 1 }))),
      },
      Strict,
    ),
  },
  Strict,
);
export type AdoptChange = Static<typeof AdoptSchema>;

export const NoopSchema = Type.Object(
  {
    action: Type.Literal('noop'),
    kind: Type.Union([
      Type.Literal('TrainingRun'),
      Type.Literal('RegisteredModel'),
      Type.Literal('DeployedEndpoint'),
      Type.Literal('Schedule'),
    ]),
    ...common,
    before: none,
    after: none,
    /** Worth showing although nothing changes: a gate rejection, exhausted retries. */
    notice: Type.Boolean(),
  },
  Strict,
);

export const ChangeSchema = Type.Union([
  CreateRunSchema,
  CreateModelSchema,
  CreateEndpointSchema,
  CreateScheduleSchema,
  UpdateModelSchema,
  UpdateEndpointSchema,
  UpdateScheduleSchema,
  ReplaceRunSchema,
  DeleteModelSchema,
  DeleteVersionSchema,
  DeleteEndpointSchema,
  DeleteScheduleSchema,
  CancelRunSchema,
  RegisterSchema,
  PromoteSchema,
  AdoptSchema,
  WaitRunSchema,
  WaitEndpointSchema,
  FireScheduleSchema,
  NoopSchema,
]);
export type Change = Static<typeof ChangeSchema>;
export type ChangeOf<A extends Action> = Extract<Change, { action: A }>;

export type CreateRunChange = Static<typeof CreateRunSchema>;
export type ReplaceRunChange = Static<typeof ReplaceRunSchema>;
export type RegisterChange = Static<typeof RegisterSchema>;
export type PromoteChange = Static<typeof PromoteSchema>;
export type EndpointObject = Static<typeof EndpointObjectSchema>;
export type ScheduleObject = Static<typeof ScheduleObjectSchema>;

// ---- The plan -------------------------------------------------------------------------------

/** A diagnostic as saved plans and `/api/status` carry it (field paths are plain arrays in JSON). */
export const DiagnosticSchema = Type.Object({
  severity: Type.Union([Type.Literal('error'), Type.Literal('warning')]),
  code: Type.String(),
  message: Type.String(),
  hint: Type.Optional(Type.String()),
  address: Type.Optional(Type.String()),
  file: Type.Optional(Type.String()),
  line: Type.Optional(Type.Integer()),
  col: Type.Optional(Type.Integer()),
  length: Type.Optional(Type.Integer()),
  path: Type.Optional(Type.Array(Type.Union([Type.String(), Type.Number()]))),
});

export const SummarySchema = Type.Object(
  {
    ...(Object.fromEntries(ACTIONS.map((a) => [a, Type.Integer({ minimum: 0 })])) as {
      [A in Exclude<Action, 'adopt' | 'fire'>]: ReturnType<typeof Type.Integer>;
    }),
    // Plans saved before adoption and signal fires existed have no count for them.
    adopt: Type.Optional(Type.Integer({ minimum: 0 })),
    fire: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  Strict,
);
export type Summary = Static<typeof SummarySchema>;

export const PlanOptionsSchema = Type.Object({ destroy: Type.Boolean(), prune: Type.Boolean() }, Strict);

export const PlanSchema = Type.Object(
  {
    formatVersion: Type.Literal(PLAN_FORMAT_VERSION),
    stack: Type.String(),
    /** The options the plan was made with: a saved plan is checked for staleness with the same. */
    options: PlanOptionsSchema,
    /** In dependency order: every change after the changes it depends on. */
    changes: Type.Array(ChangeSchema),
    /** Any error means apply must refuse the plan. */
    diagnostics: Type.Array(DiagnosticSchema),
    summary: SummarySchema,
    /** What the changes cost by the price table; plans saved before estimates have none. */
    cost: Type.Optional(PlanCostSchema),
    /** `sha256:<hex>` of `basis`: equal fingerprints mean the plan is still valid. */
    fingerprint: Type.String(),
    /** Digests of the desired state (spec hashes, annotations) and of the observed state the plan read. */
    basis: Type.Object({ desired: Type.String(), observed: Type.String() }, Strict),
  },
  Strict,
);

export type Plan = Omit<Static<typeof PlanSchema>, 'diagnostics'> & { diagnostics: Diagnostic[] };

/** Changes that apply would act on (noop and wait do nothing by themselves). */
export const isActionable = (change: Change): boolean => change.action !== 'noop' && change.action !== 'wait';

export const hasChanges = (plan: Pick<Plan, 'changes'>): boolean => plan.changes.some(isActionable);

/** A plan with an error diagnostic must not be applied. */
export const isApplicable = (plan: Pick<Plan, 'diagnostics'>): boolean =>
  !plan.diagnostics.some((d) => d.severity === 'error');

export function summarize(changes: readonly Change[]): Summary {
  const summary = Object.fromEntries(ACTIONS.map((a) => [a, 0])) as Summary;
  for (const c of changes) summary[c.action] = (summary[c.action] ?? 0) + 1;
  return summary;
}
