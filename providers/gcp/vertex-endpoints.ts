/**
 * DeployedEndpoints with `platform: vertexEndpoint` as Vertex AI Endpoints (README.md "Vertex AI
 * Endpoints"): one endpoint per DeployedEndpoint (id `vertexEndpointId`, ownership labels, the
 * applied spec in its description), one DeployedModel per served version (the version's Vertex
 * model version, on the spec's machine, min and max replicas), traffic split natively by deployed
 * model id. A version takes traffic only once its DeployModel operation succeeded: a new deployed
 * model is added with the split kept as it is, and only then does UpdateEndpoint move traffic;
 * deployed models that left the split are undeployed last. Replica changes are made in place
 * (MutateDeployedModel); a machine change deploys the version again.
 * Observation: one paged ListEndpoints filtered by the stack's label.
 */
import { createHash } from 'node:crypto';
import type { protos } from '@google-cloud/aiplatform';
import { deployedEndpointAddress } from '../../resources/address.js';
import { error, type Diagnostic } from '../../resources/diagnostic.js';
import type { DeployedEndpointSpec } from '../../resources/deployed-endpoint.js';
import type { AcceleratorType } from '../../resources/training-run.js';
import type {
  ObservedEndpoint,
  ObservedTraffic,
  ProviderContext,
  PutEndpointRequest,
  Response,
} from '../provider.js';
import { ownershipLabels } from '../provider.js';
import { awaitOperation, callDiagnostic, isKind, type GaxCallOptions, type Operation } from './call.js';
import { listAll, type Gcp } from './context.js';
import { sanitizeLabels } from './jobs.js';
import { readAdoptedModel, readAdoptedObject, removeAdoptedObject } from './import-records.js';
import { modelResourceName } from './models.js';
import { fitName, LABEL, parentOf, qualifiedName } from './names.js';
import { notOwned, ownerOfLabels, sameOwner, type Owner } from './ownership.js';

export type VertexEndpoint = protos.google.cloud.aiplatform.v1.IEndpoint;
type DeployedModel = protos.google.cloud.aiplatform.v1.IDeployedModel;
type MachineSpec = protos.google.cloud.aiplatform.v1.IMachineSpec;
type Machine = NonNullable<DeployedEndpointSpec['machine']>;

/** The description holds the applied spec (an Endpoint has labels but no annotations). */
const RECORD_PREFIX = 'mlform DeployedEndpoint record: ';
export interface EndpointRecord {
  specHash: string;
  spec: DeployedEndpointSpec;
  annotations: Record<string, string>;
}

/**
 * The endpoint id: `[a-z0-9-]`, a letter first, at most 63. Stack and name are DNS labels, so
 * `mlform-<stack>-<name>` alone could name two pairs (`a`+`b-c`, `a-b`+`c`); the hash of the pair
 * tells them apart.
 */
export function vertexEndpointId(stack: string, name: string): string {
  const hash = createHash('sha256').update(`${stack}/${name}`).digest('hex').slice(0, 6);
  return `${fitName(`mlform-${stack}-${name}`, 63 - 7).replace(/-+$/, '')}-${hash}`;
}

const endpointName = (gcp: Gcp, stack: string, name: string) =>
  `${parentOf(gcp.settings.project, gcp.settings.region)}/endpoints/${vertexEndpointId(stack, name)}`;

const endpointOwner = (stack: string, name: string): Owner => ({ stack, kind: 'deployedendpoint', name });
const owned = (e: VertexEndpoint, stack: string, name: string) =>
  sameOwner(ownerOfLabels(e.labels), endpointOwner(stack, name));
const foreign = (address: string, e: VertexEndpoint, stack: string, name: string) =>
  notOwned(
    address,
    `Vertex AI Endpoint ${e.name ?? name}`,
    ownerOfLabels(e.labels),
    endpointOwner(stack, name),
  );

