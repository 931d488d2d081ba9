/**
 * `Provider.listUnmanaged` on gcp (README.md "Importing existing objects"): the Vertex models,
 * Cloud Run services, Vertex AI Endpoints and Cloud Scheduler jobs of the project and region that
 * this stack does not own, each with the owner it carries when another stack owns it. One paged
 * list per API, then one ListModelVersions per unowned model, one ListRevisions per unowned
 * service and one GetModel per deployed model whose version the model listing did not read (what
 * a manifest needs: versions and aliases, the artifact each revision or deployed model serves).
 * Jobs: `import-schedules.ts`; endpoints: `import-vertex-endpoints.ts`. Only called while an
 * `import:` entry waits, and by `mlform import`.
 */
import type { protos as aiplatform } from '@google-cloud/aiplatform';
import type { Diagnostic } from '../../resources/diagnostic.js';
import type { ProviderContext, Response, UnmanagedObject } from '../provider.js';
import { callDiagnostic } from './call.js';
import { listAll, type Gcp } from './context.js';
import { listRevisions, listServices, liveOf } from './endpoints.js';
import { lastSegment, manifestName } from './import-names.js';
import { unmanagedVertexEndpoints } from './import-vertex-endpoints.js';
import { listVersions, importedVersion, versionOf } from './models.js';
import { parentOf } from './names.js';
import { ownerOfLabels, type Owner } from './ownership.js';
import { unmanagedJobs } from './import-schedules.js';
import { listJobs } from './schedules.js';

type Model = aiplatform.google.cloud.aiplatform.v1.IModel;

const DEFAULT_ALIAS = 'default';

/** Another stack's object is listed with its owner; this stack's own are not listed at all. */
const notOurs = (owner: Owner | undefined, stack: string) => owner === undefined || owner.stack !== stack;

export async function listUnmanaged(
  gcp: Gcp,
  ctx: ProviderContext,
): Promise<Response & { items: UnmanagedObject[] }> {
  const diagnostics: Diagnostic[] = [];
  const models = unmanagedModels(gcp, ctx).catch((e: unknown) => {
    diagnostics.push(callDiagnostic('RegisteredModel', 'listing models to import', e));
    return [];
  });
  const parts = await Promise.all([
    models,
    // After the models: a deployed model's artifact is then read from the versions already listed.
    models
      .then((listed) => unmanagedVertexEndpoints(gcp, ctx, artifactsOf(listed)))
      .catch((e: unknown) => {
        diagnostics.push(callDiagnostic('DeployedEndpoint', 'listing Vertex AI Endpoints to import', e));
        return [];
      }),
    unmanagedServices(gcp, ctx).catch((e: unknown) => {
      diagnostics.push(callDiagnostic('DeployedEndpoint', 'listing services to import', e));
      return [];
    }),
    listJobs(gcp)
      .then((jobs) => unmanagedJobs(jobs, gcp.settings, ctx.stack))
      .catch((e: unknown) => {
        diagnostics.push(callDiagnostic('Schedule', 'listing jobs to import', e));
        return [];
      }),
  ]);
  return { items: parts.flat(), diagnostics };
}

/** `<model>@<version>` -> artifact URI, of the versions of the listed models. */
function artifactsOf(models: readonly UnmanagedObject[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of models)
    for (const v of m.model?.versions ?? [])
      if (v.artifactUri) out.set(`${m.id}@${v.version}`, v.artifactUri);
  return out;
}

