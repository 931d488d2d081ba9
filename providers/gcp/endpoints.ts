/**
 * DeployedEndpoints as Cloud Run v2 services (README.md "Endpoints"): the service is named after
 * the endpoint, each model version runs as its own revision `<service>-v<N>`, and traffic is split
 * by revision. A version takes traffic only once its revision is ready: a new revision is created
 * with the traffic kept where it was, its readiness awaited, and only then does traffic move.
 * Observation: one paged ListServices (the stack's services picked by label).
 */
import { createHash } from 'node:crypto';
import type { protos } from '@google-cloud/run';
import { deployedEndpointAddress } from '../../resources/address.js';
import { error, type Diagnostic } from '../../resources/diagnostic.js';
import type { DeployedEndpointSpec } from '../../resources/deployed-endpoint.js';
import {
  ownershipLabels,
  type ObservedEndpoint,
  type ObservedTraffic,
  type ProviderContext,
  type PutEndpointRequest,
  type Response,
} from '../provider.js';
import { awaitOperation, callDiagnostic, isKind, type Operation } from './call.js';
import { listAll, type Gcp } from './context.js';
import { sanitizeLabels } from './jobs.js';
import { LABEL, parentOf, revisionName } from './names.js';
import { notOwned, ownerOfLabels, sameOwner, type Owner } from './ownership.js';
import { observeGcpMonitoring } from './monitoring.js';
import { cloudRunEnv } from './secrets.js';
import { containerArgs, containerEnv } from '../serving-container.js';
import { MONITORING_ENV, serverMonitoring } from '../serving-monitoring.js';

export type Service = protos.google.cloud.run.v2.IService;
type Revision = protos.google.cloud.run.v2.IRevision;
type RevisionTemplate = protos.google.cloud.run.v2.IRevisionTemplate;

export const ANNOTATION = {
  specHash: 'mlform/spec-hash',
  spec: 'mlform/spec',
  annotations: 'mlform/annotations',
  /** An adopted service (`import:`): JSON `{revision: version}` of the revisions it was adopted with. */
  revisions: 'mlform/revisions',
} as const;

const REVISION_TYPE = 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION';
const CONFIG_LABEL = 'mlform-config';

const serviceName = (gcp: Gcp, name: string) =>
  `${parentOf(gcp.settings.project, gcp.settings.region)}/services/${name}`;

/**
 * Cloud Run service names are the endpoints' own names, per project and region (they are in the
 * service's URL, so they carry no stack): a service is ours only when its labels say this stack,
 * kind and name; another one is reported and never updated or deleted.
 */
const endpointOwner = (stack: string, name: string): Owner => ({ stack, kind: 'deployedendpoint', name });
const ownedService = (s: Service, stack: string, name: string) =>
  sameOwner(ownerOfLabels(s.labels), endpointOwner(stack, name));
const foreignService = (address: string, s: Service, stack: string, name: string) =>
  notOwned(
    address,
    `Cloud Run service ${s.name ?? name}`,
    ownerOfLabels(s.labels),
    endpointOwner(stack, name),
  );

/** The serving container's arguments for the spec's batching (deploy/serving/README.md). */
export function batchingArgs(spec: DeployedEndpointSpec): string[] {
  const b = spec.batching;
  return b.enabled
    ? ['--max-batch-size', String(b.maxBatchSize), '--batch-timeout-micros', String(b.batchTimeoutMicros)]
    : ['--no-batching'];
}

type Container = protos.google.cloud.run.v2.IContainer;

/**
 * The revision's container: mlform's model server, or the manifest's own image
 * (`spec.container.image`) with its port, health path, args and env (providers/serving-container.ts).
 * Cloud Run sets PORT itself from the container port, and rejects it as a variable.
 */
