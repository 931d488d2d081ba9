/**
 * The inputs of one plan, indexed once (plans of 10,000 resources must stay linear), and the
 * accumulators every kind's planner appends to.
 */
import type { DesiredState, LoadedResource } from '../../manifests/load.js';
import type { Diagnostic, FieldPath } from '../../resources/diagnostic.js';
import type { AnyManifest, Kind } from '../../resources/kinds.js';
import { PREVENT_DESTROY_ANNOTATION } from '../../resources/metadata.js';
import {
  ACTIVE_RUN_STATES,
  type ObservedEndpoint,
  type ObservedModel,
  type ObservedRun,
  type ObservedSchedule,
  type ObservedState,
} from '../../providers/provider.js';
import type { ActiveRun, Change } from './change.js';
import type { PolicyDeletes } from './policy.js';

export interface PlanOptions {
  /** Plan deleting everything of the stack (prevent-destroy still protects). */
  destroy?: boolean;
  /** Delete managed objects whose manifests are gone (default true). */
  prune?: boolean;
  /** Only for the next fire time shown for schedules; defaults to the clock. */
  now?: Date;
  /**
   * The operator policy's word on deletes: a prune or destroy it forbids fails the plan instead
   * (not part of the fingerprint: it decides whether a plan is allowed, not what it does).
   */
  deletes?: PolicyDeletes;
}

/** A loaded resource whose manifest is known to be of kind K. */
export type Desired<K extends Kind> = LoadedResource & {
  kind: K;
  manifest: Extract<AnyManifest, { kind: K }>;
};

/**
 * Where a change sits in the list before the topological sort: RegisteredModel -> TrainingRun ->
 * register -> promote -> DeployedEndpoint -> Schedule -> retention, then deletes in reverse.
 */
export const PHASE = {
  /** `import:`: an adoption comes before anything else of its resource. */
  adopt: -1,
  model: 0,
  run: 1,
  register: 2,
  promote: 3,
  endpoint: 4,
  schedule: 5,
  retention: 6,
  deleteEndpoint: 7,
  deleteSchedule: 8,
  cancelRun: 9,
  deleteModel: 10,
} as const;

export interface PlannedChange {
  change: Change;
  phase: number;
}

export interface PlanContext {
  stack: string;
  now: Date;
  destroy: boolean;
  prune: boolean;
  deletes?: PolicyDeletes;
  desired: {
    byAddress: ReadonlyMap<string, LoadedResource>;
    /** Position in the dependency graph's topological order. */
    order: ReadonlyMap<string, number>;
    runs: Desired<'TrainingRun'>[];
    /** Model name -> TrainingRun templates whose `spec.model` is that model. */
    runsByModel: ReadonlyMap<string, Desired<'TrainingRun'>[]>;
    models: Desired<'RegisteredModel'>[];
    endpoints: Desired<'DeployedEndpoint'>[];
    schedules: Desired<'Schedule'>[];
  };
  observed: {
    /** name -> runs of that name (scheduled ones included), by number. */
    runsByName: ReadonlyMap<string, ObservedRun[]>;
    models: ReadonlyMap<string, ObservedModel>;
    endpoints: ReadonlyMap<string, ObservedEndpoint>;
    schedules: ReadonlyMap<string, ObservedSchedule>;
  };
  changes: PlannedChange[];
  diagnostics: Diagnostic[];
}

const byName = <T extends { name: string }>(items: readonly T[]): Map<string, T> =>
  new Map([...items].sort((a, b) => cmp(a.name, b.name)).map((i) => [i.name, i]));

export const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function ofKind<K extends Kind>(resources: readonly LoadedResource[], kind: K): Desired<K>[] {
  return resources.filter((r): r is Desired<K> => r.kind === kind && r.manifest.kind === kind);
}

export function createContext(
  desired: DesiredState,
  observed: ObservedState,
  options: PlanOptions,
): PlanContext {
  const order = new Map(desired.graph.order.map((address, i) => [address, i]));
  // Graph order first, then address, whatever order the files were read in.
  const resources = [...desired.resources].sort(
    (a, b) =>
      (order.get(a.address) ?? Infinity) - (order.get(b.address) ?? Infinity) || cmp(a.address, b.address),
  );
  const runsByName = new Map<string, ObservedRun[]>();
  for (const run of observed.runs) {
    const list = runsByName.get(run.name) ?? [];
    list.push(run);
    runsByName.set(run.name, list);
  }
  for (const list of runsByName.values()) list.sort((a, b) => a.number - b.number);
  const runs = ofKind(resources, 'TrainingRun');
  const runsByModel = new Map<string, Desired<'TrainingRun'>[]>();
  for (const r of runs) {
    const model = r.manifest.spec.model;
    if (model !== undefined) runsByModel.set(model, [...(runsByModel.get(model) ?? []), r]);
  }
  return {
    stack: desired.project?.config.stack ?? 'default',
    now: options.now ?? new Date(),
    destroy: options.destroy ?? false,
    prune: options.prune ?? true,
    ...(options.deletes && { deletes: options.deletes }),
    desired: {
      byAddress: new Map(resources.map((r) => [r.address, r])),
      order,
      runs,
      runsByModel,
      models: ofKind(resources, 'RegisteredModel'),
      endpoints: ofKind(resources, 'DeployedEndpoint'),
      schedules: ofKind(resources, 'Schedule'),
    },
    observed: {
      runsByName,
      models: byName(observed.models),
      endpoints: byName(observed.endpoints),
      schedules: byName(observed.schedules),
    },
    changes: [],
    diagnostics: [],
  };
}

export const isActive = (run: ObservedRun): boolean => ACTIVE_RUN_STATES.includes(run.state);

export const activeRun = (run: ObservedRun): ActiveRun => ({
  name: run.name,
  number: run.number,
  specHash: run.specHash,
  attempt: run.attempt,
  state: run.state === 'queued' ? 'queued' : 'running',
  schedule: run.schedule ?? null,
});

export const isProtected = (annotations: Readonly<Record<string, string>> | undefined): boolean =>
  annotations?.[PREVENT_DESTROY_ANNOTATION] === 'true';

/** Where a diagnostic about a desired resource points: its document, and the field when known. */
export function at(resource: LoadedResource | undefined, path?: FieldPath): Partial<Diagnostic> {
  if (!resource) return {};
  return {
    address: resource.address,
    file: resource.source.file,
    line: resource.source.line,
    col: resource.source.col,
    ...(path ? { path } : {}),
  };
}

export const labelsOf = (r: LoadedResource): Record<string, string> => ({
  ...(r.manifest.metadata.labels ?? {}),
});
export const annotationsOf = (r: LoadedResource): Record<string, string> => ({
  ...(r.manifest.metadata.annotations ?? {}),
});

export function addChange(ctx: PlanContext, phase: number, change: Change): void {
  ctx.changes.push({ change, phase });
}

/** Explicit `metadata.dependsOn` of a desired resource. */
export const explicitDependsOn = (r: LoadedResource): string[] => [...(r.manifest.metadata.dependsOn ?? [])];
