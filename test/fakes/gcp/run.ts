/** Cloud Run Admin v2: services (LRO create/update/delete) and their revisions. */
import { createHash, randomUUID } from 'node:crypto';
import type { FakeEnv } from './env.js';
import { opDelay } from './env.js';
import { ApiError, arr, deepClone, notFound, nowIso, rec, str, type HandlerContext } from './http.js';
import { page } from './list.js';
import { PL, SEG, type Route } from './router.js';

const SERVICE = 'google.cloud.run.v2.Service';
const REVISION = 'google.cloud.run.v2.Revision';
const SERVICE_ID_RE = /^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$/;

/** Fields a client may set on a Service; everything else is server-set. */
const USER_FIELDS = [
  'description',
  'labels',
  'annotations',
  'client',
  'clientVersion',
  'ingress',
  'launchStage',
  'binaryAuthorization',
  'template',
  'traffic',
  'scaling',
  'invokerIamDisabled',
  'defaultUriDisabled',
  'customAudiences',
  'buildConfig',
];

interface RevisionRecord {
  resource: Record<string, unknown>;
  templateKey: string;
  readyAt: number;
  failMessage?: string;
}

interface ServiceRecord {
  resource: Record<string, unknown>;
  generation: number;
  revisionCounter: number;
}

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * proto3 semantics: a default value (0, "", false, an empty list or map, an `*_UNSPECIFIED` enum)
 * is the same as an absent field, and an int64 travels as a string. A template read back with
 * GetService and sent again (a client that only changes labels) is the same configuration.
 */
function protoNormal(v: unknown): unknown {
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.map(protoNormal);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const n = protoNormal(x);
      if (n !== undefined) out[k] = n;
    }
    return Object.keys(out).length === 0 ? undefined : out;
  }
  if (v === null || v === 0 || v === '' || v === false || v === '0') return undefined;
  if (typeof v === 'string' && v.endsWith('_UNSPECIFIED')) return undefined;
  if (typeof v === 'string' && /^[1-9][0-9]{0,15}$/.test(v)) return Number(v);
  return v;
}

/** The part of a template that makes a revision (the revision name itself excluded). */
function templateKey(t: Record<string, unknown>): string {
  const { revision: _r, ...rest } = t;
  return stable(protoNormal(rest) ?? {});
}

export class CloudRun {
  private readonly services = new Map<string, ServiceRecord>();
  private readonly revisions = new Map<string, RevisionRecord>();

  constructor(private readonly env: FakeEnv) {}