function servingContainer(
  gcp: Gcp,
  spec: DeployedEndpointSpec,
  version: number,
  artifactUri: string,
  monitoring: Container['env'],
): Container {
  const own = spec.container;
  const probe = (path: string) => ({
    httpGet: { path },
    periodSeconds: 2,
    failureThreshold: 60,
    timeoutSeconds: 1,
  });
  if (!own?.image) {
    return {
      image: gcp.settings.servingImage,
      args: batchingArgs(spec),
      env: [
        { name: 'MODEL_URI', value: artifactUri },
        { name: 'MODEL_NAME', value: spec.model },
        ...(monitoring ?? []),
      ],
      ports: [{ containerPort: 8080 }],
      startupProbe: probe('/v2/health/ready'),
    };
  }
  const values = { modelUri: artifactUri, modelName: spec.model, version, port: own.port };
  const { PORT: _port, ...reserved } = containerEnv(own, values);
  void _port;
  return {
    image: own.image,
    args: containerArgs(own, values),
    env: [
      ...Object.entries(reserved).map(([name, value]) => ({ name, value })),
      ...cloudRunEnv(own.env, gcp.settings.project),
    ],
    ports: [{ containerPort: own.port }],
    startupProbe: probe(own.healthPath),
  };
}

/**
 * `spec.monitoring` for mlform's server: the settings as JSON in MLFORM_SERVE_MONITORING, the root
 * the stack's `monitoring/<endpoint>` prefix in the bucket (the service account writes there).
 */
function monitoringEnv(
  gcp: Gcp,
  stack: string,
  req: Pick<PutEndpointRequest, 'name' | 'spec'>,
): Container['env'] {
  if (!req.spec.monitoring) return [];
  const root = gcp.layout(stack).monitoring(req.name);
  return [
    {
      name: MONITORING_ENV,
      value: JSON.stringify(serverMonitoring(req.name, req.spec.monitoring, root)),
    },
  ];
}

/** The revision template of one model version. */
export function revisionTemplate(
  gcp: Gcp,
  stack: string,
  req: Pick<PutEndpointRequest, 'name' | 'spec' | 'specHash' | 'labels'>,
  version: number,
  artifactUri: string,
): RevisionTemplate {
  const scaling = req.spec.scaling ?? { minInstances: 0, maxInstances: 2 };
  const resources = req.spec.resources ?? { memory: '2Gi', cpu: '1' };
  const { [LABEL.spec]: _spec, ...owner } = ownershipLabels(
    stack,
    'DeployedEndpoint',
    req.name,
    req.specHash,
  );
  void _spec;
  const template: RevisionTemplate = {
    // No spec hash here: an annotations-only change must not need a new revision.
    labels: { ...sanitizeLabels(req.labels), ...owner, [LABEL.version]: String(version) },
    scaling: { minInstanceCount: scaling.minInstances, maxInstanceCount: scaling.maxInstances },
    timeout: { seconds: req.spec.timeoutSeconds },
    serviceAccount: gcp.settings.serviceAccount,
    maxInstanceRequestConcurrency: 80,
    containers: [
      {
        ...servingContainer(gcp, req.spec, version, artifactUri, monitoringEnv(gcp, stack, req)),
        resources: { limits: { cpu: resources.cpu, memory: resources.memory } },
      },
    ],
  };
  const config = createHash('sha256').update(JSON.stringify(template)).digest('hex').slice(0, 12);
  return { ...template, labels: { ...template.labels, [CONFIG_LABEL]: config } };
}

/** The whole service body: the template of `latest`, traffic by revision. */
export function serviceBody(
  gcp: Gcp,
  stack: string,
  req: Pick<PutEndpointRequest, 'name' | 'spec' | 'specHash' | 'labels' | 'annotations'>,
  template: RevisionTemplate,
  traffic: { revision: string; percent: number }[],
): Service {
  return {
    labels: {
      ...sanitizeLabels(req.labels),
      ...ownershipLabels(stack, 'DeployedEndpoint', req.name, req.specHash),
    },
    annotations: {
      [ANNOTATION.specHash]: req.specHash,
      [ANNOTATION.spec]: JSON.stringify(req.spec),
      [ANNOTATION.annotations]: JSON.stringify(req.annotations),
    },
    template,
    traffic: traffic.map((t) => ({ type: REVISION_TYPE, revision: t.revision, percent: t.percent })),
  };
}