/** The REST URL clients predict at (`POST` with `{"instances": [...]}` and a Google access token). */
export const predictUrl = (region: string, name: string) =>
  `https://${region}-aiplatform.googleapis.com/v1/${name}:predict`;

function machineSpecOf(machine: Machine): MachineSpec {
  return {
    machineType: machine.machineType,
    ...(machine.accelerator && {
      acceleratorType: machine.accelerator.type,
      acceleratorCount: machine.accelerator.count,
    }),
  };
}

/** The spec's machine as Vertex reports it back (enum names; no accelerator: count 0). */
export function machineOf(spec: MachineSpec | null | undefined): Machine | undefined {
  if (!spec?.machineType) return undefined;
  const type = spec.acceleratorType;
  const count = Number(spec.acceleratorCount ?? 0);
  const named = typeof type === 'string' && type !== 'ACCELERATOR_TYPE_UNSPECIFIED' ? type : undefined;
  return {
    machineType: spec.machineType,
    ...(named && count > 0 && { accelerator: { type: named as AcceleratorType, count } }),
  };
}

const sameMachine = (a: Machine | undefined, b: Machine | undefined) =>
  JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

const scalingOf = (spec: DeployedEndpointSpec) => spec.scaling ?? { minInstances: 1, maxInstances: 1 };
const machineOfSpec = (spec: DeployedEndpointSpec): Machine =>
  spec.machine ?? { machineType: 'n1-standard-2' };

// ---- observation ---------------------------------------------------------------------------

function recordOf(e: VertexEndpoint): EndpointRecord | undefined {
  const text = e.description ?? '';
  if (!text.startsWith(RECORD_PREFIX)) return undefined;
  try {
    const r = JSON.parse(text.slice(RECORD_PREFIX.length)) as Partial<EndpointRecord>;
    return typeof r.specHash === 'string' && r.spec && typeof r.spec === 'object'
      ? { specHash: r.specHash, spec: r.spec, annotations: r.annotations ?? {} }
      : undefined;
  } catch {
    return undefined;
  }
}

const versionOf = (d: DeployedModel): number | undefined => {
  const v = Number(d.modelVersionId);
  return Number.isInteger(v) && v > 0 ? v : undefined;
};

/** The deployed models that take traffic, with their share. */
export function splitOf(e: VertexEndpoint): { deployed: DeployedModel; percent: number }[] {
  const byId = new Map((e.deployedModels ?? []).map((d) => [d.id ?? '', d]));
  return Object.entries(e.trafficSplit ?? {}).flatMap(([id, percent]) => {
    const deployed = byId.get(id);
    return deployed && Number(percent) > 0 ? [{ deployed, percent: Number(percent) }] : [];
  });
}

