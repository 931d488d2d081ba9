/**
 * DeployedEndpoint: traffic selectors resolved to version numbers (after this plan's registrations
 * and alias moves), then compared with what is live. The endpoint is the source of truth for what
 * is deployed, so live traffic, live settings and health are diffed, not only the spec hash.
 */
import { error, warning } from '../../resources/diagnostic.js';
import {
  platformOf,
  PRESETS,
  VERTEX_PRESETS,
  type DeployedEndpointSpec,
} from '../../resources/deployed-endpoint.js';
import type { ObservedTraffic, ResolvedTraffic } from '../../providers/provider.js';
import { containerNote } from '../../providers/serving-container.js';
import type { FieldChange, TrafficEntry } from './change.js';
import { diffValues, sameValue, wholeFields } from './field-diff.js';
import {
  PHASE,
  addChange,
  annotationsOf,
  at,
  explicitDependsOn,
  labelsOf,
  type Desired,
  type PlanContext,
} from './plan-context.js';
import type { ModelPlan } from './plan-models.js';

/** What traffic resolution needs to know of a model: its versions, aliases, pending registrations. */
export interface TrafficModelView {
  versions: readonly { version: number; artifactUri: string }[];
  alias(name: string): { version: number | null; deferred: boolean } | undefined;
  /** Registrations that wait for a training (their numbers are known after training). */
  deferred: number;
}

export interface TrafficResolution {
  entries: TrafficEntry[];
  /** Some entry is known only after training. */
  deferred: boolean;
  /** Selectors that point to no version, with nothing pending that could change that. */
  unresolved: (number | string)[];
  /** Indexes of numeric selectors naming a version that does not exist and cannot appear. */
  missing: number[];
}

export function resolveTraffic(
  traffic: DeployedEndpointSpec['traffic'],
  model: TrafficModelView,
): TrafficResolution {
  const byVersion = new Map(model.versions.map((v) => [v.version, v]));
  const newest = Math.max(0, ...model.versions.map((v) => v.version));
  const out: TrafficResolution = { entries: [], deferred: false, unresolved: [], missing: [] };
  traffic.forEach((t, i) => {
    let version: number | null = null;
    let pending = false;
    if (typeof t.version === 'number') {
      if (byVersion.has(t.version)) version = t.version;
      else if (model.deferred > 0 && t.version <= newest + model.deferred) pending = true;
      else out.missing.push(i);
    } else if (t.version === 'latest') {
      if (model.deferred > 0) pending = true;
      else if (newest > 0) version = newest;
    } else {
      const alias = model.alias(t.version);
      if (alias?.deferred) pending = true;
      else if (alias?.version != null && byVersion.has(alias.version)) version = alias.version;
    }
    if (pending) out.deferred = true;
    else if (version === null && typeof t.version !== 'number') out.unresolved.push(t.version);
    out.entries.push({
      selector: t.version,
      percent: t.percent,
      version,
      artifactUri: version === null ? null : (byVersion.get(version)?.artifactUri ?? null),
    });
  });
  return out;
}

/**
 * What the provider's put takes: one entry per version (two selectors naming the same version add
 * up), 0% entries dropped. undefined while some entry is not resolved.
 */
export function toResolvedTraffic(entries: readonly TrafficEntry[]): ResolvedTraffic[] | undefined {
  const merged = new Map<number, ResolvedTraffic>();
  for (const e of entries) {
    if (e.version === null || e.artifactUri === null) return undefined;
    if (e.percent === 0) continue;
    const seen = merged.get(e.version);
    if (seen) seen.percent += e.percent;
    else merged.set(e.version, { version: e.version, percent: e.percent, artifactUri: e.artifactUri });
  }
  return [...merged.values()].sort((a, b) => a.version - b.version);
}

const liveSplit = (traffic: readonly ObservedTraffic[]) => {
  const merged = new Map<number, number>();
  for (const t of traffic) if (t.percent > 0) merged.set(t.version, (merged.get(t.version) ?? 0) + t.percent);
  return [...merged.entries()].sort(([a], [b]) => a - b);
};

/** Live traffic labelled with the applied spec's selectors where the entries line up. */
function labelLive(
  live: readonly ObservedTraffic[],
  applied: DeployedEndpointSpec['traffic'],
): TrafficEntry[] {
  return live.map((t, i) => {
    const selector = applied[i]?.percent === t.percent ? applied[i].version : t.version;
    return { selector, percent: t.percent, version: t.version, artifactUri: null };
  });
}