// ---- observation ---------------------------------------------------------------------------

/** `projects/.../revisions/mpg-api-v3-ab12cd` or `mpg-api-v3` -> 3 */
export function versionOfRevision(service: string, revision: string): number | undefined {
  const short = revision.split('/').pop() ?? '';
  if (!short.startsWith(`${service}-v`)) return undefined;
  const m = /^(\d+)(-[a-z0-9]+)?$/.exec(short.slice(service.length + 2));
  return m ? Number(m[1]) : undefined;
}

const conditionReady = (state: unknown) => state === 'CONDITION_SUCCEEDED' || state === 1;

function parseJson<T>(text: string | undefined): T | undefined {
  try {
    return text === undefined ? undefined : (JSON.parse(text) as T);
  } catch {
    return undefined;
  }
}

export function liveOf(service: Service, ownContainer: boolean): ObservedEndpoint['live'] {
  const t = service.template;
  const c = t?.containers?.[0];
  const args = c?.args ?? [];
  const arg = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? Number(args[i + 1]) : undefined;
  };
  const maxBatchSize = arg('--max-batch-size');
  const batchTimeoutMicros = arg('--batch-timeout-micros');
  const limits = c?.resources?.limits ?? {};
  return {
    ...(t?.scaling && {
      scaling: {
        minInstances: t.scaling.minInstanceCount ?? 0,
        maxInstances: t.scaling.maxInstanceCount ?? 100,
      },
    }),
    ...(limits.cpu !== undefined &&
      limits.memory !== undefined && {
        resources: {
          memory: limits.memory,
          cpu: limits.cpu as NonNullable<DeployedEndpointSpec['resources']>['cpu'],
        },
      }),
    // A container of the user's has no mlform batching to read back.
    ...(!ownContainer && {
      batching: args.includes('--no-batching')
        ? { enabled: false, maxBatchSize: 64, batchTimeoutMicros: 10_000 }
        : {
            enabled: true,
            maxBatchSize: maxBatchSize ?? 64,
            batchTimeoutMicros: batchTimeoutMicros ?? 10_000,
          },
    }),
    ...(t?.timeout?.seconds !== undefined &&
      t.timeout.seconds !== null && { timeoutSeconds: Number(String(t.timeout.seconds)) }),
  };
}

export function endpointOf(service: Service): { endpoint?: ObservedEndpoint; diagnostic?: Diagnostic } {
  const name = (service.name ?? '').split('/').pop() ?? '';
  const a = service.annotations ?? {};
  const spec = parseJson<DeployedEndpointSpec>(a[ANNOTATION.spec]);
  if (!spec || !a[ANNOTATION.specHash]) {
    return {
      diagnostic: error(
        'gcp-endpoint-record',
        `${deployedEndpointAddress(name)}: the service's mlform annotations are missing or damaged`,
        {
          address: deployedEndpointAddress(name),
          hint: 'apply the DeployedEndpoint manifest again to rewrite them',
        },
      ),
    };
  }
  const statuses = service.trafficStatuses?.length ? service.trafficStatuses : (service.traffic ?? []);
  const byVersion = new Map<number, number>();
  const adopted = parseJson<Record<string, unknown>>(a[ANNOTATION.revisions]) ?? {};
  for (const s of statuses) {
    const revision = s.revision || service.latestReadyRevision || '';
    const short = revision.split('/').pop() ?? '';
    const recorded = Object.hasOwn(adopted, short) ? adopted[short] : undefined;
    const version =
      versionOfRevision(name, revision) ??
      (typeof recorded === 'number' && Number.isInteger(recorded) && recorded > 0 ? recorded : undefined);
    if (version === undefined || !s.percent) continue;
    byVersion.set(version, (byVersion.get(version) ?? 0) + s.percent);
  }
  const traffic: ObservedTraffic[] = [...byVersion].map(([version, percent]) => ({ version, percent }));
  const cond = service.terminalCondition;
  const healthy = conditionReady(cond?.state) && !service.reconciling;
  return {
    endpoint: {
      name,
      specHash: a[ANNOTATION.specHash],
      spec,
      annotations: parseJson<Record<string, string>>(a[ANNOTATION.annotations]) ?? {},
      model: spec.model,
      traffic,
      ...(service.uri && { url: service.uri }),
      healthy,
      ...(!healthy && {
        healthDetail: service.reconciling
          ? 'the service is reconciling'
          : `Cloud Run: ${cond?.message || String(cond?.state ?? 'no Ready condition')}`,
      }),
      live: liveOf(service, spec.container?.image !== undefined),
    },
  };
}

