/**
 * Schedules as Cloud Scheduler jobs `mlform-<stack>-<name>` whose HTTP target calls Vertex AI
 * `customJobs.create` directly with an OAuth token, so runs start while the controller is down
 * (README.md "Schedules"). Jobs have no labels: ownership is the name prefix, and the spec hash,
 * spec and annotations are in the description. Observation: one paged ListJobs.
 */
import type { protos } from '@google-cloud/scheduler';
import { error, warning, type Diagnostic } from '../../resources/diagnostic.js';
import type { ScheduleSpec } from '../../resources/schedule.js';
import type {
  ObservedRun,
  ObservedSchedule,
  ProviderContext,
  PutScheduleRequest,
  Response,
} from '../provider.js';
import { callDiagnostic, isKind } from './call.js';
import { isoOf, listAll, type Gcp } from './context.js';
import { customJobBody, stageData } from './jobs.js';
import { parentOf, schedulerJobId } from './names.js';
import { cancelRun, listRunsNamed } from './runs.js';

export type SchedulerJob = protos.google.cloud.scheduler.v1.IJob;

const addressOf = (name: string) => `Schedule/${name}`;
const DESCRIPTION = /^mlform spec ([0-9a-f]+) (\{.*\})$/s;
export const DESCRIPTION_LIMIT = 500;
const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

const jobName = (gcp: Gcp, stack: string, name: string) =>
  `${parentOf(gcp.settings.project, gcp.settings.region)}/jobs/${schedulerJobId(stack, name)}`;

/** `mlform spec <hash> {"s": spec, "a": annotations}`: what a label-less job records. */
export function scheduleDescription(
  specHash: string,
  spec: ScheduleSpec,
  annotations: Record<string, string>,
): string {
  return `mlform spec ${specHash} ${JSON.stringify({ s: spec, a: annotations })}`;
}

export async function schedulerJobBody(
  gcp: Gcp,
  stack: string,
  req: PutScheduleRequest,
): Promise<SchedulerJob> {
  const layout = gcp.layout(stack);
  const { project, trainingRegion } = gcp.settings;
  const spec = await stageData(gcp.gcs, layout, req.template.spec, req.template.manifestPath);
  const customJob = customJobBody(gcp.settings, layout, {
    stack,
    name: req.spec.trainingRun,
    spec,
    specHash: req.template.specHash,
    attempt: 1,
    schedule: req.name,
    labels: req.labels,
    annotations: {},
  });
  return {
    name: jobName(gcp, stack, req.name),
    description: scheduleDescription(req.specHash, req.spec, req.annotations),
    schedule: req.spec.cron ?? '',
    timeZone: req.spec.timeZone,
    httpTarget: {
      uri: `https://${trainingRegion}-aiplatform.googleapis.com/v1/projects/${project}/locations/${trainingRegion}/customJobs`,
      httpMethod: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: Buffer.from(JSON.stringify(customJob)),
      oauthToken: { serviceAccountEmail: gcp.settings.serviceAccount, scope: SCOPE },
    },
  };
}

const isPaused = (state: SchedulerJob['state']) => state === 'PAUSED' || state === 2;

export function scheduleOf(
  job: SchedulerJob,
  stack: string,
): { schedule?: ObservedSchedule; diagnostic?: Diagnostic } {
  const id = (job.name ?? '').split('/').pop() ?? '';
  const name = id.slice(`mlform-${stack}-`.length);
  const m = DESCRIPTION.exec(job.description ?? '');
  let parsed: { s?: ScheduleSpec; a?: Record<string, string> } | undefined;
  try {
    parsed = m ? (JSON.parse(m[2]) as { s?: ScheduleSpec; a?: Record<string, string> }) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!m || !parsed?.s) {
    return {
      diagnostic: error(
        'gcp-schedule-record',
        `${addressOf(name)}: the Cloud Scheduler job's description is not mlform's`,
        {
          address: addressOf(name),
          hint: 'apply the Schedule manifest again to rewrite it',
        },
      ),
    };
  }
  const lastFireTime = isoOf(job.lastAttemptTime);
  return {
    schedule: {
      name,
      specHash: m[1],
      spec: parsed.s,
      annotations: parsed.a ?? {},
      paused: isPaused(job.state),
      ...(lastFireTime !== undefined && { lastFireTime }),
    },
  };
}

export async function listSchedules(
  gcp: Gcp,
  ctx: ProviderContext,
): Promise<Response & { items: ObservedSchedule[] }> {
  try {
    type Req = protos.google.cloud.scheduler.v1.IListJobsRequest & { pageToken?: string };
    const jobs = await listAll<Req, SchedulerJob>(
      gcp.call,
      'scheduler',
      'ListJobs',
      { parent: parentOf(gcp.settings.project, gcp.settings.region), pageSize: 500 },
      (req, opts) =>
        gcp.clients.scheduler.listJobs(req, opts) as Promise<[SchedulerJob[], Req | null, unknown]>,
    );
    const prefix = `mlform-${ctx.stack}-`;
    const items: ObservedSchedule[] = [];
    const diagnostics: Diagnostic[] = [];
    for (const job of jobs) {
      if (!((job.name ?? '').split('/').pop() ?? '').startsWith(prefix)) continue;
      const { schedule, diagnostic } = scheduleOf(job, ctx.stack);
      // Another stack whose name starts like ours ("a" and "a-b") has its own description hash; a
      // job whose rest-of-name is not a schedule name is skipped silently.
      if (schedule) items.push(schedule);
      else if (diagnostic) diagnostics.push(diagnostic);
    }
    return { items, diagnostics };
  } catch (e) {
    return { items: [], diagnostics: [callDiagnostic('Schedule', 'listing schedules', e)] };
  }
}

