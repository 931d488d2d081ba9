/**
 * The provider interface: how the engine observes and changes actual state (docs/architecture.md
 * "Providers"). Actual state lives with the resources — the local state directory, or labels and
 * names in the cloud — never in a state file of ours. Every verb takes a request object and returns
 * a response with diagnostics (Terraform's PlanResourceChange style); none blocks on a long job:
 * creating a training returns at once and `trainingRuns.observe` reports its progress.
 *
 * Ownership: a provider only lists and touches objects of its stack. Each object records the spec
 * hash it was applied with and the manifest's annotations (`mlform/prevent-destroy`).
 */
import type { Diagnostic } from '../resources/diagnostic.js';
import type { DeployedEndpointSpec } from '../resources/deployed-endpoint.js';
import type { RegisteredModelSpec } from '../resources/registered-model.js';
import type { ScheduleSpec } from '../resources/schedule.js';
import type { TrainingRunSpec } from '../resources/training-run.js';
import type { MonitoringStatus } from '../monitoring/status.js';

/** What every response carries: problems to show, never thrown for expected failures. */
export interface Response {
  diagnostics: Diagnostic[];
}

export interface ProviderContext {
  /** Ownership namespace from mlform.yaml. */
  stack: string;
  /** Folder of mlform.yaml: the local state directory and relative data URIs resolve against it. */
  projectDir: string;
  /**
   * Folders a training may read local data from: the tree root the manifests were checked against
   * and the operator's `--allow-data-root` folders (realpaths). Undefined: `projectDir` only. The local provider hands them to the trainer as `MLFORM_DATA_ROOTS`.
   */
  dataRoots?: readonly string[];
  /** The tree root the manifests were loaded from (a run's git commit is read at its repository). */
  treeRoot?: string;
  /** The commit the controller checked out: recorded as a run's commit, no git run at all. */
  sourceRevision?: string;
  /**
   * The command only looks (plan, get, describe, logs): the provider must not act on its own
   * account while listing (the local provider then leaves queued trainings queued).
   */
  readOnly?: boolean;
  signal?: AbortSignal;
  log?: (message: string) => void;
  /**
   * The apply lock this work holds (set by `withApplyLock`, controller/engine/apply-lock.ts). Locks
   * are exclusive, so while it is held a provider may treat another writer's unfinished work as
   * interrupted (the gcp provider's pending markers).
   */
  applyLock?: Lease;
  /**
   * mlform.yaml's `import:` entries (and `mlform import ADDRESS ID`'s): observation lists the
   * unmanaged objects (`listUnmanaged`) while one of them is not yet the stack's.
   */
  imports?: readonly ImportEntry[];
}

/** An `import:` entry: adopt the cloud object `id` as the manifest `to` (`Kind/name`). */
export interface ImportEntry {
  to: string;
  id: string;
}

// ---- Observed state ------------------------------------------------------------------------

export type RunState = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const ACTIVE_RUN_STATES: readonly RunState[] = ['queued', 'running'];

export interface RunProgress {
  epoch: number;
  epochs: number;
  loss?: number;
  metrics?: Record<string, number>;
  etaSeconds?: number;
  /** Tuning: trials finished / all. */
  trial?: { done: number; of: number };
}

