/**
 * `import:` (mlform.yaml, or `mlform import ADDRESS ID`): existing cloud objects become the
 * stack's, as Terraform's import blocks and Argo CD's adoption do. For each entry whose manifest is
 * not yet observed as the stack's, the object is looked up in the unmanaged listing; found and
 * unowned, it is planned as `<= adopt` and handed to the kind planners *as if already adopted*
 * (observed with the manifest's spec hash, its own versions, traffic and live settings), so what
 * the manifest would still change shows in the same plan as the usual update or alias move, after
 * the adoption. An adopted object is never deleted on the apply that adopts it (`settleAdoption`
 * here, and the `adopted-first-apply` guard in apply).
 */
import type { DesiredState, LoadedResource } from '../../manifests/load.js';
import { error, warning, type Diagnostic } from '../../resources/diagnostic.js';
import type {
  ImportEntry,
  ObservedEndpoint,
  ObservedModel,
  ObservedSchedule,
  ObservedState,
  UnmanagedObject,
} from '../../providers/provider.js';
import type { AdoptChange } from './change.js';
import { PHASE, type PlanContext } from './plan-context.js';
import { scheduleAppliedHash } from './plan-schedules.js';

export interface Adoption {
  /** The observed state with each object to adopt in it, as the stack will observe it afterwards. */
  observed: ObservedState;
  changes: AdoptChange[];
  diagnostics: Diagnostic[];
}

/** The address of the adopt change of a resource (unique beside the resource's own changes). */
export const adoptAddress = (resource: string): string => `${resource}/adopt`;

/** The entries of a project, with where each sits in mlform.yaml (for positioned errors). */
export function importEntries(desired: DesiredState): ImportEntry[] {
  return desired.project?.config.import ?? [];
}

/** Whether the stack already observes the manifest `to` (an entry that is done). */
export function isObserved(observed: ObservedState, to: string): boolean {
  const [kind, name] = to.split('/');
  const list =
    kind === 'RegisteredModel'
      ? observed.models
      : kind === 'DeployedEndpoint'
        ? observed.endpoints
        : kind === 'Schedule'
          ? observed.schedules
          : [];
  return list.some((o) => o.name === name);
}

export function planAdoption(desired: DesiredState, observed: ObservedState, destroy: boolean): Adoption {
  const out: Adoption = { observed, changes: [], diagnostics: [] };
  const entries = importEntries(desired);
  if (destroy || entries.length === 0) return out;
  const project = desired.project;
  const at = (i: number, key: 'to' | 'id') =>
    project ? { file: project.file, line: 1, col: 1, path: ['import', i, key] } : {};
  const byAddress = new Map(desired.resources.map((r) => [r.address, r]));
  const models = new Map(observed.models.map((m) => [m.name, m]));
  const endpoints: ObservedEndpoint[] = [];
  const schedules: ObservedSchedule[] = [];
  // Models first: an endpoint adopted beside its model maps its traffic onto the model's versions.
  const ordered = entries
    .map((entry, i) => ({ entry, i }))
    .sort((a, b) => rank(a.entry.to) - rank(b.entry.to) || a.i - b.i);
  for (const { entry, i } of ordered) {
    const resource = byAddress.get(entry.to);
    if (!resource) {
      out.diagnostics.push(
        error('import-no-manifest', `import[${i}].to: no manifest declares ${entry.to}`, {
          ...at(i, 'to'),
          hint: 'add its manifest (`mlform import --generate-config-out DIR` writes one), or fix the address',
        }),
      );
      continue;
    }
    if (isObserved(observed, entry.to)) continue;
    if (!observed.unmanaged) {
      out.diagnostics.push(
        error('import-unsupported', `import[${i}]: this provider cannot adopt objects made outside mlform`, {
          ...at(i, 'id'),
          address: entry.to,
          hint: 'remove the entry; `mlform import` lists what a provider can adopt',
        }),
      );
      continue;
    }
    const found = findObject(observed.unmanaged, entry.id);
    if (!found || found.kind !== resource.kind) {
      out.diagnostics.push(
        error(
          'import-not-found',
          `import[${i}].id: ${found ? `${entry.id} is a ${found.kind}, not a ${resource.kind}` : `no object ${entry.id} in the project and region`}`,
          {
            ...at(i, 'id'),
            address: entry.to,
            hint: '`mlform import` lists the objects that can be adopted, with their ids',
          },
        ),
      );
      continue;
    }
    if (found.owner) {
      out.diagnostics.push(
        error(
          'import-owned',
          `import[${i}].id: ${found.id} belongs to stack ${found.owner.stack} (its ${found.owner.kind} ${found.owner.name}); it was left untouched`,
          {
            ...at(i, 'id'),
            address: entry.to,
            hint: `remove the entry, or remove the object from stack ${found.owner.stack}'s manifests with prune off there first`,
          },
        ),
      );
      continue;
    }
    const platformProblem = endpointPlatformProblem(resource, found);
    if (platformProblem) {
      out.diagnostics.push({ ...platformProblem, ...at(i, 'to'), address: entry.to });
      continue;
    }
    // A Cloud Run service's name is in its URL; a Vertex AI Endpoint's id is, not its manifest name.
    if (
      resource.kind === 'DeployedEndpoint' &&
      found.endpoint?.platform !== 'vertexEndpoint' &&
      resource.name !== found.name
    ) {
      out.diagnostics.push(
        error(
          'import-name',
          `import[${i}].to: ${found.id} keeps its name (it is in the endpoint's URL); adopt it as DeployedEndpoint/${found.name}`,
          { ...at(i, 'to'), address: entry.to, hint: `name the manifest ${found.name}` },
        ),
      );
      continue;
    }
    const adopted = asObserved(resource, found, models, byAddress);
    if ('problem' in adopted) {
      out.diagnostics.push({ ...adopted.problem, ...at(i, 'id'), address: entry.to });
      continue;
    }
    if (adopted.model) models.set(adopted.model.name, adopted.model);
    if (adopted.endpoint) endpoints.push(adopted.endpoint);
    if (adopted.schedule) schedules.push(adopted.schedule);
    out.changes.push(
      adoptChange(resource, found, i, adopted.revisions, byAddress, entries, adopted.schedule?.specHash),
    );
  }
  if (out.changes.length > 0) {
    out.observed = {
      ...observed,
      models: [...models.values()],
      endpoints: [...observed.endpoints, ...endpoints],
      schedules: [...observed.schedules, ...schedules],
    };
  }
  return out;
}