/** The endpoint as mlform observes it; `name` is the DeployedEndpoint's (from its labels). */
export function vertexEndpointOf(
  e: VertexEndpoint,
  region: string,
): { endpoint?: ObservedEndpoint; diagnostic?: Diagnostic } {
  const name = e.labels?.[LABEL.name] ?? '';
  const record = recordOf(e);
  if (!record) {
    return {
      diagnostic: error(
        'gcp-endpoint-record',
        `${deployedEndpointAddress(name)}: the Vertex AI Endpoint's mlform record (its description) is missing or damaged`,
        {
          address: deployedEndpointAddress(name),
          hint: 'apply the DeployedEndpoint manifest again to rewrite it',
        },
      ),
    };
  }
  const split = splitOf(e);
  const byVersion = new Map<number, number>();
  for (const { deployed, percent } of split) {
    const version = versionOf(deployed);
    if (version !== undefined) byVersion.set(version, (byVersion.get(version) ?? 0) + percent);
  }
  const traffic: ObservedTraffic[] = [...byVersion].map(([version, percent]) => ({ version, percent }));
  const total = split.reduce((t, s) => t + s.percent, 0);
  const healthy = split.length > 0 && total === 100;
  // Live settings: of the deployed models taking traffic, the first that differs from the record
  // (a replica count changed by hand on one of them is drift), else the first.
  const wanted = { scaling: scalingOf(record.spec), machine: machineOfSpec(record.spec) };
  const lives = split.map(({ deployed }) => ({
    scaling: {
      minInstances: Number(deployed.dedicatedResources?.minReplicaCount ?? 1),
      maxInstances: Number(
        deployed.dedicatedResources?.maxReplicaCount || deployed.dedicatedResources?.minReplicaCount || 1,
      ),
    },
    machine: machineOf(deployed.dedicatedResources?.machineSpec),
  }));
  const live =
    lives.find(
      (l) =>
        JSON.stringify(l.scaling) !== JSON.stringify(wanted.scaling) ||
        !sameMachine(l.machine, wanted.machine),
    ) ?? lives[0];
  return {
    endpoint: {
      name,
      specHash: record.specHash,
      spec: record.spec,
      annotations: record.annotations,
      model: record.spec.model,
      traffic,
      ...(e.name && { url: predictUrl(region, e.name) }),
      healthy,
      ...(!healthy && {
        healthDetail:
          split.length === 0
            ? 'the Vertex AI Endpoint serves no deployed model'
            : `the Vertex AI Endpoint's traffic split adds up to ${total}%`,
      }),
      ...(live && { live: { scaling: live.scaling, ...(live.machine && { machine: live.machine }) } }),
    },
  };
}

/** The endpoints of the project and region labelled as `stack`'s; without `stack`, every one (import). */
export async function listVertex(gcp: Gcp, stack?: string): Promise<VertexEndpoint[]> {
  type Req = protos.google.cloud.aiplatform.v1.IListEndpointsRequest & { pageToken?: string };
  return listAll<Req, VertexEndpoint>(
    gcp.call,
    'aiplatform',
    'ListEndpoints',
    {
      parent: parentOf(gcp.settings.project, gcp.settings.region),
      ...(stack !== undefined && {
        filter: `labels.${LABEL.stack}="${stack}" AND labels.${LABEL.kind}="deployedendpoint"`,
      }),
      pageSize: 100,
    },
    (req, opts) =>
      gcp.clients.endpoints.listEndpoints(req, opts) as Promise<[VertexEndpoint[], Req | null, unknown]>,
  );
}

export async function listVertexEndpoints(
  gcp: Gcp,
  ctx: ProviderContext,
): Promise<Response & { items: ObservedEndpoint[] }> {
  try {
    const items: ObservedEndpoint[] = [];
    const diagnostics: Diagnostic[] = [];
    for (const e of await listVertex(gcp, ctx.stack)) {
      if (!owned(e, ctx.stack, e.labels?.[LABEL.name] ?? '')) continue;
      const { endpoint, diagnostic } = vertexEndpointOf(e, gcp.settings.region);
      if (endpoint) items.push(endpoint);
      if (diagnostic) diagnostics.push(diagnostic);
    }
    return { items, diagnostics };
  } catch (e) {
    return {
      items: [],
      diagnostics: [callDiagnostic('DeployedEndpoint', 'listing Vertex AI Endpoints', e)],
    };
  }
}

// ---- put -----------------------------------------------------------------------------------

/** GetEndpoint; undefined when there is none. */
export const getVertex = (gcp: Gcp, name: string): Promise<VertexEndpoint | undefined> =>
  gcp
    .call('aiplatform', 'GetEndpoint', (opts) => gcp.clients.endpoints.getEndpoint({ name }, opts))
    .then(
      ([endpoint]) => endpoint,
      (e: unknown) => {
        if (isKind(e, 'not-found')) return undefined;
        throw e;
      },
    );

/**
 * The endpoint of DeployedEndpoint `name`: under its derived id, else one adopted under the id it
 * was made with (README.md "Importing existing objects"; its record is read only when the derived
 * id holds nothing). `name` is the resource to use.
 */