/** One launch of a TrainingRun: `<name>#<number>`. */
export interface ObservedRun {
  /** The TrainingRun manifest's name (a scheduled run carries its template's name). */
  name: string;
  /** 1, 2, 3... per name, in creation order. */
  number: number;
  specHash: string;
  state: RunState;
  /** 1 for the first launch of this spec hash, 2 for its first retry, ... */
  attempt: number;
  /** Set when a Schedule fired this run. */
  schedule?: string;
  createdAt: string;
  finishedAt?: string;
  progress?: RunProgress;
  /** metrics.json's `metrics` and `baseline` once succeeded (names like `val_mae`). */
  metrics?: Record<string, number>;
  baseline?: Record<string, number>;
  /** Where the artifact is (a local path or gs:// URI); complete once `state` is succeeded. */
  artifactUri?: string;
  /** Why it failed, in one line. */
  error?: string;
  dataSha256?: string;
  gitCommit?: string;
  /** The run's page in a managed TensorBoard (gcp with `gcp.tensorboard`), for `describe`. */
  tensorboardUrl?: string;
  /** The manifest's annotations when the run was created. */
  annotations: Record<string, string>;
  /**
   * The spec as the manifest gave it at create (not the provider's rewritten copy), so that a plan
   * can show which fields a new spec changes. Absent for runs created before providers kept it.
   */
  spec?: TrainingRunSpec;
}

export interface ObservedVersion {
  version: number;
  /** The run whose artifact this version is (the idempotency key of registration). */
  run: { name: string; number: number };
  specHash: string;
  artifactUri: string;
  metrics: Record<string, number>;
  baseline: Record<string, number>;
  dataSha256?: string;
  gitCommit?: string;
  createdAt: string;
}

export interface ObservedModel {
  name: string;
  /** Spec hash the model was last applied with. */
  specHash: string;
  spec: RegisteredModelSpec;
  annotations: Record<string, string>;
  versions: ObservedVersion[];
  /** alias -> version number. */
  aliases: Record<string, number>;
  /**
   * Alias moves, oldest first, where the registry keeps them (the local provider: the last 100);
   * undefined where it keeps none (gcp).
   */
  aliasHistory?: { alias: string; version: number; previous: number | null; at: string }[];
}

export interface ObservedTraffic {
  version: number;
  percent: number;
}

export interface ObservedEndpoint {
  name: string;
  specHash: string;
  spec: DeployedEndpointSpec;
  annotations: Record<string, string>;
  model: string;
  /** Traffic as it is live (the endpoint is the source of truth for what is deployed). */
  traffic: ObservedTraffic[];
  url?: string;
  /** False when the serving process or service is not answering: drift, corrected by apply. */
  healthy: boolean;
  /** Why not healthy, for plans and `describe`. */
  healthDetail?: string;
  /**
   * Live settings that someone may have changed by hand (scaling, resources, ...), already
   * normalised per provider so they compare equal to the applied spec when nothing changed.
   */
  live?: Partial<
    Pick<DeployedEndpointSpec, 'scaling' | 'resources' | 'batching' | 'timeoutSeconds' | 'machine'>
  >;
  /**
   * Drift and live quality from the endpoint's window summaries (monitoring/), when the applied
   * spec has `monitoring`. Observed state: past a threshold the endpoint's health is Degraded.
   */
  monitoring?: MonitoringStatus;
}

export interface ObservedSchedule {
  name: string;
  specHash: string;
  spec: ScheduleSpec;
  annotations: Record<string, string>;
  lastFireTime?: string;
  /** Live pause state (someone may have paused the Cloud Scheduler job by hand: drift). */
  paused: boolean;
}

export interface ObservedState {
  runs: ObservedRun[];
  models: ObservedModel[];
  endpoints: ObservedEndpoint[];
  schedules: ObservedSchedule[];
  /** Objects of the project no stack manages (or another stack does), read only while an `import:` entry waits. */
  unmanaged?: UnmanagedObject[];
}

export type AdoptableKind = 'RegisteredModel' | 'DeployedEndpoint' | 'Schedule';

/**
 * An object of the cloud project that this stack does not manage (`mlform import`, `import:`):
 * what it is, whose it is, and how it would be observed once adopted.
 */