/** Every Cloud Run service of the project and region (one paged ListServices). */
export async function listServices(gcp: Gcp): Promise<Service[]> {
  type Req = protos.google.cloud.run.v2.IListServicesRequest & { pageToken?: string };
  return listAll<Req, Service>(
    gcp.call,
    'run',
    'ListServices',
    { parent: parentOf(gcp.settings.project, gcp.settings.region), pageSize: 100 },
    (req, opts) => gcp.clients.services.listServices(req, opts) as Promise<[Service[], Req | null, unknown]>,
  );
}

export async function listEndpoints(
  gcp: Gcp,
  ctx: ProviderContext,
): Promise<Response & { items: ObservedEndpoint[] }> {
  try {
    const services = (await listServices(gcp)).filter((s) =>
      ownedService(s, ctx.stack, (s.name ?? '').split('/').pop() ?? ''),
    );
    const items: ObservedEndpoint[] = [];
    const diagnostics: Diagnostic[] = [];
    for (const s of services) {
      const { endpoint, diagnostic } = endpointOf(s);
      if (endpoint) items.push(await withMonitoring(gcp, ctx, s, endpoint));
      if (diagnostic) diagnostics.push(diagnostic);
    }
    return { items, diagnostics };
  } catch (e) {
    return { items: [], diagnostics: [callDiagnostic('DeployedEndpoint', 'listing endpoints', e)] };
  }
}

/** A monitored endpoint's drift and live quality (monitoring.ts); others cost no call. */
async function withMonitoring(
  gcp: Gcp,
  ctx: ProviderContext,
  service: Service,
  endpoint: ObservedEndpoint,
): Promise<ObservedEndpoint> {
  const settings = endpoint.spec.monitoring;
  if (!settings) return endpoint;
  const monitoring = await observeGcpMonitoring(
    gcp,
    gcp.layout(ctx.stack).monitoring(endpoint.name),
    settings,
    service,
    endpoint.traffic.map((t) => t.version),
    () => listRevisions(gcp, service.name ?? ''),
    new Date(),
  );
  return { ...endpoint, monitoring };
}

// ---- put -----------------------------------------------------------------------------------

async function getService(gcp: Gcp, name: string): Promise<Service | undefined> {
  try {
    const [service] = await gcp.call('run', 'GetService', (opts) =>
      gcp.clients.services.getService({ name }, opts),
    );
    return service;
  } catch (e) {
    if (isKind(e, 'not-found')) return undefined;
    throw e;
  }
}

export async function listRevisions(gcp: Gcp, service: string): Promise<Revision[]> {
  type Req = protos.google.cloud.run.v2.IListRevisionsRequest & { pageToken?: string };
  return listAll<Req, Revision>(
    gcp.call,
    'run',
    'ListRevisions',
    { parent: service, pageSize: 100 },
    (req, opts) =>
      gcp.clients.revisions.listRevisions(req, opts) as Promise<[Revision[], Req | null, unknown]>,
  );
}

function revisionReady(r: Revision): boolean | 'failed' {
  const ready = (r.conditions ?? []).find((c) => c.type === 'Ready');
  if (ready && (ready.state === 'CONDITION_FAILED' || ready.state === 2)) return 'failed';
  return !r.reconciling && (ready ? conditionReady(ready.state) : true);
}