async function findVertex(
  gcp: Gcp,
  stack: string,
  name: string,
): Promise<{ name: string; endpoint?: VertexEndpoint }> {
  const derived = endpointName(gcp, stack, name);
  const current = await getVertex(gcp, derived);
  if (current) return { name: derived, endpoint: current };
  const resource = await readAdoptedObject(gcp, stack, 'endpoints', name);
  const adopted = resource ? await getVertex(gcp, resource) : undefined;
  return resource && adopted && owned(adopted, stack, name)
    ? { name: resource, endpoint: adopted }
    : { name: derived };
}

type EndpointClient = Gcp['clients']['endpoints'];
type LongRunning =
  'CreateEndpoint' | 'DeployModel' | 'UndeployModel' | 'MutateDeployedModel' | 'DeleteEndpoint';
/** The operation check of each long-running RPC (gax polls GetOperation through it). */
const CHECK: Record<LongRunning, (c: EndpointClient, name: string) => Promise<unknown>> = {
  CreateEndpoint: (c, n) => c.checkCreateEndpointProgress(n),
  DeployModel: (c, n) => c.checkDeployModelProgress(n),
  UndeployModel: (c, n) => c.checkUndeployModelProgress(n),
  MutateDeployedModel: (c, n) => c.checkMutateDeployedModelProgress(n),
  DeleteEndpoint: (c, n) => c.checkDeleteEndpointProgress(n),
};

/** Starts a long-running EndpointService RPC and awaits its operation; its result. */
async function operation<T>(
  gcp: Gcp,
  ctx: ProviderContext,
  rpc: LongRunning,
  start: (c: EndpointClient, opts: GaxCallOptions) => Promise<unknown>,
): Promise<T> {
  const [op] = (await gcp.call('aiplatform', rpc, (opts) => start(gcp.clients.endpoints, opts))) as [
    Operation<T>,
  ];
  return awaitOperation(
    gcp.call,
    'aiplatform',
    rpc,
    op,
    (n) => CHECK[rpc](gcp.clients.endpoints, n) as Promise<Operation<T>>,
    ctx.signal,
  );
}

/** The description that records the applied spec (what observation reads back). */
export const recordDescription = (record: EndpointRecord): string =>
  `${RECORD_PREFIX}${JSON.stringify(record)}`;

function endpointBody(
  stack: string,
  req: Pick<PutEndpointRequest, 'name' | 'spec' | 'specHash' | 'labels' | 'annotations'>,
): VertexEndpoint {
  const record: EndpointRecord = { specHash: req.specHash, spec: req.spec, annotations: req.annotations };
  return {
    displayName: qualifiedName(stack, req.name),
    description: recordDescription(record),
    labels: {
      ...sanitizeLabels(req.labels),
      ...ownershipLabels(stack, 'DeployedEndpoint', req.name, req.specHash),
    },
  };
}

async function createVertex(gcp: Gcp, ctx: ProviderContext, name: string, body: VertexEndpoint) {
  const parent = name.slice(0, name.indexOf('/endpoints/'));
  const endpointId = name.split('/').pop() ?? '';
  try {
    await operation<VertexEndpoint>(gcp, ctx, 'CreateEndpoint', (c, opts) =>
      c.createEndpoint({ parent, endpointId, endpoint: body }, opts),
    );
  } catch (e) {
    // A retried create whose first attempt landed: ours if it carries our labels.
    if (!isKind(e, 'already-exists')) throw e;
    const existing = await getVertex(gcp, name);
    const owner = ownerOfLabels(body.labels);
    if (existing && owner && sameOwner(ownerOfLabels(existing.labels), owner)) return existing;
    throw e;
  }
  return (await getVertex(gcp, name)) ?? { ...body, name };
}