export interface UnmanagedObject {
  kind: AdoptableKind;
  /** The cloud resource name an `import:` entry gives as `id`. */
  id: string;
  /** A manifest name derived from the object's own name (generated config). */
  name: string;
  /** Another stack's (its ownership labels or description): never adoptable, shown with its owner. */
  owner?: { stack: string; kind: string; name: string };
  /** Vertex model: its versions (no run: `IMPORTED_RUN`) and aliases. */
  model?: { description?: string; versions: ObservedVersion[]; aliases: Record<string, number> };
  /**
   * Cloud Run service: traffic by revision with the artifact each serves, and its live settings.
   * Vertex AI Endpoint (`platform: vertexEndpoint`): traffic by deployed model (its id as
   * `revision`), live replicas and machine.
   */
  endpoint?: {
    platform?: 'vertexEndpoint';
    traffic: { revision: string; percent: number; artifactUri?: string }[];
    live: NonNullable<ObservedEndpoint['live']>;
    /** The image when it is not the project's serving image (a `spec.container`). */
    image?: string;
    port?: number;
    /** Of such an image: the readiness path (its startup probe) and the predict path (`AIP_PREDICT_ROUTE`). */
    healthPath?: string;
    predictPath?: string;
    healthy: boolean;
    healthDetail?: string;
    url?: string;
  };
  /**
   * Cloud Scheduler job: when, and the TrainingRun spec (as a manifest writes it) of the training
   * it launches, its Schedule's template; `unsupported` says why there is none (not adoptable).
   */
  schedule?: {
    cron: string;
    timeZone: string;
    paused: boolean;
    target: string;
    template?: Record<string, unknown>;
    unsupported?: string;
  };
  /** What a manifest cannot say about it, one sentence each (comments in generated files). */
  notes: string[];
}

/** The run of a version adopted from outside mlform: no TrainingRun made it. */
export const IMPORTED_RUN = '(imported)';

export interface AdoptRequest {
  kind: AdoptableKind;
  name: string;
  id: string;
  specHash: string;
  /** The manifest's spec (recorded as the applied spec, as a create would). */
  spec: RegisteredModelSpec | DeployedEndpointSpec | ScheduleSpec;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Endpoints: revision (short name) -> the model version it serves, as the plan matched them. */
  revisions?: Record<string, number>;
}

// ---- Requests ------------------------------------------------------------------------------