/** Settings a person can change by hand on a live endpoint (and the spec fields that are not traffic). */
const SETTINGS = [
  'model',
  'platform',
  'machine',
  'preset',
  'scaling',
  'resources',
  'batching',
  'timeoutSeconds',
  'container',
] as const;
const pickSettings = (spec: Partial<DeployedEndpointSpec>): Record<string, unknown> =>
  Object.fromEntries(SETTINGS.flatMap((k) => (spec[k] === undefined ? [] : [[k, spec[k]]])));

export interface EndpointsPlan {
  /** Model -> versions that live or desired traffic uses (retention keeps them). */
  uses: ReadonlyMap<string, ReadonlySet<number>>;
  /** Model -> addresses of its endpoints' changes (retention runs after them). */
  changes: ReadonlyMap<string, string[]>;
}

export function planEndpoints(ctx: PlanContext, models: ReadonlyMap<string, ModelPlan>): EndpointsPlan {
  const uses = new Map<string, Set<number>>();
  const use = (model: string, version: number) => {
    const set = uses.get(model) ?? new Set<number>();
    set.add(version);
    uses.set(model, set);
  };
  // Whatever serves now, desired or about to be pruned, keeps its versions until it has moved.
  for (const endpoint of ctx.observed.endpoints.values()) {
    for (const t of endpoint.traffic) use(endpoint.model, t.version);
  }
  const changes = new Map<string, string[]>();
  for (const e of ctx.desired.endpoints) {
    const spec = e.manifest.spec;
    const model = models.get(spec.model);
    if (!model) continue; // the loader rejects dangling references; nothing to resolve against
    const resolution = resolveTraffic(spec.traffic, {
      versions: model.versions,
      alias: (name) => model.aliases.get(name),
      deferred: model.deferred,
    });
    for (const t of resolution.entries) if (t.version !== null) use(spec.model, t.version);
    const addresses = changes.get(spec.model) ?? [];
    addresses.push(e.address);
    changes.set(spec.model, addresses);
    planEndpoint(ctx, e, model, resolution);
  }
  return { uses, changes };
}