async function unmanagedModels(gcp: Gcp, ctx: ProviderContext): Promise<UnmanagedObject[]> {
  type Req = aiplatform.google.cloud.aiplatform.v1.IListModelsRequest & { pageToken?: string };
  const models = await listAll<Req, Model>(
    gcp.call,
    'aiplatform',
    'ListModels',
    { parent: parentOf(gcp.settings.project, gcp.settings.region), pageSize: 100 },
    (req, opts) => gcp.clients.models.listModels(req, opts) as Promise<[Model[], Req | null, unknown]>,
  );
  const out: UnmanagedObject[] = [];
  for (const m of models) {
    const id = (m.name ?? '').split('@')[0];
    // ListModels reports a model by its default version; mlform labels that one last on adoption.
    const owner = ownerOfLabels(m.labels);
    if (!id || !notOurs(owner, ctx.stack)) continue;
    const name = manifestName(m.displayName || lastSegment(id));
    if (owner) {
      out.push({ kind: 'RegisteredModel', id, name, owner, notes: [] });
      continue;
    }
    const versions = await listVersions(gcp, id);
    const aliases: Record<string, number> = {};
    const observed = versions.flatMap((v) => {
      const number = Number(v.versionId);
      if (!Number.isInteger(number) || number < 1) return [];
      for (const alias of v.versionAliases ?? []) if (alias !== DEFAULT_ALIAS) aliases[alias] = number;
      // A version mlform registered keeps its run and lineage; any other is an imported one.
      return [versionOf(v) ?? importedVersion(v, number)];
    });
    observed.sort((a, b) => a.version - b.version);
    const notes: string[] = [];
    const defaultVersion = versions.find((v) => (v.versionAliases ?? []).includes(DEFAULT_ALIAS))?.versionId;
    if (defaultVersion && Number(defaultVersion) !== observed.at(-1)?.version)
      notes.push(
        `Vertex's default version is v${defaultVersion}; mlform keeps it and moves it only when retention deletes that version`,
      );
    if (observed.some((v) => !v.artifactUri))
      notes.push('versions without an artifact URI cannot be served by a DeployedEndpoint');
    out.push({
      kind: 'RegisteredModel',
      id,
      name,
      model: { ...(m.description && { description: m.description }), versions: observed, aliases },
      notes,
    });
  }
  return out;
}

/** The artifact a revision serves: mlform's `MODEL_URI`, or Vertex's `AIP_STORAGE_URI`. */
function artifactOf(r: Awaited<ReturnType<typeof listRevisions>>[number] | undefined): string | undefined {
  const env = r?.containers?.[0]?.env ?? [];
  const value = (name: string) => env.find((e) => e.name === name)?.value ?? undefined;
  return value('MODEL_URI') || value('AIP_STORAGE_URI') || undefined;
}

async function unmanagedServices(gcp: Gcp, ctx: ProviderContext): Promise<UnmanagedObject[]> {
  const services = await listServices(gcp);
  const out: UnmanagedObject[] = [];
  for (const s of services) {
    const id = s.name ?? '';
    const owner = ownerOfLabels(s.labels);
    if (!id || !notOurs(owner, ctx.stack)) continue;
    const name = lastSegment(id);
    if (owner) {
      out.push({ kind: 'DeployedEndpoint', id, name, owner, notes: [] });
      continue;
    }
    const revisions = await listRevisions(gcp, id);
    const byName = new Map(revisions.map((r) => [lastSegment(r.name), r]));
    const statuses = s.trafficStatuses?.length ? s.trafficStatuses : (s.traffic ?? []);
    const traffic = statuses
      .filter((t) => (t.percent ?? 0) > 0)
      .map((t) => {
        const revision = lastSegment(t.revision || s.latestReadyRevision);
        const artifactUri = artifactOf(byName.get(revision));
        return { revision, percent: t.percent ?? 0, ...(artifactUri && { artifactUri }) };
      });
    const container = s.template?.containers?.[0];
    const own = container?.image !== undefined && container.image !== gcp.settings.servingImage;
    const port = container?.ports?.[0]?.containerPort ?? undefined;
    const env = (n: string) => container?.env?.find((e) => e.name === n)?.value || undefined;
    const healthPath = container?.startupProbe?.httpGet?.path || env('AIP_HEALTH_ROUTE');
    const predictPath = env('AIP_PREDICT_ROUTE');
    const ready = s.terminalCondition?.state === 'CONDITION_SUCCEEDED' || s.terminalCondition?.state === 1;
    const healthy = ready && !s.reconciling;
    const notes: string[] = [];
    if ((s.template?.containers?.length ?? 0) > 1)
      notes.push(
        'its sidecar containers: a DeployedEndpoint runs one container; the next revision mlform makes has none',
      );
    if (own && (container?.command?.length ?? 0) > 0)
      notes.push('its container command: a DeployedEndpoint on gcp sets args, not the command');
    if (s.ingress && s.ingress !== 'INGRESS_TRAFFIC_ALL' && s.ingress !== 1)
      notes.push(
        `its ingress setting (${String(s.ingress)}): mlform leaves it as it is and does not manage it`,
      );
    out.push({
      kind: 'DeployedEndpoint',
      id,
      name,
      endpoint: {
        traffic,
        live: liveOf(s, own) ?? {},
        ...(own && container?.image && { image: container.image }),
        ...(own && port !== undefined && { port }),
        ...(own && healthPath && { healthPath }),
        ...(own && predictPath && { predictPath }),
        healthy,
        ...(!healthy && { healthDetail: `Cloud Run: ${s.terminalCondition?.message || 'not ready'}` }),
        ...(s.uri && { url: s.uri }),
      },
      notes,
    });
  }
  return out;
}