export interface CreateRunRequest {
  name: string;
  /** Chosen by the engine (max observed + 1) so a repeated create after a crash is recognised. */
  number: number;
  spec: TrainingRunSpec;
  specHash: string;
  attempt: number;
  /** Manifest file: relative `file://` data URIs resolve against its folder. */
  manifestPath: string;
  schedule?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RunRef {
  name: string;
  number: number;
}

export interface PutModelRequest {
  name: string;
  spec: RegisteredModelSpec;
  specHash: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RegisterVersionRequest {
  model: string;
  run: ObservedRun;
}

export interface MoveAliasRequest {
  model: string;
  alias: string;
  version: number;
}

/** Traffic resolved by the engine: aliases and `latest` already turned into version numbers. */
export interface ResolvedTraffic {
  version: number;
  percent: number;
  artifactUri: string;
}

export interface PutEndpointRequest {
  name: string;
  spec: DeployedEndpointSpec;
  specHash: string;
  traffic: ResolvedTraffic[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface PutScheduleRequest {
  name: string;
  spec: ScheduleSpec;
  specHash: string;
  /** The template TrainingRun, resolved, so the provider can launch runs without the manifests. */
  template: { spec: TrainingRunSpec; specHash: string; manifestPath: string };
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface TriggerScheduleRequest {
  name: string;
  /** Fired on a signal: why (monitoring/trigger.ts), annotated on the run. Absent: on time or by hand. */
  reason?: string;
}

/**
 * `apply`: the stack's apply lock (CLI applies and each controller sync hold it briefly).
 * `leader`: the controller's leader-election lease, held for as long as a replica leads.
 */
export type LockName = 'apply' | 'leader';

export interface LockRequest {
  /** Which lease (default `apply`). */
  name?: LockName;
  /** Who holds it, for the message another apply shows ("held by alice@host pid 123"). */
  holder: string;
  /** The lease expires unless renewed, so a crashed holder never leaves it stuck. */
  ttlMs: number;
}

export interface Lease {
  holder: string;
  expiresAt: string;
  renew(): Promise<Response>;
  release(): Promise<Response>;
}

/** A lease someone holds (`Provider.inspectLock`). */
export interface HeldLease {
  holder: string;
  pid: number;
  hostname: string;
  acquiredAt: string;
  expiresAt: string;
  /** Its holder ran on this host and that process is gone: nobody can renew it. */
  holderGone: boolean;
  release(): Promise<Response>;
}

/** A loaded resource as `Provider.validate` sees it (defaults applied; source position of its document). */
export interface ValidateResource {
  kind: 'TrainingRun' | 'RegisteredModel' | 'DeployedEndpoint' | 'Schedule';
  name: string;
  /** `Kind/name`. */
  address: string;
  /** The normalised manifest (`{apiVersion, kind, metadata, spec}`). */
  manifest: unknown;
  source: { file: string; line: number; col: number };
}

// ---- The interface -------------------------------------------------------------------------

/**
 * What differs between providers in how they are driven, so callers branch on a property rather
 * than on a provider's name.
 */
export interface ProviderCapabilities {
  /**
   * Schedules fire only while a process fires them (the controller's clock, `mlform trigger`);
   * false where the backend fires them on its own (Cloud Scheduler on gcp).
   */
  schedulesFireInProcess: boolean;
  /**
   * Actual state is kept in a state directory, which mlform.yaml's `local.stateDir` names; the
   * controller keeps it in its own `--state-dir` instead and says so when a commit names one.
   */
  stateDirectory: boolean;
}

export interface Provider {
  name: 'local' | 'gcp';
  capabilities: ProviderCapabilities;

  trainingRuns: {
    /** Every run of the stack: one list call (paged in the cloud). */
    list(ctx: ProviderContext): Promise<Response & { items: ObservedRun[] }>;
    /** Idempotent by (name, number): creating an existing run returns it. */
    create(ctx: ProviderContext, req: CreateRunRequest): Promise<Response & { run?: ObservedRun }>;
    cancel(ctx: ProviderContext, req: RunRef): Promise<Response>;
    /** Fresh state and progress of one run (apply's wait loop, `logs`, `describe`). */
    observe(ctx: ProviderContext, req: RunRef): Promise<Response & { run?: ObservedRun }>;
    /** The run's log lines so far, and the offset to continue from (`logs --follow` polls). */
    logs(
      ctx: ProviderContext,
      req: RunRef & { from?: number },
    ): Promise<Response & { lines: string[]; next: number }>;
  };

  registeredModels: {
    list(ctx: ProviderContext): Promise<Response & { items: ObservedModel[] }>;
    /** Create or update (the model object itself; versions are registered separately). */
    put(ctx: ProviderContext, req: PutModelRequest): Promise<Response>;
    /** Deletes the model and all its versions. */
    delete(ctx: ProviderContext, req: { name: string }): Promise<Response>;
    /** Idempotent by run: registering the same run twice returns the existing version. */
    registerVersion(
      ctx: ProviderContext,
      req: RegisterVersionRequest,
    ): Promise<Response & { version?: ObservedVersion }>;
    moveAlias(ctx: ProviderContext, req: MoveAliasRequest): Promise<Response>;
    deleteVersion(ctx: ProviderContext, req: { model: string; version: number }): Promise<Response>;
  };

  deployedEndpoints: {
    /**
     * `manifestsChecked`: resolves once `validate` has seen the manifests (an observation started
     * before they loaded, `mlform plan`); a provider that learns from them which platforms to list
     * (gcp: Vertex AI Endpoints only when a manifest uses them) waits for it only for those.
     */
    list(
      ctx: ProviderContext,
      options?: { manifestsChecked?: Promise<void> },
    ): Promise<Response & { items: ObservedEndpoint[] }>;
    /** Create, update, or restart an unhealthy endpoint; traffic moves only to ready versions. */
    put(ctx: ProviderContext, req: PutEndpointRequest): Promise<Response & { endpoint?: ObservedEndpoint }>;
    delete(ctx: ProviderContext, req: { name: string }): Promise<Response>;
  };

  schedules: {
    list(ctx: ProviderContext): Promise<Response & { items: ObservedSchedule[] }>;
    put(ctx: ProviderContext, req: PutScheduleRequest): Promise<Response>;
    delete(ctx: ProviderContext, req: { name: string }): Promise<Response>;
    /**
     * Fire now (`mlform trigger`); locally also what the controller's clock calls. With `reason`
     * (a Schedule trigger's signal, issue 15) the run records it: `firedByTriggerAnnotations`.
     */
    trigger(ctx: ProviderContext, req: TriggerScheduleRequest): Promise<Response & { run?: ObservedRun }>;
  };

  /** Apply's lock: a lease with holder and expiry; acquiring a held, unexpired lease fails naming the holder. */
  lock(ctx: ProviderContext, req: LockRequest): Promise<Response & { lease?: Lease }>;

  /**
   * The lease as it stands, for `mlform unlock`: undefined `held` when nobody holds it. `release`
   * deletes exactly the lease read (a generation precondition, or its token locally), never one
   * taken since.
   */
  inspectLock?(ctx: ProviderContext, req: { name?: LockName }): Promise<Response & { held?: HeldLease }>;

  /**
   * Optional plan-time checks of what this backend would reject later (GPU not offered in the
   * region, naming rules). Diagnostics carry `file`, `line`, `col` of the resource's document and
   * the field `path`; the caller moves them onto the field.
   */
  validate?(ctx: ProviderContext, resources: readonly ValidateResource[]): Promise<Diagnostic[]>;

  /**
   * A small store of the stack's own bookkeeping next to its actual state (the local state
   * directory, the stack's prefix in the gcp bucket): the notification outbox and what was last
   * notified. Keys are built by mlform (`STATE_KEY`), never taken from a manifest.
   */
  stateStore?: StackStateStore;

  /**
   * Optional adoption (`mlform import`): the project's objects that carry no ownership of this
   * stack, one list call per kind; and `adopt`, which labels one as the stack's and changes
   * nothing else.
   */
  listUnmanaged?(ctx: ProviderContext): Promise<Response & { items: UnmanagedObject[] }>;
  adopt?(ctx: ProviderContext, req: AdoptRequest): Promise<Response>;

  /** Run outputs (artifacts are local paths or gs:// URIs). */
  artifacts: {
    read(ctx: ProviderContext, uri: string): Promise<Buffer>;
    write(ctx: ProviderContext, uri: string, data: Uint8Array | string): Promise<void>;
  };
}

/** `notifications/outbox/<id>.json`: lowercase segments, no `..`, no leading `/`. */
export const STATE_KEY = /^(?!.*\.\.)[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*\/?$/;

export interface StackStateStore {
  /** Keys under a prefix (e.g. `notifications/outbox/`), sorted; one list call. */
  list(ctx: ProviderContext, prefix: string): Promise<string[]>;
  /** Undefined when the key does not exist. */
  read(ctx: ProviderContext, key: string): Promise<Buffer | undefined>;
  /** Atomic: a reader sees the old or the new value, never a part. */
  write(ctx: ProviderContext, key: string, data: string): Promise<void>;
  /** Removing a missing key is not an error. */
  remove(ctx: ProviderContext, key: string): Promise<void>;
}

/** Labels every managed object carries where the backend has labels (docs/architecture.md "Providers"). */
export const ownershipLabels = (
  stack: string,
  kind: string,
  name: string,
  specHash: string,
): Record<string, string> => ({
  'mlform-stack': stack,
  'mlform-kind': kind.toLowerCase(),
  'mlform-name': name,
  'mlform-spec': specHash.slice(0, 12),
});