  routes(): Route[] {
    const S = `(?<name>${PL}/services/${SEG})`;
    return [
      {
        method: 'POST',
        pattern: new RegExp(`^/v2/${PL}/services$`),
        api: 'run',
        rpc: 'CreateService',
        handler: (c) => ({ json: this.create(c) }),
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/v2/${PL}/services$`),
        api: 'run',
        rpc: 'ListServices',
        handler: (c) => ({ json: this.list(c) }),
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/v2/${S}$`),
        api: 'run',
        rpc: 'GetService',
        handler: (c) => ({ json: this.viewService(this.getService(c.params.name ?? '')) }),
      },
      {
        method: 'PATCH',
        pattern: new RegExp(`^/v2/${S}$`),
        api: 'run',
        rpc: 'UpdateService',
        handler: (c) => ({ json: this.update(c) }),
      },
      {
        method: 'DELETE',
        pattern: new RegExp(`^/v2/${S}$`),
        api: 'run',
        rpc: 'DeleteService',
        handler: (c) => ({ json: this.remove(c) }),
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/v2/(?<parent>${PL}/services/${SEG})/revisions$`),
        api: 'run',
        rpc: 'ListRevisions',
        handler: (c) => ({ json: this.listRevisions(c) }),
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/v2/(?<name>${PL}/services/${SEG}/revisions/${SEG})$`),
        api: 'run',
        rpc: 'GetRevision',
        handler: (c) => ({ json: this.viewRevision(this.getRevision(c.params.name ?? '')) }),
      },
      {
        method: 'DELETE',
        pattern: new RegExp(`^/v2/(?<name>${PL}/services/${SEG}/revisions/${SEG})$`),
        api: 'run',
        rpc: 'DeleteRevision',
        handler: (c) => ({ json: this.deleteRevision(c) }),
      },
    ];
  }

  private getService(name: string): ServiceRecord {
    const s = this.services.get(name);
    if (!s)
      throw notFound(
        `Resource '${name.split('/').pop() ?? name}' of kind 'SERVICE' in region '${name.split('/')[3] ?? ''}' in project '${name.split('/')[1] ?? ''}'`,
      );
    return s;
  }

  private getRevision(name: string): RevisionRecord {
    const r = this.revisions.get(name);
    if (!r) throw notFound(`Resource '${name.split('/').pop() ?? name}' of kind 'REVISION'`);
    return r;
  }

  private revisionReady(r: RevisionRecord): 'ready' | 'failed' | 'pending' {
    if (r.failMessage) return 'failed';
    return Date.now() >= r.readyAt ? 'ready' : 'pending';
  }

  private viewRevision(r: RevisionRecord): Record<string, unknown> {
    const out = deepClone(r.resource);
    const st = this.revisionReady(r);
    const t = st === 'ready' ? String(out.createTime) : nowIso();
    out.reconciling = st === 'pending';
    out.conditions = [
      {
        type: 'Ready',
        state:
          st === 'ready' ? 'CONDITION_SUCCEEDED' : st === 'failed' ? 'CONDITION_FAILED' : 'CONDITION_PENDING',
        ...(r.failMessage ? { message: r.failMessage } : {}),
        lastTransitionTime: t,
      },
    ];
    out.observedGeneration = '1';
    return this.env.out('run', REVISION, out);
  }

  /** Traffic targets resolved to revision short names. */
  private servingRevisions(s: ServiceRecord): string[] {
    const res = s.resource;
    const latestCreated = str(res.latestCreatedRevision)?.split('/').pop();
    return arr(res.traffic)
      .map((t) => rec(t))
      .filter((t) => Number(t.percent ?? 0) > 0)
      .map((t) => (t.type === 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST' ? latestCreated : str(t.revision)))
      .filter((x): x is string => !!x);
  }

  /** 'ready' when every revision with traffic is ready. */
  private serviceState(s: ServiceRecord): { state: 'ready' | 'failed' | 'pending'; message?: string } {
    const name = String(s.resource.name);
    for (const short of this.servingRevisions(s)) {
      const r = this.revisions.get(`${name}/revisions/${short}`);
      if (!r) continue;
      const st = this.revisionReady(r);
      if (st === 'failed')
        return {
          state: 'failed',
          message: `Revision '${short}' is not ready and cannot serve traffic. ${r.failMessage ?? ''}`.trim(),
        };
      if (st === 'pending') return { state: 'pending' };
    }
    return { state: 'ready' };
  }

  private viewService(s: ServiceRecord): Record<string, unknown> {
    const out = deepClone(s.resource);
    const name = String(out.name);
    const st = this.serviceState(s);
    const now = nowIso();
    // latestReadyRevision: newest ready revision of this service.
    const mine = [...this.revisions.entries()].filter(([n]) => n.startsWith(`${name}/revisions/`));
    const ready = mine.filter(([, r]) => this.revisionReady(r) === 'ready');
    const latestReady = ready[ready.length - 1]?.[0];
    if (latestReady) out.latestReadyRevision = latestReady;
    out.observedGeneration = st.state === 'pending' ? String(s.generation - 1) : String(s.generation);
    out.reconciling = st.state === 'pending';
    const latestCreatedShort = str(out.latestCreatedRevision)?.split('/').pop();
    out.trafficStatuses = arr(out.traffic).map((t) => {
      const tr = rec(t);
      const latest = tr.type === 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST';
      return {
        type: tr.type ?? 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION',
        revision: latest ? latestCreatedShort : tr.revision,
        percent: tr.percent ?? 0,
        ...(tr.tag
          ? { tag: tr.tag, uri: `https://${String(tr.tag)}---${String(out.uri).replace('https://', '')}` }
          : {}),
      };
    });
    const cond = (type: string): Record<string, unknown> => ({
      type,
      state:
        st.state === 'ready'
          ? 'CONDITION_SUCCEEDED'
          : st.state === 'failed'
            ? 'CONDITION_FAILED'
            : 'CONDITION_PENDING',
      ...(st.message ? { message: st.message } : {}),
      lastTransitionTime: st.state === 'ready' ? String(out.updateTime) : now,
    });
    out.terminalCondition = cond('Ready');
    out.conditions = [cond('ConfigurationsReady'), cond('RoutesReady')];
    out.etag = `"${createHash('sha1').update(`${name}:${s.generation}`).digest('base64url').slice(0, 16)}"`;
    return this.env.out('run', SERVICE, out);
  }

  private validateTraffic(traffic: unknown[]): void {
    if (traffic.length === 0) return;
    const sum = traffic.reduce((acc: number, t) => acc + Number(rec(t).percent ?? 0), 0);
    if (sum !== 100) {
      throw new ApiError('INVALID_ARGUMENT', `Traffic target percentages must add up to 100, got ${sum}.`);
    }
    for (const t of traffic) {
      const tr = rec(t);
      const type = str(tr.type) ?? 'TRAFFIC_TARGET_ALLOCATION_TYPE_UNSPECIFIED';
      if (type === 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION' && !str(tr.revision)) {
        throw new ApiError(
          'INVALID_ARGUMENT',
          'Traffic target of type TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION must name a revision.',
        );
      }
    }
  }

  /** Creates a revision for the template if it changed. Throws before any change on conflicts. */
  private planRevision(
    s: ServiceRecord | undefined,
    serviceName: string,
    template: Record<string, unknown>,
  ): { short: string; create: boolean } {
    const key = templateKey(template);
    const latest = s ? str(s.resource.latestCreatedRevision) : undefined;
    const latestRec = latest ? this.revisions.get(latest) : undefined;
    const requested = str(template.revision);
    if (requested) {
      const prefix = serviceName.split('/').pop() ?? '';
      if (!requested.startsWith(`${prefix}-`)) {
        throw new ApiError(
          'INVALID_ARGUMENT',
          `Revision name '${requested}' must be prefixed by the service name '${prefix}-'.`,
        );
      }
      const existing = this.revisions.get(`${serviceName}/revisions/${requested}`);
      if (existing) {
        if (existing.templateKey !== key) {
          throw new ApiError(
            'ALREADY_EXISTS',
            `Revision named '${requested}' with different configuration already exists.`,
          );
        }
        return { short: requested, create: false };
      }
      return { short: requested, create: true };
    }
    if (latestRec && latestRec.templateKey === key && latest)
      return { short: latest.split('/').pop() ?? '', create: false };
    const n = (s?.revisionCounter ?? 0) + 1;
    const letters = createHash('sha1')
      .update(`${serviceName}:${n}:${key}`)
      .digest('hex')
      .replace(/[^a-f]/g, '')
      .padEnd(3, 'x')
      .slice(0, 3);
    return {
      short: `${serviceName.split('/').pop() ?? ''}-${String(n).padStart(5, '0')}-${letters}`,
      create: true,
    };
  }

  private addRevision(s: ServiceRecord, short: string, template: Record<string, unknown>): void {
    const serviceName = String(s.resource.name);
    const now = nowIso();
    const name = `${serviceName}/revisions/${short}`;
    const containers = arr(template.containers);
    const badImage = this.env.options.failRevisionsWithImage;
    const failing =
      badImage !== undefined && containers.some((c) => String(rec(c).image ?? '').includes(badImage));
    const { revision: _r, labels, annotations, ...rest } = template;
    const resource: Record<string, unknown> = {
      ...rest,
      name,
      uid: randomUUID(),
      generation: '1',
      labels: labels ?? {},
      annotations: annotations ?? {},
      createTime: now,
      updateTime: now,
      service: serviceName,
      logUri: `https://console.cloud.google.com/logs/viewer?revision=${short}`,
    };
    delete resource.vpcAccess;
    this.revisions.set(name, {
      resource,
      templateKey: templateKey(template),
      readyAt: Date.now() + this.env.options.revisionReadyMs,
      ...(failing
        ? {
            failMessage: `The user-provided container failed to start and listen on the port defined provided by the PORT=8080 environment variable.`,
          }
        : {}),
    });
    s.revisionCounter += 1;
    s.resource.latestCreatedRevision = name;
  }

  private checkTrafficRevisions(
    serviceName: string,
    traffic: unknown[],
    pendingShort: string | undefined,
  ): void {
    for (const t of traffic) {
      const rev = str(rec(t).revision);
      if (rev && rev !== pendingShort && !this.revisions.has(`${serviceName}/revisions/${rev}`)) {
        throw new ApiError('NOT_FOUND', `Revision '${rev}' referenced in traffic not found.`);
      }
    }
  }

  private applySpec(
    ctx: HandlerContext,
    name: string,
    body: Record<string, unknown>,
    existing: ServiceRecord | undefined,
  ): ServiceRecord {
    const template = rec(body.template);
    if (arr(template.containers).length === 0) {
      throw new ApiError(
        'INVALID_ARGUMENT',
        'service.template.containers: at least one container is required.',
      );
    }
    const traffic =
      body.traffic === undefined
        ? [{ type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST', percent: 100 }]
        : arr(body.traffic);
    this.validateTraffic(traffic);
    const plan = this.planRevision(existing, name, template);
    this.checkTrafficRevisions(name, traffic, plan.short);
    if (existing && str(body.etag) && body.etag !== this.viewService(existing).etag) {
      throw new ApiError('ABORTED', `Etag mismatch for service ${name}.`);
    }
    // Checks done: mutate.
    const now = nowIso();
    const { project = '', location = '' } = ctx.params;
    let s = existing;
    if (!s) {
      const short = name.split('/').pop() ?? '';
      const hash = createHash('sha1').update(`${project}/${location}`).digest('hex').slice(0, 10);
      s = {
        generation: 0,
        revisionCounter: 0,
        resource: {
          name,
          uid: randomUUID(),
          createTime: now,
          creator: 'fake@example.com',
          uri: `https://${short}-${hash}-${location.replace(/[^a-z]/g, '').slice(0, 2)}.a.run.app`,
        },
      };
      s.resource.urls = [s.resource.uri];
      this.services.set(name, s);
    }
    for (const f of USER_FIELDS) {
      if (f in body) s.resource[f] = body[f];
      else if (f !== 'traffic') delete s.resource[f];
    }
    s.resource.traffic = traffic;
    s.generation += 1;
    s.resource.generation = String(s.generation);
    s.resource.updateTime = now;
    s.resource.lastModifier = 'fake@example.com';
    if (plan.create) this.addRevision(s, plan.short, template);
    else s.resource.latestCreatedRevision = `${name}/revisions/${plan.short}`;
    return s;
  }

  private lro(
    ctx: HandlerContext,
    s: ServiceRecord,
    finalView?: Record<string, unknown>,
  ): Record<string, unknown> {
    const { project = '', location = '' } = ctx.params;
    const record = s;
    return this.env.ops.start(
      `projects/${project}/locations/${location}`,
      () => {
        if (finalView)
          return { response: { '@type': 'type.googleapis.com/google.cloud.run.v2.Service', ...finalView } };
        const st = this.serviceState(record);
        if (st.state === 'failed') return { error: { code: 9, message: st.message ?? 'Revision failed.' } };
        return {
          response: {
            '@type': 'type.googleapis.com/google.cloud.run.v2.Service',
            ...this.viewService(record),
          },
        };
      },
      {
        delayMs: opDelay(this.env.options),
        metadata: {
          '@type': 'type.googleapis.com/google.cloud.run.v2.Service',
          ...(finalView ?? this.viewService(s)),
        },
        ...(finalView ? {} : { ready: () => this.serviceState(record).state !== 'pending' }),
      },
    ) as unknown as Record<string, unknown>;
  }

  private create(ctx: HandlerContext): Record<string, unknown> {
    const body = this.env.body(ctx, 'run', SERVICE, 'service');
    const { project = '', location = '' } = ctx.params;
    const id = ctx.query.get('serviceId') ?? '';
    if (!SERVICE_ID_RE.test(id)) {
      throw new ApiError(
        'INVALID_ARGUMENT',
        `service_id '${id}' is invalid: must use only lowercase alphanumeric characters and dashes, begin with a letter, not end with a dash, and be at most 49 characters.`,
      );
    }
    const name = `projects/${project}/locations/${location}/services/${id}`;
    if (this.services.has(name)) throw new ApiError('ALREADY_EXISTS', `Resource '${id}' already exists.`);
    if (ctx.query.get('validateOnly') === 'true') {
      return this.env.ops.start(`projects/${project}/locations/${location}`, () => ({}), {
        delayMs: 0,
      }) as unknown as Record<string, unknown>;
    }
    const s = this.applySpec(ctx, name, body, undefined);
    return this.lro(ctx, s);
  }

  private update(ctx: HandlerContext): Record<string, unknown> {
    const body = this.env.body(ctx, 'run', SERVICE, 'service');
    const name = ctx.params.name ?? '';
    const existing = this.services.get(name);
    if (!existing && ctx.query.get('allowMissing') !== 'true') this.getService(name);
    if (ctx.query.get('validateOnly') === 'true') {
      return this.env.ops.start(
        `projects/${ctx.params.project ?? ''}/locations/${ctx.params.location ?? ''}`,
        () => ({}),
        { delayMs: 0 },
      ) as unknown as Record<string, unknown>;
    }
    const s = this.applySpec(ctx, name, body, existing);
    return this.lro(ctx, s);
  }

  private remove(ctx: HandlerContext): Record<string, unknown> {
    const name = ctx.params.name ?? '';
    const s = this.getService(name);
    const finalView = this.viewService(s);
    this.services.delete(name);
    for (const k of [...this.revisions.keys()])
      if (k.startsWith(`${name}/revisions/`)) this.revisions.delete(k);
    return this.lro(ctx, s, finalView);
  }

  private list(ctx: HandlerContext): Record<string, unknown> {
    const { project = '', location = '' } = ctx.params;
    const prefix = `projects/${project}/locations/${location}/services/`;
    const all = [...this.services.entries()].filter(([n]) => n.startsWith(prefix)).map(([, s]) => s);
    const p = page(all, ctx.query, this.env.pageOpts());
    const out: Record<string, unknown> = { services: p.items.map((s) => this.viewService(s)) };
    if (p.nextPageToken) out.nextPageToken = p.nextPageToken;
    return out;
  }

  private listRevisions(ctx: HandlerContext): Record<string, unknown> {
    const parent = ctx.params.parent ?? '';
    const all = parent.endsWith('/services/-');
    const prefix = all ? parent.slice(0, -'-'.length) : `${parent}/revisions/`;
    if (!all) this.getService(parent);
    const items = [...this.revisions.entries()].filter(([n]) => n.startsWith(prefix)).map(([, r]) => r);
    const p = page(items, ctx.query, this.env.pageOpts());
    const out: Record<string, unknown> = { revisions: p.items.map((r) => this.viewRevision(r)) };
    if (p.nextPageToken) out.nextPageToken = p.nextPageToken;
    return out;
  }

  private deleteRevision(ctx: HandlerContext): Record<string, unknown> {
    const name = ctx.params.name ?? '';
    const r = this.getRevision(name);
    const serviceName = name.split('/revisions/')[0] ?? '';
    const s = this.services.get(serviceName);
    const short = name.split('/').pop() ?? '';
    if (s && (this.servingRevisions(s).includes(short) || s.resource.latestCreatedRevision === name)) {
      throw new ApiError(
        'FAILED_PRECONDITION',
        `Revision '${short}' is serving traffic or is the latest revision and cannot be deleted.`,
      );
    }
    const view = this.viewRevision(r);
    this.revisions.delete(name);
    return this.env.ops.start(
      `projects/${ctx.params.project ?? ''}/locations/${ctx.params.location ?? ''}`,
      () => ({ response: { '@type': 'type.googleapis.com/google.cloud.run.v2.Revision', ...view } }),
      {
        delayMs: opDelay(this.env.options),
        metadata: { '@type': 'type.googleapis.com/google.cloud.run.v2.Revision', ...view },
      },
    ) as unknown as Record<string, unknown>;
  }

  allServices(): Record<string, unknown>[] {
    return [...this.services.values()].map((s) => this.viewService(s));
  }

  allRevisions(): Record<string, unknown>[] {
    return [...this.revisions.values()].map((r) => this.viewRevision(r));
  }

  /** Makes a revision (full name) fail readiness from now on. */
  failRevision(name: string, message: string): void {
    this.getRevision(name).failMessage = message;
  }
}