async function waitRevisionReady(gcp: Gcp, ctx: ProviderContext, name: string): Promise<void> {
  const deadline = Date.now() + gcp.settings.revisionReadyTimeoutMs;
  for (;;) {
    const [revision] = await gcp.call('run', 'GetRevision', (opts) =>
      gcp.clients.revisions.getRevision({ name }, opts),
    );
    const ready = revisionReady(revision);
    if (ready === 'failed') {
      const message = (revision.conditions ?? []).find((c) => c.type === 'Ready')?.message ?? 'not ready';
      throw new Error(`revision ${name.split('/').pop()} failed: ${message}`);
    }
    if (ready) return;
    if (Date.now() > deadline)
      throw new Error(
        `revision ${name.split('/').pop()} not ready after ${gcp.settings.revisionReadyTimeoutMs} ms`,
      );
    await gcp.call.policy.sleep(gcp.settings.pollMs, ctx.signal);
  }
}

async function writeService(gcp: Gcp, name: string, body: Service, exists: boolean): Promise<Service> {
  const service = { ...body, name };
  if (exists) {
    const [op] = await gcp.call('run', 'UpdateService', (opts) =>
      gcp.clients.services.updateService({ service }, opts),
    );
    return awaitOperation(gcp.call, 'run', 'UpdateService', op, (n) =>
      gcp.clients.services.checkUpdateServiceProgress(n),
    );
  }
  const parent = name.slice(0, name.indexOf('/services/'));
  const serviceId = name.split('/').pop() ?? '';
  let op: Operation<Service>;
  try {
    [op] = await gcp.call('run', 'CreateService', (opts) =>
      gcp.clients.services.createService({ parent, serviceId, service: body }, opts),
    );
  } catch (e) {
    // A retried create whose first attempt landed (its response lost): the service is ours if it
    // carries our stack label; an update with the same body then waits for it as a create would.
    if (!isKind(e, 'already-exists')) throw e;
    const existing = await getService(gcp, name);
    const owner = ownerOfLabels(body.labels);
    if (!existing || !owner || !sameOwner(ownerOfLabels(existing.labels), owner)) throw e;
    return writeService(gcp, name, body, true);
  }
  return awaitOperation(gcp.call, 'run', 'CreateService', op, (n) =>
    gcp.clients.services.checkCreateServiceProgress(n),
  );
}

/** Merge entries resolving to one version (their percents added). */
function mergeTraffic(traffic: PutEndpointRequest['traffic']) {
  const out = new Map<number, { version: number; percent: number; artifactUri: string }>();
  for (const t of traffic) {
    const e = out.get(t.version);
    if (e) e.percent += t.percent;
    else out.set(t.version, { ...t });
  }
  return [...out.values()];
}

