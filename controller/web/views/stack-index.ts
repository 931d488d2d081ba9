/**
 * Lookups over one snapshot, built once per snapshot (memoised) so every view is linear in the
 * stack: resources by address, runs by TrainingRun and by Schedule (newest first), observed
 * objects by name, endpoints by model, and each resource's group (the RegisteredModel it belongs
 * to). A stack of 1,000 resources must not cost 1,000 scans of the run list.
 */
import { relative, resolve, isAbsolute } from 'node:path';
import type { LoadedResource } from '../../../manifests/load.js';
import { addressOf } from '../../../resources/address.js';
import type { Kind } from '../../../resources/kinds.js';
import type {
  ObservedEndpoint,
  ObservedModel,
  ObservedRun,
  ObservedSchedule,
} from '../../../providers/provider.js';
import type { ResourceStatusView } from '../../loop/status-schema.js';
import type { StackSnapshot } from '../snapshot.js';

export interface StackIndex {
  snapshot: StackSnapshot;
  desired: Map<string, LoadedResource>;
  statuses: Map<string, ResourceStatusView>;
  runsByName: Map<string, ObservedRun[]>;
  runsBySchedule: Map<string, ObservedRun[]>;
  models: Map<string, ObservedModel>;
  endpoints: Map<string, ObservedEndpoint>;
  schedules: Map<string, ObservedSchedule>;
  endpointsByModel: Map<string, ObservedEndpoint[]>;
}

const cache = new WeakMap<StackSnapshot, StackIndex>();

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function stackIndex(snapshot: StackSnapshot): StackIndex {
  const cached = cache.get(snapshot);
  if (cached) return cached;
  const { observed } = snapshot;
  const runsByName = new Map<string, ObservedRun[]>();
  const runsBySchedule = new Map<string, ObservedRun[]>();
  for (const run of observed.runs) {
    push(runsByName, run.name, run);
    if (run.schedule !== undefined) push(runsBySchedule, run.schedule, run);
  }
  for (const runs of runsByName.values()) runs.sort((a, b) => b.number - a.number);
  for (const runs of runsBySchedule.values()) runs.sort(newestFirst);
  const endpointsByModel = new Map<string, ObservedEndpoint[]>();
  for (const e of observed.endpoints) push(endpointsByModel, e.model, e);
  const index: StackIndex = {
    snapshot,
    desired: new Map((snapshot.desired?.resources ?? []).map((r) => [r.address, r])),
    statuses: new Map(snapshot.statuses.map((s) => [s.address, s])),
    runsByName,
    runsBySchedule,
    models: new Map(observed.models.map((m) => [m.name, m])),
    endpoints: new Map(observed.endpoints.map((e) => [e.name, e])),
    schedules: new Map(observed.schedules.map((s) => [s.name, s])),
    endpointsByModel,
  };
  cache.set(snapshot, index);
  return index;
}

/** Runs of a schedule may carry several template names: newest by creation, then number. */
const newestFirst = (a: ObservedRun, b: ObservedRun): number =>
  Date.parse(b.createdAt) - Date.parse(a.createdAt) || b.number - a.number;

export const desiredOf = (index: StackIndex, kind: Kind, name: string): LoadedResource | undefined =>
  index.desired.get(addressOf(kind, name));

/** The manifest's spec of a kind, when declared. */
function declaredSpec<K extends Kind>(index: StackIndex, kind: K, name: string) {
  const manifest = desiredOf(index, kind, name)?.manifest;
  return manifest?.kind === kind
    ? (manifest.spec as Extract<LoadedResource['manifest'], { kind: K }>['spec'])
    : undefined;
}

/** The RegisteredModel a TrainingRun registers into: its manifest's, else its newest run's spec. */
export function modelOfRun(index: StackIndex, name: string): string | undefined {
  const declared = declaredSpec(index, 'TrainingRun', name);
  if (declared) return declared.model;
  return index.runsByName.get(name)?.find((r) => r.spec !== undefined)?.spec?.model;
}

export const modelOfEndpoint = (index: StackIndex, name: string): string | undefined =>
  declaredSpec(index, 'DeployedEndpoint', name)?.model ?? index.endpoints.get(name)?.model;

export const templateOfSchedule = (index: StackIndex, name: string): string | undefined =>
  declaredSpec(index, 'Schedule', name)?.trainingRun ?? index.schedules.get(name)?.spec.trainingRun;

export const modelSpecOf = (index: StackIndex, name: string) =>
  declaredSpec(index, 'RegisteredModel', name) ?? index.models.get(name)?.spec;

export const scheduleSpecOf = (index: StackIndex, name: string) =>
  declaredSpec(index, 'Schedule', name) ?? index.schedules.get(name)?.spec;

export const trainingRunSpecOf = (index: StackIndex, name: string) =>
  declaredSpec(index, 'TrainingRun', name) ?? index.runsByName.get(name)?.find((r) => r.spec)?.spec;

export const endpointSpecOf = (index: StackIndex, name: string) =>
  declaredSpec(index, 'DeployedEndpoint', name) ?? index.endpoints.get(name)?.spec;

/** The gate metric of the model a TrainingRun feeds, or of a model itself. */
export const gateMetricOf = (index: StackIndex, model: string | undefined): string | undefined =>
  model === undefined ? undefined : modelSpecOf(index, model)?.gate?.metric;

/** The application a resource belongs to (api.ts `OverviewItem.group`). */
export function groupOf(index: StackIndex, kind: Kind, name: string): string | null {
  switch (kind) {
    case 'RegisteredModel':
      return name;
    case 'TrainingRun':
      return modelOfRun(index, name) ?? null;
    case 'DeployedEndpoint':
      return modelOfEndpoint(index, name) ?? null;
    case 'Schedule': {
      const template = templateOfSchedule(index, name);
      return template === undefined ? null : (modelOfRun(index, template) ?? null);
    }
  }
}

/** The names of one kind in the stack (statuses cover declared and existing resources). */
export const namesOf = (index: StackIndex, kind: Kind): string[] =>
  index.snapshot.statuses.filter((s) => s.kind === kind).map((s) => s.name);

/**
 * A file as the dashboard shows it: relative to the project folder when inside it. Outside it (a
 * controller's checkout beside its state) the path is kept as the loader displayed it.
 */
export function projectFile(projectDir: string, file: string): string {
  // The loader displays files relative to the working directory of the process serving this.
  const absolute = resolve(file);
  const rel = relative(projectDir, absolute);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

/** Where a declared resource's document starts. */
export function sourceOf(index: StackIndex, address: string) {
  const r = index.desired.get(address);
  if (!r) return null;
  return {
    file: projectFile(index.snapshot.projectDir, r.source.path),
    line: r.source.line,
    col: r.source.col,
  };
}