/** Deploys one version with the split kept as it is (the new deployed model takes no traffic yet). */
async function deployVersion(
  gcp: Gcp,
  ctx: ProviderContext,
  endpoint: string,
  req: PutEndpointRequest,
  version: number,
  keep: Record<string, number>,
): Promise<string> {
  const scaling = scalingOf(req.spec);
  const deployedModel: DeployedModel = {
    // An adopted model keeps the id it was made with.
    model:
      (await readAdoptedModel(gcp, ctx.stack, req.spec.model)) ??
      modelResourceName(gcp, ctx.stack, req.spec.model),
    modelVersionId: String(version),
    displayName: fitName(`${req.name}-v${version}`, 128),
    ...(gcp.settings.serviceAccount && { serviceAccount: gcp.settings.serviceAccount }),
    dedicatedResources: {
      machineSpec: machineSpecOf(machineOfSpec(req.spec)),
      minReplicaCount: scaling.minInstances,
      maxReplicaCount: scaling.maxInstances,
    },
  };
  const done = await operation<protos.google.cloud.aiplatform.v1.IDeployModelResponse>(
    gcp,
    ctx,
    'DeployModel',
    (c, opts) => c.deployModel({ endpoint, deployedModel, trafficSplit: keep }, opts),
  );
  const id = done.deployedModel?.id;
  if (!id) throw new Error(`DeployModel of v${version} returned no deployed model id`);
  return id;
}

async function mutateReplicas(
  gcp: Gcp,
  ctx: ProviderContext,
  endpoint: string,
  d: DeployedModel,
  spec: DeployedEndpointSpec,
) {
  const scaling = scalingOf(spec);
  await operation(gcp, ctx, 'MutateDeployedModel', (c, opts) =>
    c.mutateDeployedModel(
      {
        endpoint,
        deployedModel: {
          id: d.id,
          dedicatedResources: {
            minReplicaCount: scaling.minInstances,
            maxReplicaCount: scaling.maxInstances,
          },
        },
        updateMask: {
          paths: ['dedicated_resources.min_replica_count', 'dedicated_resources.max_replica_count'],
        },
      },
      opts,
    ),
  );
}

async function undeploy(
  gcp: Gcp,
  ctx: ProviderContext,
  endpoint: string,
  deployedModelId: string,
  trafficSplit: Record<string, number>,
) {
  await operation(gcp, ctx, 'UndeployModel', (c, opts) =>
    c.undeployModel({ endpoint, deployedModelId, trafficSplit }, opts),
  );
}

const liveSplit = (e: VertexEndpoint): Record<string, number> =>
  Object.fromEntries(splitOf(e).map(({ deployed, percent }) => [deployed.id ?? '', percent]));

type Put = (
  gcp: Gcp,
  ctx: ProviderContext,
  req: PutEndpointRequest,
) => Promise<Response & { endpoint?: ObservedEndpoint }>;