/** A Vertex AI Endpoint is adopted by a `platform: vertexEndpoint` manifest, a Cloud Run service by any other. */
function endpointPlatformProblem(resource: LoadedResource, found: UnmanagedObject): Diagnostic | undefined {
  if (resource.manifest.kind !== 'DeployedEndpoint' || !found.endpoint) return undefined;
  const onVertex = found.endpoint.platform === 'vertexEndpoint';
  if (onVertex === (resource.manifest.spec.platform === 'vertexEndpoint')) return undefined;
  return error(
    'import-platform',
    `${found.id} is ${onVertex ? 'a Vertex AI Endpoint' : 'a Cloud Run service'}; ${resource.address} serves on ${onVertex ? 'Cloud Run' : 'Vertex AI Endpoints'}`,
    {
      hint: onVertex
        ? 'set `platform: vertexEndpoint` in its spec'
        : 'remove `platform: vertexEndpoint` from its spec',
    },
  );
}

const rank = (to: string) => (to.startsWith('RegisteredModel/') ? 0 : 1);

/** By its full resource name, or by its last segment when that names one object. */
function findObject(items: readonly UnmanagedObject[], id: string): UnmanagedObject | undefined {
  const exact = items.find((u) => u.id === id);
  if (exact || id.includes('/')) return exact;
  const bySuffix = items.filter((u) => u.id.endsWith(`/${id}`));
  return bySuffix.length === 1 ? bySuffix[0] : undefined;
}

interface AsObserved {
  model?: ObservedModel;
  endpoint?: ObservedEndpoint;
  schedule?: ObservedSchedule;
  revisions?: Record<string, number>;
}

