/** Cloud Scheduler v1: jobs with HTTP targets; firing delivers Vertex calls to the fake itself. */
import { Cron } from 'croner';
import type { FakeEnv } from './env.js';
import {
  ApiError,
  STATUS_CODE,
  deepClone,
  isRecord,
  notFound,
  nowIso,
  rec,
  str,
  type HandlerContext,
} from './http.js';
import { page } from './list.js';
import { PL, SEG, type Route } from './router.js';

const JOB = 'google.cloud.scheduler.v1.Job';
const USER_FIELDS = [
  'description',
  'pubsubTarget',
  'appEngineHttpTarget',
  'httpTarget',
  'schedule',
  'timeZone',
  'retryConfig',
  'attemptDeadline',
];
const VERTEX_HOST = /^([a-z0-9-]+-)?aiplatform\.googleapis\.com$/;

export interface FireOutcome {
  ok: boolean;
  status: number;
  message?: string;
}

export class Scheduler {
  private readonly jobs = new Map<string, Record<string, unknown>>();
  /** Outcome of every attempt, newest last (tests). */
  readonly attempts: { job: string; at: string; outcome: FireOutcome }[] = [];

  constructor(private readonly env: FakeEnv) {}

  routes(): Route[] {
    const J = `(?<name>${PL}/jobs/${SEG})`;
    const post = (
      verb: string,
      rpc: string,
      fn: (c: HandlerContext) => Record<string, unknown> | Promise<Record<string, unknown>>,
    ): Route => ({
      method: 'POST',
      pattern: new RegExp(`^/v1/${J}:${verb}$`),
      api: 'scheduler',
      rpc,
      handler: async (c) => ({ json: await fn(c) }),
    });
    return [
      {
        method: 'POST',
        pattern: new RegExp(`^/v1/${PL}/jobs$`),
        api: 'scheduler',
        rpc: 'CreateJob',
        handler: (c) => ({ json: this.create(c) }),
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/v1/${PL}/jobs$`),
        api: 'scheduler',
        rpc: 'ListJobs',
        handler: (c) => ({ json: this.list(c) }),
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/v1/${J}$`),
        api: 'scheduler',
        rpc: 'GetJob',
        handler: (c) => ({ json: this.view(this.get(c.params.name ?? '')) }),
      },
      {
        method: 'PATCH',
        pattern: new RegExp(`^/v1/${J}$`),
        api: 'scheduler',
        rpc: 'UpdateJob',
        handler: (c) => ({ json: this.update(c) }),
      },
      {
        method: 'DELETE',
        pattern: new RegExp(`^/v1/${J}$`),
        api: 'scheduler',
        rpc: 'DeleteJob',
        handler: (c) => {
          this.get(c.params.name ?? '');
          this.jobs.delete(c.params.name ?? '');
          return { json: {} };
        },
      },
      post('pause', 'PauseJob', (c) => this.setState(c, 'PAUSED')),
      post('resume', 'ResumeJob', (c) => this.setState(c, 'ENABLED')),
      post('run', 'RunJob', async (c) => {
        this.env.body(c, 'scheduler', 'google.cloud.scheduler.v1.RunJobRequest', '');
        const name = c.params.name ?? '';
        this.get(name);
        await this.fire(name);
        return this.view(this.get(name));
      }),
    ];
  }

  private get(name: string): Record<string, unknown> {
    const j = this.jobs.get(name);
    if (!j) throw notFound(`Job ${name}`);
    return j;
  }

  private view(j: Record<string, unknown>): Record<string, unknown> {
    return this.env.out('scheduler', JOB, deepClone(j));
  }

  private validate(j: Record<string, unknown>): void {
    const schedule = str(j.schedule);
    if (!schedule) throw new ApiError('INVALID_ARGUMENT', 'Schedule or time zone is invalid.');
    try {
      new Cron(schedule, { paused: true, timezone: str(j.timeZone) ?? 'Etc/UTC' });
    } catch {
      throw new ApiError('INVALID_ARGUMENT', 'Schedule or time zone is invalid.');
    }
    const targets = ['httpTarget', 'pubsubTarget', 'appEngineHttpTarget'].filter((t) => isRecord(j[t]));
    if (targets.length !== 1) throw new ApiError('INVALID_ARGUMENT', 'Exactly one target must be set.');
    const ht = j.httpTarget;
    if (isRecord(ht)) {
      const uri = str(ht.uri);
      if (!uri || !/^https?:\/\//.test(uri))
        throw new ApiError('INVALID_ARGUMENT', `Invalid URI: ${uri ?? ''}`);
    }
  }

  private nextRun(j: Record<string, unknown>): void {
    try {
      const next = new Cron(String(j.schedule), {
        paused: true,
        timezone: str(j.timeZone) ?? 'Etc/UTC',
      }).nextRun();
      if (next) j.scheduleTime = next.toISOString();
    } catch {
      // validated before
    }
  }

  private create(ctx: HandlerContext): Record<string, unknown> {
    const body = this.env.body(ctx, 'scheduler', JOB, 'job');
    const { project = '', location = '' } = ctx.params;
    const prefix = `projects/${project}/locations/${location}/jobs/`;
    const name = str(body.name) ?? `${prefix}${Date.now().toString(36)}`;
    if (!name.startsWith(prefix) || !/^[A-Za-z0-9_-]{1,500}$/.test(name.slice(prefix.length))) {
      throw new ApiError(
        'INVALID_ARGUMENT',
        `Job name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>/jobs/<JOB_ID>".`,
      );
    }
    if (this.jobs.has(name)) throw new ApiError('ALREADY_EXISTS', `Job ${name} already exists.`);
    const job: Record<string, unknown> = {};
    for (const f of USER_FIELDS) if (f in body) job[f] = body[f];
    job.name = name;
    job.timeZone = str(body.timeZone) ?? 'Etc/UTC';
    if (isRecord(job.httpTarget) && !job.httpTarget.httpMethod) job.httpTarget.httpMethod = 'POST';
    this.validate(job);
    job.state = 'ENABLED';
    job.userUpdateTime = nowIso();
    job.attemptDeadline ??= '180s';
    this.nextRun(job);
    this.jobs.set(name, job);
    return this.view(job);
  }

  private update(ctx: HandlerContext): Record<string, unknown> {
    const body = this.env.body(ctx, 'scheduler', JOB, 'job');
    const name = ctx.params.name ?? '';
    const current = this.get(name);
    const next = deepClone(current);
    const mask = ctx.query.get('updateMask');
    if (mask) {
      for (const path of mask
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)) {
        const parts = path.split('.').map((p) => p.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()));
        if (!USER_FIELDS.includes(parts[0] ?? ''))
          throw new ApiError('INVALID_ARGUMENT', `Invalid update_mask path: ${path}`);
        let src: unknown = body;
        let dst: Record<string, unknown> = next;
        for (let i = 0; i < parts.length; i++) {
          const k = parts[i] ?? '';
          src = rec(src)[k];
          if (i === parts.length - 1) {
            if (src === undefined) delete dst[k];
            else dst[k] = src;
          } else {
            if (!isRecord(dst[k])) dst[k] = {};
            dst = dst[k] as Record<string, unknown>;
          }
        }
      }
    } else {
      for (const f of USER_FIELDS) {
        if (f in body) next[f] = body[f];
      }
    }
    this.validate(next);
    next.userUpdateTime = nowIso();
    this.nextRun(next);
    this.jobs.set(name, next);
    return this.view(next);
  }

  private setState(ctx: HandlerContext, state: 'PAUSED' | 'ENABLED'): Record<string, unknown> {
    const name = ctx.params.name ?? '';
    const j = this.get(name);
    if (j.state === 'DISABLED') throw new ApiError('FAILED_PRECONDITION', `Job ${name} is disabled.`);
    j.state = state;
    j.userUpdateTime = nowIso();
    return this.view(j);
  }

  private list(ctx: HandlerContext): Record<string, unknown> {
    const { project = '', location = '' } = ctx.params;
    const prefix = `projects/${project}/locations/${location}/jobs/`;
    const items = [...this.jobs.values()].filter((j) => String(j.name).startsWith(prefix));
    const p = page(items, ctx.query, this.env.pageOpts());
    const out: Record<string, unknown> = { jobs: p.items.map((j) => this.view(j)) };
    if (p.nextPageToken) out.nextPageToken = p.nextPageToken;
    return out;
  }

  /** Runs the job's target now, as Cloud Scheduler would, and records the attempt. */
  async fire(name: string): Promise<FireOutcome> {
    const j = this.get(name);
    const outcome = await this.deliver(j);
    const now = nowIso();
    j.lastAttemptTime = now;
    j.status = outcome.ok
      ? {}
      : { code: grpcCodeOf(outcome.status), message: outcome.message ?? `HTTP ${outcome.status}` };
    this.attempts.push({ job: name, at: now, outcome });
    return outcome;
  }

  private async deliver(j: Record<string, unknown>): Promise<FireOutcome> {
    const ht = j.httpTarget;
    if (!isRecord(ht)) return { ok: false, status: 501, message: 'fake: only httpTarget jobs are delivered' };
    let url: URL;
    try {
      url = new URL(String(ht.uri));
    } catch {
      return { ok: false, status: 400, message: `Invalid URI ${String(ht.uri)}` };
    }
    if (!VERTEX_HOST.test(url.hostname)) {
      return {
        ok: false,
        status: 502,
        message: `fake: no route to ${url.hostname} (only *aiplatform.googleapis.com is delivered)`,
      };
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(rec(ht.headers))) headers[k.toLowerCase()] = String(v);
    if (!isRecord(ht.oauthToken) && !isRecord(ht.oidcToken)) {
      return {
        ok: false,
        status: 401,
        message: 'Request is missing required authentication credential (httpTarget.oauthToken is not set).',
      };
    }
    const body = typeof ht.body === 'string' ? Buffer.from(ht.body, 'base64') : Buffer.alloc(0);
    const ct = headers['content-type'];
    if (body.length > 0 && !(ct ?? '').toLowerCase().startsWith('application/json')) {
      return {
        ok: false,
        status: 400,
        message: `Invalid JSON payload received. Content-Type is ${ct ?? '(missing; Cloud Scheduler then sends application/octet-stream)'}, expected application/json.`,
      };
    }
    const method = String(ht.httpMethod ?? 'POST');
    const res = await this.env.dispatch({ method, path: `${url.pathname}${url.search}`, headers, body });
    const err = rec(rec(res.json).error);
    return res.status < 300
      ? { ok: true, status: res.status }
      : { ok: false, status: res.status, message: str(err.message) ?? `HTTP ${res.status}` };
  }

  all(): Record<string, unknown>[] {
    return [...this.jobs.values()].map((j) => deepClone(j));
  }
}

function grpcCodeOf(http: number): number {
  const map: Record<number, string> = {
    400: 'INVALID_ARGUMENT',
    401: 'UNAUTHENTICATED',
    403: 'PERMISSION_DENIED',
    404: 'NOT_FOUND',
    409: 'ALREADY_EXISTS',
    429: 'RESOURCE_EXHAUSTED',
    499: 'CANCELLED',
    501: 'UNIMPLEMENTED',
    502: 'UNAVAILABLE',
    503: 'UNAVAILABLE',
    504: 'DEADLINE_EXCEEDED',
  };
  return STATUS_CODE[map[http] ?? 'UNKNOWN'] ?? 2;
}