function planEndpoint(
  ctx: PlanContext,
  e: Desired<'DeployedEndpoint'>,
  model: ModelPlan,
  resolution: TrafficResolution,
): void {
  const spec = e.manifest.spec;
  const observed = ctx.observed.endpoints.get(e.name);
  const base = {
    kind: 'DeployedEndpoint' as const,
    address: e.address,
    resource: e.address,
    dependsOn: [model.resource.address, ...trafficDependencies(spec, model), ...explicitDependsOn(e)],
  };
  const noop = (reason: string) =>
    addChange(ctx, PHASE.endpoint, {
      ...base,
      action: 'noop',
      reason,
      fields: [],
      before: null,
      after: null,
      notice: false,
    });

  if (resolution.missing.length > 0) {
    const existing = model.versions.map((v) => `v${v.version}`).join(', ') || 'none yet';
    for (const i of resolution.missing) {
      ctx.diagnostics.push(
        error('traffic-version', `${model.resource.address} has no version ${spec.traffic[i].version}`, {
          ...at(e, ['spec', 'traffic', i, 'version']),
          hint: `existing versions: ${existing}; or use an alias or \`latest\``,
        }),
      );
    }
    noop('traffic names a version that does not exist');
    return;
  }
  if (resolution.unresolved.length > 0) {
    const which = resolution.unresolved.map((s) => `"${s}"`).join(', ');
    ctx.diagnostics.push(
      warning(
        'traffic-unresolved',
        `${e.address} waits: ${which} of ${model.resource.address} ${resolution.unresolved.length === 1 ? 'points' : 'point'} to no version yet`,
        {
          ...at(e, ['spec', 'traffic']),
          hint: `a TrainingRun with \`model: ${model.resource.name}\` must succeed and pass the gate first`,
        },
      ),
    );
    addChange(ctx, PHASE.endpoint, {
      ...base,
      action: 'wait',
      reason: `waits for a version of ${model.resource.address} (${which})`,
      fields: [],
      before: null,
      after: null,
      model: spec.model,
      unresolved: resolution.unresolved,
    });
    return;
  }

  const annotations = annotationsOf(e);
  const after = {
    name: e.name,
    model: spec.model,
    specHash: e.specHash,
    spec,
    traffic: resolution.entries,
    trafficDeferred: resolution.deferred,
    labels: labelsOf(e),
    annotations,
  };
  const later = resolution.deferred ? ' (traffic known after training)' : '';
  if (!observed) {
    addChange(ctx, PHASE.endpoint, {
      ...base,
      action: 'create',
      reason: withContainerNote(`serves ${model.resource.address}${later}`, spec),
      // Traffic as resolved (`champion (v2) 90%`), as an update shows it, instead of the selectors.
      fields: [
        ...wholeFields({ ...spec, traffic: undefined }, 'spec', 'create'),
        { path: 'traffic', before: null, after: resolution.entries },
      ],
      before: null,
      after,
    });
    return;
  }

  const applied = pickSettings(observed.spec);
  const actual = { ...applied, ...pickSettings(observed.live ?? {}) };
  const drifted = diffValues(applied, actual).map((f) => f.path);
  const isDrift = (path: string) =>
    drifted.some((d) => d === path || d.startsWith(`${path}.`) || path.startsWith(`${d}.`));
  const fields: FieldChange[] = diffValues(actual, pickSettings(spec)).map((f) =>
    isDrift(f.path) ? { ...f, drift: true } : f,
  );

  const live = labelLive(observed.traffic, observed.spec.traffic);
  const desiredSplit = toResolvedTraffic(resolution.entries)?.map((t) => [t.version, t.percent]);
  const selectorsChanged = !sameValue(
    observed.spec.traffic.map((t) => [t.version, t.percent]),
    spec.traffic.map((t) => [t.version, t.percent]),
  );
  const trafficMoves = desiredSplit !== undefined && !sameValue(liveSplit(observed.traffic), desiredSplit);
  if (resolution.deferred || trafficMoves || selectorsChanged) {
    fields.push({ path: 'traffic', before: live, after: resolution.entries });
  }
  if (!observed.healthy) fields.push({ path: 'healthy', before: false, after: true, drift: true });
  fields.push(...diffValues(observed.annotations, annotations, 'metadata.annotations'));

  const specChanged = observed.specHash !== e.specHash;
  if (!specChanged && fields.length === 0) {
    noop('up to date');
    return;
  }
  const reasons: string[] = [];
  if (specChanged) reasons.push('spec changed');
  if (!observed.healthy) reasons.push(`not healthy: ${observed.healthDetail ?? 'not answering'}`);
  const driftPaths = fields.filter((f) => f.drift && f.path !== 'healthy').map((f) => f.path);
  if (driftPaths.length > 0) reasons.push(`${driftPaths.join(', ')} changed outside mlform`);
  if (trafficMoves && !selectorsChanged) reasons.push('traffic moves to other versions');
  if (resolution.deferred && !specChanged) reasons.push('traffic known after training');
  if (reasons.length === 0) reasons.push('annotations changed');
  const drift = fields.some((f) => f.drift);
  addChange(ctx, PHASE.endpoint, {
    ...base,
    action: 'update',
    reason: withContainerNote(reasons.join('; '), spec),
    fields,
    ...(drift ? { drift } : {}),
    before: {
      specHash: observed.specHash,
      spec: observed.spec,
      traffic: live,
      healthy: observed.healthy,
      healthDetail: observed.healthDetail ?? null,
    },
    after,
  });
}

/**
 * A container of the user's: the plan says what mlform cannot check inside it. A preset that scales
 * to zero on Cloud Run keeps a replica running on Vertex AI, which has no scale to zero.
 */
const withContainerNote = (reason: string, spec: DeployedEndpointSpec): string => {
  const notes = [reason];
  if (spec.container) notes.push(containerNote(spec.container));
  if (platformOf(spec) === 'vertexEndpoint' && PRESETS[spec.preset].scaling.minInstances === 0) {
    const vertex = VERTEX_PRESETS[spec.preset];
    if (spec.scaling?.minInstances === vertex.scaling.minInstances)
      notes.push(
        `Vertex AI has no scale to zero: preset ${spec.preset} keeps ${vertex.scaling.minInstances} replica running (${vertex.scaling.minInstances}-${vertex.scaling.maxInstances} ${vertex.machine.machineType})`,
      );
  }
  return notes.join('; ');
};

/** The registrations and alias moves this endpoint's traffic waits for, and no others. */
function trafficDependencies(spec: DeployedEndpointSpec, model: ModelPlan): string[] {
  const out: string[] = [];
  for (const t of spec.traffic) {
    if (t.version === 'latest') out.push(...model.registers);
    else if (typeof t.version === 'number') {
      const known = model.registerOf.get(t.version);
      if (known) out.push(known);
      else if (!model.versions.some((v) => v.version === t.version)) out.push(...model.registers);
    } else {
      const promote = model.aliases.get(t.version)?.promote;
      if (promote) out.push(promote);
    }
  }
  return out;
}