/** The object as the stack will observe it once adopted (the manifest's spec hash recorded). */
function asObserved(
  resource: LoadedResource,
  found: UnmanagedObject,
  models: ReadonlyMap<string, ObservedModel>,
  byAddress: ReadonlyMap<string, LoadedResource>,
): AsObserved | { problem: Diagnostic } {
  const manifest = resource.manifest;
  const annotations = manifest.metadata.annotations ?? {};
  if (manifest.kind === 'RegisteredModel' && found.model) {
    return {
      model: {
        name: resource.name,
        specHash: resource.specHash,
        spec: manifest.spec,
        annotations,
        versions: found.model.versions,
        aliases: found.model.aliases,
      },
    };
  }
  if (manifest.kind === 'DeployedEndpoint' && found.endpoint) {
    const model = models.get(manifest.spec.model);
    const revisions: Record<string, number> = {};
    const byVersion = new Map<number, number>();
    for (const t of found.endpoint.traffic) {
      if (t.percent <= 0) continue;
      const version = model?.versions.find(
        (v) => t.artifactUri !== undefined && v.artifactUri === t.artifactUri,
      );
      if (!version) {
        return {
          problem: error(
            'import-traffic',
            found.endpoint.platform === 'vertexEndpoint'
              ? `${found.id}: deployed model ${t.revision} (${t.percent}%) serves ${t.artifactUri ?? 'a model version without an artifact URI'}, which is no version of RegisteredModel/${manifest.spec.model}`
              : `${found.id}: revision ${t.revision} (${t.percent}%) serves ${t.artifactUri ?? 'no artifact mlform can read (no MODEL_URI or AIP_STORAGE_URI)'}, which is no version of RegisteredModel/${manifest.spec.model}`,
            {
              hint: model
                ? `serve a version of ${manifest.spec.model} there, or point spec.model at the model that holds that artifact`
                : `import the Vertex model that holds it as RegisteredModel/${manifest.spec.model} too`,
            },
          ),
        };
      }
      revisions[t.revision] = version.version;
      byVersion.set(version.version, (byVersion.get(version.version) ?? 0) + t.percent);
    }
    const e = found.endpoint;
    return {
      revisions,
      endpoint: {
        name: resource.name,
        specHash: resource.specHash,
        spec: manifest.spec,
        annotations,
        model: manifest.spec.model,
        traffic: [...byVersion].map(([version, percent]) => ({ version, percent })),
        ...(e.url !== undefined && { url: e.url }),
        healthy: e.healthy,
        ...(e.healthDetail !== undefined && { healthDetail: e.healthDetail }),
        live: e.live,
      },
    };
  }
  if (manifest.kind === 'Schedule' && found.schedule) {
    if (found.schedule.template === undefined) {
      return {
        problem: error(
          'import-schedule-target',
          `${found.id}: ${found.schedule.unsupported ?? 'what it launches is not a TrainingRun template'}`,
          { hint: 'remove the entry; recreate the job from a Schedule manifest and delete it' },
        ),
      };
    }
    // Observed with the hash apply records: the schedule's and its template's together.
    const template = byAddress.get(`TrainingRun/${manifest.spec.trainingRun}`);
    if (!template)
      return { problem: error('import-no-manifest', `no TrainingRun/${manifest.spec.trainingRun}`) };
    return {
      schedule: {
        name: resource.name,
        specHash: scheduleAppliedHash(resource.specHash, template.specHash),
        spec: manifest.spec,
        annotations,
        paused: found.schedule.paused,
      },
    };
  }
  return {
    problem: error('import-kind', `${found.id}: adopting a ${found.kind} is not supported yet`, {
      hint: 'remove the entry; recreate the object from a manifest instead',
    }),
  };
}

function adoptChange(
  resource: LoadedResource,
  found: UnmanagedObject,
  index: number,
  revisions: Record<string, number> | undefined,
  byAddress: ReadonlyMap<string, LoadedResource>,
  entries: readonly ImportEntry[],
  appliedHash: string | undefined,
): AdoptChange {
  const manifest = resource.manifest;
  const kind = resource.kind as AdoptChange['kind'];
  // An endpoint adopted with its model: the model is the stack's first.
  const modelAddress =
    manifest.kind === 'DeployedEndpoint' ? `RegisteredModel/${manifest.spec.model}` : undefined;
  const dependsOn =
    modelAddress && byAddress.has(modelAddress) && entries.some((e) => e.to === modelAddress)
      ? [adoptAddress(modelAddress)]
      : [];
  return {
    action: 'adopt',
    kind,
    address: adoptAddress(resource.address),
    resource: resource.address,
    reason: `import[${index}]: adopt ${found.id}; apply labels it as the stack's and changes nothing else`,
    fields: [],
    dependsOn,
    before: { id: found.id },
    after: {
      name: resource.name,
      id: found.id,
      // A schedule records its template's hash with its own (scheduleAppliedHash).
      specHash: appliedHash ?? resource.specHash,
      spec: manifest.spec as AdoptChange['after']['spec'],
      labels: manifest.metadata.labels ?? {},
      annotations: manifest.metadata.annotations ?? {},
      ...(revisions && { revisions }),
    },
  };
}

/**
 * After the kind planners: the adopt changes go first (each other change of an adopted resource
 * depends on its adoption), and nothing of an adopted object is deleted on the apply that adopts
 * it; what retention or prune would delete waits for the next plan, with a warning.
 */
export function settleAdoption(ctx: PlanContext, adoption: Adoption): void {
  const adopted = new Set(adoption.changes.map((c) => c.resource));
  if (adopted.size === 0) return;
  const kept: PlanContext['changes'] = [];
  for (const planned of ctx.changes) {
    const change = planned.change;
    if (!adopted.has(change.resource) || change.action === 'adopt') {
      kept.push(planned);
      continue;
    }
    if (change.action === 'delete' || change.action === 'replace') {
      ctx.diagnostics.push(
        warning(
          'import-delete-deferred',
          `${change.address}: not deleted by the apply that adopts ${change.resource}; the next plan shows it again`,
          { address: change.resource },
        ),
      );
      continue;
    }
    kept.push({
      ...planned,
      change: { ...change, dependsOn: [...change.dependsOn, adoptAddress(change.resource)] },
    });
  }
  ctx.changes.splice(
    0,
    ctx.changes.length,
    ...kept,
    ...adoption.changes.map((change) => ({ change, phase: PHASE.adopt })),
  );
}