export const putVertexEndpoint: Put = async (gcp, ctx, req) => {
  const address = deployedEndpointAddress(req.name);
  try {
    const found = await findVertex(gcp, ctx.stack, req.name);
    const name = found.name;
    let current = found.endpoint;
    if (current && !owned(current, ctx.stack, req.name))
      return { diagnostics: [foreign(address, current, ctx.stack, req.name)] };
    // A new endpoint records the spec at once; its traffic is empty until a version is deployed.
    current ??= await createVertex(gcp, ctx, name, endpointBody(ctx.stack, req));
    const machine = machineOfSpec(req.spec);
    const scaling = scalingOf(req.spec);
    const split: Record<string, number> = {};
    for (const t of mergeTraffic(req.traffic)) {
      // A deployed model of this version on this machine (one taking traffic first) is kept.
      const candidates = (current.deployedModels ?? []).filter(
        (d) =>
          versionOf(d) === t.version && sameMachine(machineOf(d.dedicatedResources?.machineSpec), machine),
      );
      const live = liveSplit(current);
      const found = candidates.find((d) => (live[d.id ?? ''] ?? 0) > 0) ?? candidates[0];
      let id = found?.id ?? undefined;
      if (found && id) {
        const r = found.dedicatedResources;
        if (
          Number(r?.minReplicaCount) !== scaling.minInstances ||
          Number(r?.maxReplicaCount) !== scaling.maxInstances
        ) {
          ctx.log?.(
            `${address}: replicas of v${t.version} to ${scaling.minInstances}-${scaling.maxInstances}`,
          );
          await mutateReplicas(gcp, ctx, name, found, req.spec);
        }
      } else {
        ctx.log?.(`${address}: deploying v${t.version} on ${machine.machineType}`);
        id = await deployVersion(gcp, ctx, name, req, t.version, live);
        current = (await getVertex(gcp, name)) ?? current;
      }
      split[id] = (split[id] ?? 0) + t.percent;
    }
    // Every version deployed: move traffic and record the spec in one UpdateEndpoint.
    const body = endpointBody(ctx.stack, req);
    await gcp.call('aiplatform', 'UpdateEndpoint', (opts) =>
      gcp.clients.endpoints.updateEndpoint(
        {
          endpoint: { ...body, name, trafficSplit: split },
          updateMask: { paths: ['traffic_split', 'labels', 'description', 'display_name'] },
        },
        opts,
      ),
    );
    // Deployed models that left the split cost replicas: undeployed (they take no traffic now).
    for (const d of current.deployedModels ?? []) {
      if (d.id && split[d.id] === undefined) {
        ctx.log?.(`${address}: undeploying v${d.modelVersionId ?? '?'} (${d.id})`);
        await undeploy(gcp, ctx, name, d.id, split);
      }
    }
    const fresh = (await getVertex(gcp, name)) ?? current;
    const { endpoint, diagnostic } = vertexEndpointOf(fresh, gcp.settings.region);
    return { ...(endpoint && { endpoint }), diagnostics: diagnostic ? [diagnostic] : [] };
  } catch (e) {
    return { diagnostics: [callDiagnostic(address, `deploying ${req.name} on Vertex AI`, e)] };
  }
};

function mergeTraffic(traffic: PutEndpointRequest['traffic']) {
  const out = new Map<number, number>();
  for (const t of traffic) out.set(t.version, (out.get(t.version) ?? 0) + t.percent);
  return [...out].map(([version, percent]) => ({ version, percent }));
}

export async function deleteVertexEndpoint(
  gcp: Gcp,
  ctx: ProviderContext,
  req: { name: string },
): Promise<Response> {
  const address = deployedEndpointAddress(req.name);
  try {
    const { name, endpoint: current } = await findVertex(gcp, ctx.stack, req.name);
    if (!current) return { diagnostics: [] };
    if (!owned(current, ctx.stack, req.name))
      return { diagnostics: [foreign(address, current, ctx.stack, req.name)] };
    // Vertex deletes only an endpoint without deployed models, and undeploys only a model without
    // traffic: each undeploy hands the traffic to one that stays, the last empties the split.
    const deployed = (current.deployedModels ?? []).filter((d) => d.id);
    for (const [i, d] of deployed.entries()) {
      const next = deployed[i + 1]?.id;
      await undeploy(gcp, ctx, name, d.id ?? '', next ? { [next]: 100 } : {});
    }
    await operation(gcp, ctx, 'DeleteEndpoint', (c, opts) => c.deleteEndpoint({ name }, opts));
    if (name !== endpointName(gcp, ctx.stack, req.name))
      await removeAdoptedObject(gcp, ctx.stack, 'endpoints', req.name);
    return { diagnostics: [] };
  } catch (e) {
    if (isKind(e, 'not-found')) return { diagnostics: [] };
    return { diagnostics: [callDiagnostic(address, `deleting ${req.name} from Vertex AI`, e)] };
  }
}