export async function putEndpoint(
  gcp: Gcp,
  ctx: ProviderContext,
  req: PutEndpointRequest,
): Promise<Response & { endpoint?: ObservedEndpoint }> {
  const address = deployedEndpointAddress(req.name);
  const name = serviceName(gcp, req.name);
  try {
    let current = await getService(gcp, name);
    if (current && !ownedService(current, ctx.stack, req.name))
      return { diagnostics: [foreignService(address, current, ctx.stack, req.name)] };
    const traffic = mergeTraffic(req.traffic);
    const revisions = current ? await listRevisions(gcp, name) : [];
    const byName = new Map(revisions.map((r) => [(r.name ?? '').split('/').pop() ?? '', r]));
    // Each version's revision: an existing one with the same config, or a new one.
    const plan: {
      version: number;
      percent: number;
      revision: string;
      /** To create. */
      template?: RevisionTemplate;
      /** The template of an existing revision with this very configuration. */
      existing?: RevisionTemplate;
    }[] = [];
    for (const t of traffic) {
      const template = revisionTemplate(gcp, ctx.stack, req, t.version, t.artifactUri);
      const config = template.labels?.[CONFIG_LABEL];
      const same = revisions.find(
        (r) =>
          r.labels?.[CONFIG_LABEL] === config &&
          versionOfRevision(req.name, r.name ?? '') === t.version &&
          revisionReady(r) !== 'failed',
      );
      if (same) {
        const revision = (same.name ?? '').split('/').pop() ?? '';
        // Still starting (an apply stopped while waiting for it): wait for it rather than add a
        // second revision of the same version and configuration.
        if (revisionReady(same) !== true) await waitRevisionReady(gcp, ctx, `${name}/revisions/${revision}`);
        plan.push({ version: t.version, percent: t.percent, revision, existing: { ...template, revision } });
        continue;
      }
      const base = revisionName(req.name, t.version);
      const revision = byName.has(base) ? `${base}-${config?.slice(0, 6)}` : base;
      plan.push({ version: t.version, percent: t.percent, revision, template: { ...template, revision } });
    }

    // Keep traffic where it is while new revisions start.
    const keep = (s: Service | undefined) =>
      (s?.trafficStatuses?.length ? s.trafficStatuses : (s?.traffic ?? []))
        .filter((t) => (t.percent ?? 0) > 0)
        .map((t) => ({
          revision: (t.revision || s?.latestReadyRevision || '').split('/').pop() ?? '',
          percent: t.percent ?? 0,
        }))
        .filter((t) => t.revision !== '');
    for (const p of plan.filter((x) => x.template)) {
      const template = p.template as RevisionTemplate;
      const held = keep(current);
      const body = serviceBody(
        gcp,
        ctx.stack,
        // The record keeps the previous spec hash until traffic has moved.
        current ? { ...req, specHash: current.annotations?.[ANNOTATION.specHash] ?? req.specHash } : req,
        template,
        // A new service has nothing to keep: its first revision takes all traffic (nothing to protect).
        held.length > 0 ? held : [{ revision: p.revision, percent: 100 }],
      );
      if (current)
        body.annotations = {
          ...current.annotations,
          ...body.annotations,
          [ANNOTATION.specHash]: current.annotations?.[ANNOTATION.specHash] ?? req.specHash,
        };
      ctx.log?.(`${address}: starting revision ${p.revision} (v${p.version})`);
      current = await writeService(gcp, name, body, current !== undefined);
      await waitRevisionReady(gcp, ctx, `${name}/revisions/${p.revision}`);
    }

    // All revisions ready: move traffic, record the spec. The template names a revision that exists
    // with that very configuration (the last one created, else the live one), so no revision is added.
    const created = plan.filter((p) => p.template).at(-1)?.template;
    const liveRevision = current?.template?.revision;
    const lastTemplate =
      created ??
      plan.find((p) => p.revision === liveRevision)?.existing ??
      plan.find((p) => p.existing)?.existing ??
      revisionTemplate(gcp, ctx.stack, req, traffic[0].version, traffic[0].artifactUri);
    const body = serviceBody(
      gcp,
      ctx.stack,
      req,
      lastTemplate,
      plan.map((p) => ({ revision: p.revision, percent: p.percent })),
    );
    current = await writeService(gcp, name, body, current !== undefined);
    const fresh = (await getService(gcp, name)) ?? current;
    const { endpoint, diagnostic } = endpointOf(fresh);
    return { ...(endpoint && { endpoint }), diagnostics: diagnostic ? [diagnostic] : [] };
  } catch (e) {
    return { diagnostics: [callDiagnostic(address, `deploying ${req.name}`, e)] };
  }
}

export async function deleteEndpoint(
  gcp: Gcp,
  ctx: ProviderContext,
  req: { name: string },
): Promise<Response> {
  const address = deployedEndpointAddress(req.name);
  const name = serviceName(gcp, req.name);
  try {
    const current = await getService(gcp, name);
    if (!current) return { diagnostics: [] };
    if (!ownedService(current, ctx.stack, req.name))
      return { diagnostics: [foreignService(address, current, ctx.stack, req.name)] };
    const [op] = await gcp.call('run', 'DeleteService', (opts) =>
      gcp.clients.services.deleteService({ name }, opts),
    );
    await awaitOperation(gcp.call, 'run', 'DeleteService', op, (n) =>
      gcp.clients.services.checkDeleteServiceProgress(n),
    );
    return { diagnostics: [] };
  } catch (e) {
    if (isKind(e, 'not-found')) return { diagnostics: [] };
    return { diagnostics: [callDiagnostic(address, `deleting ${req.name}`, e)] };
  }
}
