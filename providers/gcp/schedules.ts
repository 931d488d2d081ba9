/**
 * Schedules as Cloud Scheduler jobs `mlform-<stack>_<name>` whose HTTP target calls Vertex AI
 * `customJobs.create` directly with an OAuth token, so runs start while the controller is down
 * (README.md "Schedules"). Jobs have no labels: the description records the owner (stack and
 * name), the spec hash, spec and annotations, and is checked before any update, run or delete.
 * Jobs named `mlform-<stack>-<name>` by releases before issue 18 are adopted (kept under that
 * name) when the CustomJob they post carries this stack's and schedule's labels. Observation: one
 * paged ListJobs.
 */
import type { protos } from '@google-cloud/scheduler';
import { runRef, scheduleAddress } from '../../resources/address.js';
import { error, warning, type Diagnostic } from '../../resources/diagnostic.js';
import { parseLocalDateTime } from '../../resources/local-date-time.js';
import { atInstant, signalOnly, type ScheduleSpec } from '../../resources/schedule.js';
import type {
  ObservedRun,
  ObservedSchedule,
  ProviderContext,
  PutScheduleRequest,
  Response,
  TriggerScheduleRequest,
} from '../provider.js';
import { firedByTriggerAnnotations } from '../../monitoring/trigger.js';
import { callDiagnostic, isKind } from './call.js';
import { isoOf, listAll, type Gcp } from './context.js';
import { customJobBody, ENV, stageData, tuningJobBody } from './jobs.js';
import { LABEL, legacySchedulerJobId, parentOf, schedulerJobId } from './names.js';
import { notOwned, sameOwner, type Owner } from './ownership.js';
import { cancelRun, listRunsNamed } from './runs.js';
import { pruneScheduleHistory } from './history.js';
import { readAdoptedObject, removeAdoptedObject } from './import-records.js';

export type SchedulerJob = protos.google.cloud.scheduler.v1.IJob;

const DESCRIPTION = /^mlform spec ([0-9a-f]+) (\{.*\})$/s;
export const DESCRIPTION_LIMIT = 500;
const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

const jobsParent = (gcp: Gcp) => `${parentOf(gcp.settings.project, gcp.settings.region)}/jobs`;
const jobName = (gcp: Gcp, stack: string, name: string) =>
  `${jobsParent(gcp)}/${schedulerJobId(stack, name)}`;
const legacyJobName = (gcp: Gcp, stack: string, name: string) =>
  `${jobsParent(gcp)}/${legacySchedulerJobId(stack, name)}`;
const idOf = (job: SchedulerJob) => (job.name ?? '').split('/').pop() ?? '';
const scheduleOwner = (stack: string, name: string): Owner => ({ stack, kind: 'schedule', name });

/**
 * `mlform spec <hash> {"stack": ..., "name": ..., "s": spec, "a": annotations}`: what a label-less
 * job records, its owner included; an adopted job (`mlform import`) also its own id in `adopted`.
 */
export function scheduleDescription(
  stack: string,
  name: string,
  specHash: string,
  spec: ScheduleSpec,
  annotations: Record<string, string>,
  adopted?: string,
): string {
  const record = { stack, name, s: spec, a: annotations, ...(adopted !== undefined && { adopted }) };
  return `mlform spec ${specHash} ${JSON.stringify(record)}`;
}

interface DescriptionRecord {
  stack?: unknown;
  name?: unknown;
  adopted?: unknown;
  s?: ScheduleSpec;
  a?: Record<string, string>;
}

function parseDescription(job: SchedulerJob): { specHash: string; record: DescriptionRecord } | undefined {
  const m = DESCRIPTION.exec(job.description ?? '');
  if (!m) return undefined;
  try {
    const record = JSON.parse(m[2]) as unknown;
    return record !== null && typeof record === 'object' && !Array.isArray(record)
      ? { specHash: m[1], record: record as DescriptionRecord }
      : undefined;
  } catch {
    return undefined;
  }
}