async function getJob(gcp: Gcp, name: string): Promise<SchedulerJob | undefined> {
  try {
    const [job] = await gcp.call('scheduler', 'GetJob', (opts) =>
      gcp.clients.scheduler.getJob({ name }, opts),
    );
    return job;
  } catch (e) {
    if (isKind(e, 'not-found')) return undefined;
    throw e;
  }
}

export async function putSchedule(
  gcp: Gcp,
  ctx: ProviderContext,
  req: PutScheduleRequest,
): Promise<Response> {
  const address = addressOf(req.name);
  try {
    const body = await schedulerJobBody(gcp, ctx.stack, req);
    if ((body.description ?? '').length > DESCRIPTION_LIMIT) {
      return {
        diagnostics: [
          error(
            'gcp-schedule-too-large',
            `${address}: the spec and annotations do not fit a Cloud Scheduler description (500 characters)`,
            {
              address,
              hint: 'shorten the annotations',
            },
          ),
        ],
      };
    }
    const name = body.name ?? '';
    const existing = await getJob(gcp, name);
    let job: SchedulerJob;
    if (existing) {
      [job] = await gcp.call('scheduler', 'UpdateJob', (opts) =>
        gcp.clients.scheduler.updateJob({ job: body }, opts),
      );
    } else {
      const parent = parentOf(gcp.settings.project, gcp.settings.region);
      try {
        [job] = await gcp.call('scheduler', 'CreateJob', (opts) =>
          gcp.clients.scheduler.createJob({ parent, job: body }, opts),
        );
      } catch (e) {
        // A retried create whose first attempt landed: the name is ours (mlform-<stack>-<name>).
        if (!isKind(e, 'already-exists')) throw e;
        [job] = await gcp.call('scheduler', 'UpdateJob', (opts) =>
          gcp.clients.scheduler.updateJob({ job: body }, opts),
        );
      }
    }
    const paused = isPaused(job.state);
    if (req.spec.suspend && !paused) {
      await gcp.call('scheduler', 'PauseJob', (opts) => gcp.clients.scheduler.pauseJob({ name }, opts));
    } else if (!req.spec.suspend && paused) {
      await gcp.call('scheduler', 'ResumeJob', (opts) => gcp.clients.scheduler.resumeJob({ name }, opts));
    }
    return { diagnostics: [] };
  } catch (e) {
    return { diagnostics: [callDiagnostic(address, `writing the Cloud Scheduler job of ${req.name}`, e)] };
  }
}

export async function deleteSchedule(
  gcp: Gcp,
  ctx: ProviderContext,
  req: { name: string },
): Promise<Response> {
  const name = jobName(gcp, ctx.stack, req.name);
  try {
    await gcp.call('scheduler', 'DeleteJob', (opts) => gcp.clients.scheduler.deleteJob({ name }, opts));
    return { diagnostics: [] };
  } catch (e) {
    if (isKind(e, 'not-found')) return { diagnostics: [] };
    return { diagnostics: [callDiagnostic(addressOf(req.name), `deleting ${req.name}`, e)] };
  }
}

/**
 * Fires now through Cloud Scheduler (RunJob), which posts the CustomJob as it would on time, and
 * waits briefly for the job to appear so the run can be named. `trigger` honours the
 * concurrency policy as the local provider does (Forbid skips while a run of this schedule is
 * active, Replace cancels it first); Cloud Scheduler's own clock cannot (README.md "Schedules").
 */
export async function triggerSchedule(
  gcp: Gcp,
  ctx: ProviderContext,
  req: { name: string },
): Promise<Response & { run?: ObservedRun }> {
  const address = addressOf(req.name);
  const name = jobName(gcp, ctx.stack, req.name);
  try {
    const job = await getJob(gcp, name);
    const observed = job && scheduleOf(job, ctx.stack).schedule;
    if (!observed) {
      return { diagnostics: [error('gcp-schedule-not-found', `${address} does not exist`, { address })] };
    }
    const template = observed.spec.trainingRun;
    const before = await listRunsNamed(gcp, ctx, template);
    const active = before.runs.filter(
      (r) => r.schedule === req.name && (r.state === 'queued' || r.state === 'running'),
    );
    if (active.length > 0 && observed.spec.concurrencyPolicy === 'Forbid') {
      return {
        diagnostics: [
          warning(
            'schedule-skipped',
            `${address}: skipped: previous run still running (${active.map((r) => `${r.name}#${r.number}`).join(', ')})`,
            {
              address,
            },
          ),
        ],
      };
    }
    if (observed.spec.concurrencyPolicy === 'Replace') {
      for (const r of active) await cancelRun(gcp, ctx, r);
    }
    await gcp.call('scheduler', 'RunJob', (opts) => gcp.clients.scheduler.runJob({ name }, opts));
    ctx.log?.(`fired ${address} through Cloud Scheduler`);
    const known = new Set(before.jobs.keys());
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const after = await listRunsNamed(gcp, ctx, template);
      const fresh = after.runs.find((r) => r.schedule === req.name && !known.has(`${r.name}#${r.number}`));
      if (fresh) return { run: fresh, diagnostics: [] };
      await gcp.call.policy.sleep(gcp.settings.pollMs, ctx.signal);
    }
    return {
      diagnostics: [
        warning('gcp-schedule-fired', `${address} fired, but its Vertex AI job has not appeared yet`, {
          address,
          hint: 'Cloud Scheduler delivers the request asynchronously; check `mlform get trainingruns` in a moment',
        }),
      ],
    };
  } catch (e) {
    return { diagnostics: [callDiagnostic(address, `firing ${req.name}`, e)] };
  }
}