/** The JSON body a job posts (a CustomJob or HyperparameterTuningJob), undefined when not JSON. */
export function postedBody(job: SchedulerJob): Record<string, unknown> | undefined {
  const raw: unknown = job.httpTarget?.body;
  let text: string;
  if (typeof raw === 'string') text = Buffer.from(raw, 'base64').toString('utf8');
  else if (raw instanceof Uint8Array) text = Buffer.from(raw).toString('utf8');
  else return undefined;
  try {
    const body = JSON.parse(text) as unknown;
    return body !== null && typeof body === 'object' && !Array.isArray(body)
      ? (body as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The labels of the CustomJob a job posts (releases before issue 18 recorded no owner elsewhere). */
function postedLabels(job: SchedulerJob): Record<string, string> | undefined {
  const labels = postedBody(job)?.labels;
  return labels !== null && typeof labels === 'object' ? (labels as Record<string, string>) : undefined;
}

/**
 * The owner a job claims: its description's `stack` and `name`, else (a job written before issue
 * 18) the `mlform-stack` and `mlform-schedule` labels of the CustomJob it posts. The claim counts
 * only under a name mlform derives from it: `mlform-<stack>_<name>` or the legacy
 * `mlform-<stack>-<name>`, or for a job adopted under its own name (`mlform import`) the id its
 * description records as `adopted` (a description copied onto another job does not count there).
 */
export function ownerOfJob(job: SchedulerJob): Owner | undefined {
  const parsed = parseDescription(job)?.record;
  const id = idOf(job);
  let claim: Owner | undefined;
  if (typeof parsed?.stack === 'string' && typeof parsed.name === 'string') {
    claim = scheduleOwner(parsed.stack, parsed.name);
  } else {
    const labels = postedLabels(job);
    const stack = labels?.[LABEL.stack];
    const name = labels?.[LABEL.schedule];
    if (stack && name) claim = scheduleOwner(stack, name);
  }
  if (!claim) return undefined;
  if (typeof parsed?.adopted === 'string' && parsed.adopted === id && id !== '') return claim;
  return id === schedulerJobId(claim.stack, claim.name) ||
    id === legacySchedulerJobId(claim.stack, claim.name)
    ? claim
    : undefined;
}

/**
 * The job of Schedule `name`: the one under the new name if it is ours, else an adopted one under
 * the legacy name. `foreign` is an object under the new name that is not ours (never touched).
 */
async function findJob(
  gcp: Gcp,
  stack: string,
  name: string,
): Promise<{ job?: SchedulerJob; foreign?: SchedulerJob }> {
  const wanted = scheduleOwner(stack, name);
  const current = await getJob(gcp, jobName(gcp, stack, name));
  if (current && sameOwner(ownerOfJob(current), wanted)) return { job: current };
  const legacy = await getJob(gcp, legacyJobName(gcp, stack, name));
  let adopted = legacy && sameOwner(ownerOfJob(legacy), wanted) ? legacy : undefined;
  if (!adopted) {
    // Adopted under the name it was made with (`mlform import`): its record says which job.
    const resource = await readAdoptedObject(gcp, stack, 'jobs', name);
    const there = resource ? await getJob(gcp, resource) : undefined;
    if (there && sameOwner(ownerOfJob(there), wanted)) adopted = there;
  }
  return { ...(adopted && { job: adopted }), ...(current && { foreign: current }) };
}

const foreignJob = (address: string, job: SchedulerJob, stack: string, name: string) =>
  notOwned(address, `Cloud Scheduler job ${job.name ?? ''}`, ownerOfJob(job), scheduleOwner(stack, name));

export async function schedulerJobBody(
  gcp: Gcp,
  stack: string,
  req: PutScheduleRequest,
  signal?: AbortSignal,
): Promise<SchedulerJob> {
  const layout = gcp.layout(stack);
  const { project, trainingRegion } = gcp.settings;
  const spec = await stageData(gcp.gcs, layout, req.template.spec, req.template.manifestPath);
  // Fired runs stream into the same instance as apply's (README.md "TensorBoard"); resolved (and
  // for `{create: true}` created) here, when apply writes the job, never by a plan.
  const tensorboard = await gcp.tensorboards?.instanceFor(stack, signal);
  const input = {
    stack,
    name: req.spec.trainingRun,
    spec,
    specHash: req.template.specHash,
    attempt: 1,
    schedule: req.name,
    labels: req.labels,
    annotations: {},
    ...(tensorboard !== undefined && { tensorboard }),
  };
  // A tuned template fires the HyperparameterTuningJob a tuned run gets (README.md "Schedules");
  // with `tuning: 'in-job'` the CustomJob runs the trainer's own search, as for a run.
  const tuned = spec.tuning !== undefined && gcp.settings.tuning === 'vertex';
  const [collection, posted] = tuned
    ? (['hyperparameterTuningJobs', tuningJobBody(gcp.settings, layout, input)] as const)
    : (['customJobs', customJobBody(gcp.settings, layout, input)] as const);
  return {
    name: jobName(gcp, stack, req.name),
    description: scheduleDescription(stack, req.name, req.specHash, req.spec, req.annotations),
    schedule: schedulerCron(req.spec),
    timeZone: req.spec.timeZone,
    httpTarget: {
      uri: `https://${trainingRegion}-aiplatform.googleapis.com/v1/projects/${project}/locations/${trainingRegion}/${collection}`,
      httpMethod: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: Buffer.from(JSON.stringify(posted)),
      oauthToken: { serviceAccountEmail: gcp.settings.serviceAccount, scope: SCOPE },
    },
  };
}

/**
 * The job's cron: the spec's, or for a one-off (`at`) the yearly `M H D Mon *` of its local time,
 * read in the same zone. Cloud Scheduler has no one-shot jobs and its cron no year: the job is
 * paused once the instant has passed (below), else it would fire again a year later.
 */
export function schedulerCron(spec: Pick<ScheduleSpec, 'cron' | 'every' | 'at' | 'triggers'>): string {
  // A job needs a schedule: a signal-only Schedule's job holds a yearly one and stays paused.
  if (signalOnly(spec)) return SIGNAL_ONLY_CRON;
  if (spec.at === undefined) return spec.cron ?? '';
  const parsed = parseLocalDateTime(spec.at);
  if (parsed.status !== 'ok') return '';
  const { minute, hour, day, month } = parsed.value;
  return `${minute} ${hour} ${day} ${month} *`;
}

/**
 * Paused: suspended, or a one-off whose instant has passed. Cloud Scheduler never fires a passed
 * time late, so after its instant a one-off job can only fire a year later: done (fired), or
 * created too late, it is paused.
 */
function wantPaused(spec: ScheduleSpec, now: Date): boolean {
  const at = atInstant(spec);
  return spec.suspend || signalOnly(spec) || (at !== undefined && at.getTime() <= now.getTime());
}

/** The paused job of a signal-only Schedule keeps this cron; it never fires on it. */
export const SIGNAL_ONLY_CRON = '0 0 1 1 *';

const isPaused = (state: SchedulerJob['state']) => state === 'PAUSED' || state === 2;

/** The observed Schedule `name` (its owner already checked) from its job. */
export function scheduleOf(
  job: SchedulerJob,
  name: string,
): { schedule?: ObservedSchedule; diagnostic?: Diagnostic } {
  const described = parseDescription(job);
  const parsed = described?.record;
  if (!described || !parsed?.s) {
    return {
      diagnostic: error(
        'gcp-schedule-record',
        `${scheduleAddress(name)}: the Cloud Scheduler job's description is not mlform's`,
        {
          address: scheduleAddress(name),
          hint: 'apply the Schedule manifest again to rewrite it',
        },
      ),
    };
  }
  const lastFireTime = isoOf(job.lastAttemptTime);
  return {
    schedule: {
      name,
      specHash: described.specHash,
      spec: parsed.s,
      annotations: parsed.a ?? {},
      paused: isPaused(job.state),
      ...(lastFireTime !== undefined && { lastFireTime }),
    },
  };
}

/** Every Cloud Scheduler job of the project and region (one paged ListJobs). */
export async function listJobs(gcp: Gcp): Promise<SchedulerJob[]> {
  type Req = protos.google.cloud.scheduler.v1.IListJobsRequest & { pageToken?: string };
  return listAll<Req, SchedulerJob>(
    gcp.call,
    'scheduler',
    'ListJobs',
    { parent: parentOf(gcp.settings.project, gcp.settings.region), pageSize: 500 },
    (req, opts) =>
      gcp.clients.scheduler.listJobs(req, opts) as Promise<[SchedulerJob[], Req | null, unknown]>,
  );
}

export async function listSchedules(
  gcp: Gcp,
  ctx: ProviderContext,
): Promise<Response & { items: ObservedSchedule[] }> {
  try {
    const jobs = await listJobs(gcp);
    // Ours: the jobs whose owner (description, or the posted CustomJob's labels for jobs written
    // before issue 18) is this stack. A name alone proves nothing: under the legacy names stack
    // "a" with "b-c" and stack "a-b" with "c" share `mlform-a-b-c`.
    const byName = new Map<string, SchedulerJob[]>();
    for (const job of jobs) {
      const owner = ownerOfJob(job);
      if (owner?.stack !== ctx.stack) continue;
      byName.set(owner.name, [...(byName.get(owner.name) ?? []), job]);
    }
    const items: ObservedSchedule[] = [];
    const diagnostics: Diagnostic[] = [];
    for (const [name, found] of byName) {
      // Under both names (a release before issue 18 created the legacy one again): the new one
      // is the schedule, and the other still fires.
      const job = found.find((j) => idOf(j) === schedulerJobId(ctx.stack, name)) ?? found[0];
      const others = found.filter((j) => j !== job);
      if (others.length > 0) {
        diagnostics.push(
          warning(
            'gcp-schedule-duplicate',
            `${scheduleAddress(name)}: Cloud Scheduler jobs ${found.map(idOf).join(' and ')} both belong to it; ${others.map(idOf).join(', ')} still fires`,
            {
              address: scheduleAddress(name),
              hint: `delete ${others.map((j) => j.name ?? '').join(', ')} (gcloud scheduler jobs delete)`,
            },
          ),
        );
      }
      const { schedule, diagnostic } = scheduleOf(job, name);
      if (schedule) items.push(schedule);
      else if (diagnostic) diagnostics.push(diagnostic);
    }
    // Cloud Scheduler fires without mlform, so `history` is applied whenever a writer (an apply,
    // a controller sync) observes under the apply lock; a plan only reads.
    if (ctx.applyLock) {
      for (const s of items) diagnostics.push(...(await pruneScheduleHistory(gcp, ctx, s.name, s.spec)));
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

const tooLarge = (address: string) =>
  error(
    'gcp-schedule-too-large',
    `${address}: the spec and annotations do not fit a Cloud Scheduler description (500 characters)`,
    { address, hint: 'shorten the annotations' },
  );

export async function putSchedule(
  gcp: Gcp,
  ctx: ProviderContext,
  req: PutScheduleRequest,
): Promise<Response> {
  const address = scheduleAddress(req.name);
  try {
    const body = await schedulerJobBody(gcp, ctx.stack, req, ctx.signal);
    if ((body.description ?? '').length > DESCRIPTION_LIMIT) {
      return {
        diagnostics: [tooLarge(address)],
      };
    }
    const found = await findJob(gcp, ctx.stack, req.name);
    if (!found.job && found.foreign)
      return { diagnostics: [foreignJob(address, found.foreign, ctx.stack, req.name)] };
    // An adopted job keeps its legacy name: renaming would fire twice or not at all while both
    // or neither exist, and would lose its attempt history.
    if (found.job?.name) body.name = found.job.name;
    const name = body.name ?? '';
    // A job adopted under its own name keeps saying so, or it would no longer be ours.
    const id = found.job ? idOf(found.job) : '';
    if (
      found.job &&
      id !== schedulerJobId(ctx.stack, req.name) &&
      id !== legacySchedulerJobId(ctx.stack, req.name)
    ) {
      body.description = scheduleDescription(
        ctx.stack,
        req.name,
        req.specHash,
        req.spec,
        req.annotations,
        id,
      );
      if (body.description.length > DESCRIPTION_LIMIT)
        return {
          diagnostics: [tooLarge(address)],
        };
    }
    const update = async () => {
      const [updated] = await gcp.call('scheduler', 'UpdateJob', (opts) =>
        gcp.clients.scheduler.updateJob({ job: body }, opts),
      );
      return updated;
    };
    let job: SchedulerJob;
    if (found.job) {
      job = await update();
    } else {
      const parent = parentOf(gcp.settings.project, gcp.settings.region);
      try {
        [job] = await gcp.call('scheduler', 'CreateJob', (opts) =>
          gcp.clients.scheduler.createJob({ parent, job: body }, opts),
        );
      } catch (e) {
        // A retried create whose first attempt landed is ours; anything else there is not.
        if (!isKind(e, 'already-exists')) throw e;
        const there = await getJob(gcp, name);
        if (!there) throw e;
        if (!sameOwner(ownerOfJob(there), scheduleOwner(ctx.stack, req.name)))
          return { diagnostics: [foreignJob(address, there, ctx.stack, req.name)] };
        job = await update();
      }
    }
    const paused = isPaused(job.state);
    const pause = wantPaused(req.spec, gcp.settings.now());
    if (pause && !paused) {
      await gcp.call('scheduler', 'PauseJob', (opts) => gcp.clients.scheduler.pauseJob({ name }, opts));
    } else if (!pause && paused) {
      await gcp.call('scheduler', 'ResumeJob', (opts) => gcp.clients.scheduler.resumeJob({ name }, opts));
    }
    return { diagnostics: await pruneScheduleHistory(gcp, ctx, req.name, req.spec) };
  } catch (e) {
    return { diagnostics: [callDiagnostic(address, `writing the Cloud Scheduler job of ${req.name}`, e)] };
  }
}

export async function deleteSchedule(
  gcp: Gcp,
  ctx: ProviderContext,
  req: { name: string },
): Promise<Response> {
  const address = scheduleAddress(req.name);
  try {
    const found = await findJob(gcp, ctx.stack, req.name);
    if (!found.job) {
      return { diagnostics: found.foreign ? [foreignJob(address, found.foreign, ctx.stack, req.name)] : [] };
    }
    const name = found.job.name ?? '';
    await gcp.call('scheduler', 'DeleteJob', (opts) => gcp.clients.scheduler.deleteJob({ name }, opts));
    const id = idOf(found.job);
    if (id !== schedulerJobId(ctx.stack, req.name) && id !== legacySchedulerJobId(ctx.stack, req.name))
      await removeAdoptedObject(gcp, ctx.stack, 'jobs', req.name);
    return { diagnostics: [] };
  } catch (e) {
    if (isKind(e, 'not-found')) return { diagnostics: [] };
    return { diagnostics: [callDiagnostic(address, `deleting ${req.name}`, e)] };
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
  req: TriggerScheduleRequest,
): Promise<Response & { run?: ObservedRun }> {
  const address = scheduleAddress(req.name);
  try {
    const found = await findJob(gcp, ctx.stack, req.name);
    if (!found.job && found.foreign)
      return { diagnostics: [foreignJob(address, found.foreign, ctx.stack, req.name)] };
    const job = found.job;
    const name = job?.name ?? '';
    const observed = job && scheduleOf(job, req.name).schedule;
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
            `${address}: skipped: previous run still running (${active.map(runRef).join(', ')})`,
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
    // A signal-only Schedule's job is paused for good: fired by hand, its body is posted too.
    if (req.reason === undefined && !signalOnly(observed.spec)) {
      await gcp.call('scheduler', 'RunJob', (opts) => gcp.clients.scheduler.runJob({ name }, opts));
      ctx.log?.(`fired ${address} through Cloud Scheduler`);
    } else {
      const posted = await postBody(gcp, job, req.reason, address);
      if (posted) return { diagnostics: [posted] };
      ctx.log?.(`fired ${address}${req.reason === undefined ? '' : ' on a signal'}`);
    }
    const known = new Set(before.jobs.keys());
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const after = await listRunsNamed(gcp, ctx, template);
      const fresh = after.runs.find((r) => r.schedule === req.name && !known.has(runRef(r)));
      if (fresh) {
        return { run: fresh, diagnostics: await pruneScheduleHistory(gcp, ctx, req.name, observed.spec) };
      }
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

/**
 * A fire on a signal (a Schedule trigger) posts the job's own body to Vertex AI itself rather than
 * through RunJob: the run must record why it was fired (`MLFORM_ANNOTATIONS`, read back as the
 * run's annotations), and a signal-only Schedule's job is paused. The body is the one Cloud
 * Scheduler posts on time, so the run is the same run. Without `reason` (a signal-only Schedule
 * fired by hand) the body goes as it is. A diagnostic when the body is not mlform's.
 */
async function postBody(
  gcp: Gcp,
  job: SchedulerJob,
  reason: string | undefined,
  address: string,
): Promise<Diagnostic | undefined> {
  const body = postedBody(job);
  const uri = job.httpTarget?.uri ?? '';
  const tuning = uri.endsWith('/hyperparameterTuningJobs');
  const spec = (tuning ? body?.trialJobSpec : body?.jobSpec) as
    { workerPoolSpecs?: { containerSpec?: { env?: { name?: string; value?: string }[] } }[] } | undefined;
  const pools = spec?.workerPoolSpecs ?? [];
  if (!body || (!tuning && !uri.endsWith('/customJobs')) || pools.length === 0) {
    return error('gcp-schedule-record', `${job.name ?? ''}: the job does not post an mlform training job`, {
      address,
      hint: 'apply the Schedule manifest again to rewrite it',
    });
  }
  if (reason !== undefined) {
    const annotations = JSON.stringify(firedByTriggerAnnotations(reason, gcp.settings.now()));
    for (const env of pools.map((p) => p.containerSpec?.env ?? [])) {
      const own = env.find((e) => e.name === ENV.annotations);
      if (own) own.value = annotations;
      else env.push({ name: ENV.annotations, value: annotations });
    }
  }
  const parent = parentOf(gcp.settings.project, gcp.settings.trainingRegion);
  if (tuning) {
    await gcp.call('aiplatform', 'CreateHyperparameterTuningJob', (opts) =>
      gcp.clients.jobs.createHyperparameterTuningJob({ parent, hyperparameterTuningJob: body }, opts),
    );
  } else {
    await gcp.call('aiplatform', 'CreateCustomJob', (opts) =>
      gcp.clients.jobs.createCustomJob({ parent, customJob: body }, opts),
    );
  }
  return undefined;
}
