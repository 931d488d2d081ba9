/**
 * Cloud Scheduler jobs in `mlform import` and `import:` (README.md "Importing existing objects").
 *
 * A Schedule fires a TrainingRun template; mlform's job posts that template's CustomJob to Vertex
 * AI (`schedules.ts`). A job made by hand is described as it is when it does the same kind of
 * thing: an HTTP POST of one CustomJob (one worker pool of one replica, a container) to
 * `customJobs` of the project in `gcp.trainingRegion`, on a 5-field cron. Its template is then a
 * TrainingRun with `trainer.container` (image, command, args, literal env) and `resources`
 * (machine, GPUs, Spot). Anything else (Pub/Sub or App Engine targets, another URL, tuning jobs,
 * several pools, Python packages) is listed with the reason and not written.
 *
 * Adopting changes the job's description only: the owner record mlform writes on its own jobs
 * (stack, name, spec hash, spec, annotations) plus `adopted`, the job's id, since the job keeps
 * the name it was made with. The body it posts is left as it is until the Schedule or its template
 * changes; then mlform writes its own CustomJob into the job, as for any Schedule.
 */
import type { protos as aiplatform } from '@google-cloud/aiplatform';
import { looksLikeCredential } from '../../resources/credential.js';
import { error, type Diagnostic } from '../../resources/diagnostic.js';
import type { ScheduleSpec } from '../../resources/schedule.js';
import { ACCELERATOR_TYPES } from '../../resources/training-run.js';
import type { AdoptRequest, ProviderContext, Response, UnmanagedObject } from '../provider.js';
import { isKind } from './call.js';
import type { Gcp, GcpSettings } from './context.js';
import { lastSegment, manifestName } from './import-names.js';
import { writeAdoptedObject } from './import-records.js';
import { ENV } from './jobs.js';
import { notOwned } from './ownership.js';
import {
  DESCRIPTION_LIMIT,
  ownerOfJob,
  postedBody,
  scheduleDescription,
  type SchedulerJob,
} from './schedules.js';

type CustomJob = aiplatform.google.cloud.aiplatform.v1.ICustomJob;

export const SCHEDULER_JOB_ID = /^projects\/[^/]+\/locations\/[^/]+\/jobs\/[A-Za-z0-9_-]{1,500}$/;

/** The TrainingRun spec (as a manifest writes it) of a job's template, or why there is none. */
export type JobTemplate = { spec: Record<string, unknown>; notes: string[] } | { reason: string };

const isPaused = (state: SchedulerJob['state']) => state === 'PAUSED' || state === 2;
const isPost = (method: unknown) =>
  method === undefined || method === null || method === 'POST' || method === 1;

/** What the job posts, as a TrainingRun template; `reason` when a manifest cannot say it. */
export function templateOfJob(job: SchedulerJob, settings: GcpSettings): JobTemplate {
  if (job.pubsubTarget)
    return { reason: 'it publishes to Pub/Sub; a Schedule fires a Vertex AI training job' };
  if (job.appEngineHttpTarget)
    return { reason: 'it calls App Engine; a Schedule fires a Vertex AI training job' };
  const target = job.httpTarget;
  const uri = target?.uri ?? '';
  const customJobs = `https://${settings.trainingRegion}-aiplatform.googleapis.com/v1/projects/${settings.project}/locations/${settings.trainingRegion}/customJobs`;
  if (/\/hyperparameterTuningJobs$/.test(uri))
    return { reason: 'it starts a hyperparameter tuning job; only a CustomJob is mapped to a template' };
  if (uri !== customJobs || !isPost(target?.httpMethod))
    return {
      reason: `it calls ${uri || 'no URL'}; a Schedule's job POSTs a CustomJob to ${customJobs} (gcp.trainingRegion)`,
    };
  const body = postedBody(job) as CustomJob | undefined;
  const pools = body?.jobSpec?.workerPoolSpecs ?? [];
  const pool = pools[0];
  if (!body || pools.length !== 1 || !pool)
    return {
      reason: `it posts ${body ? `${pools.length} worker pools` : 'no JSON body'}; a template runs one`,
    };
  if (Number(pool.replicaCount ?? 1) !== 1)
    return { reason: `its worker pool has ${String(pool.replicaCount)} replicas; a template runs one` };
  const container = pool.containerSpec;
  if (!container?.imageUri)
    return { reason: 'it runs a Python package, not a container; a template runs a container image' };
  const machine = pool.machineSpec;
  if (!machine?.machineType) return { reason: 'its worker pool names no machine type' };
  const gpu = machine.acceleratorType;
  const gpus = Number(machine.acceleratorCount ?? 0);
  const named = typeof gpu === 'string' && gpu !== 'ACCELERATOR_TYPE_UNSPECIFIED' ? gpu : undefined;
  if (named && gpus > 0 && !(ACCELERATOR_TYPES as readonly string[]).includes(named))
    return { reason: `its accelerator ${named} is not one mlform knows (${ACCELERATOR_TYPES.join(', ')})` };
  const env: Record<string, string> = {};
  const notes: string[] = [];
  for (const e of container.env ?? []) {
    if (!e.name) continue;
    if (Object.values(ENV).some((reserved) => reserved === e.name) || e.name.startsWith('MLFORM_')) {
      notes.push(`its variable ${e.name}: mlform sets it on the jobs it writes`);
      continue;
    }
    // A credential in the job's body is not copied into a manifest (a file bound for git).
    if (looksLikeCredential(e.value ?? '')) {
      notes.push(
        `its variable ${e.name}, which looks like a credential: add it as ${e.name}: {secretRef: {name, key}}`,
      );
      continue;
    }
    env[e.name] = e.value ?? '';
  }
  const spec = body.jobSpec;
  if (spec?.serviceAccount && spec.serviceAccount !== settings.serviceAccount)
    notes.push(
      `its service account ${spec.serviceAccount}: the jobs mlform writes run as gcp.serviceAccount (${settings.serviceAccount})`,
    );
  if (spec?.baseOutputDirectory?.outputUriPrefix)
    notes.push(
      `its output directory ${spec.baseOutputDirectory.outputUriPrefix}: the jobs mlform writes use the stack's bucket`,
    );
  const identity = target?.oauthToken?.serviceAccountEmail;
  if (identity && identity !== settings.serviceAccount)
    notes.push(`its caller ${identity}: mlform's jobs call Vertex AI as gcp.serviceAccount`);
  const spot = spec?.scheduling?.strategy === 'SPOT' || spec?.scheduling?.strategy === 3;
  return {
    spec: {
      trainer: {
        container: {
          image: container.imageUri,
          ...(container.command?.length && { command: [...container.command] }),
          ...(container.args?.length && { args: [...container.args] }),
          ...(Object.keys(env).length > 0 && { env }),
        },
      },
      resources: {
        machineType: machine.machineType,
        ...(named && gpus > 0 && { accelerator: { type: named, count: gpus } }),
        ...(spot && { spot: true }),
      },
    },
    notes,
  };
}

/** The Scheduler jobs of the project and region this stack does not own, with their templates. */
export function unmanagedJobs(
  jobs: readonly SchedulerJob[],
  settings: GcpSettings,
  stack: string,
): UnmanagedObject[] {
  return jobs.flatMap((job): UnmanagedObject[] => {
    const id = job.name ?? '';
    const owner = ownerOfJob(job);
    if (!id || owner?.stack === stack) return [];
    const name = manifestName(lastSegment(id));
    if (owner) return [{ kind: 'Schedule', id, name, owner, notes: [] }];
    const cron = job.schedule ?? '';
    const target =
      job.httpTarget?.uri ?? job.pubsubTarget?.topicName ?? job.appEngineHttpTarget?.relativeUri ?? '';
    const mapped: JobTemplate =
      cron.trim().split(/\s+/).length === 5
        ? templateOfJob(job, settings)
        : { reason: `its schedule "${cron}" is not a 5-field cron expression` };
    const notes = 'reason' in mapped ? [] : [...mapped.notes];
    if (job.retryConfig?.retryCount) notes.push('its retries: mlform writes jobs without retries');
    return [
      {
        kind: 'Schedule',
        id,
        name,
        schedule: {
          cron,
          timeZone: job.timeZone || 'Etc/UTC',
          paused: isPaused(job.state),
          target,
          ...('reason' in mapped ? { unsupported: mapped.reason } : { template: mapped.spec }),
        },
        notes,
      },
    ];
  });
}

const refuse = (address: string, message: string, hint?: string): Response => ({
  diagnostics: [error('gcp-adopt', `${address}: ${message}`, { address, ...(hint && { hint }) })],
});

/**
 * One UpdateJob of `description` only (the update mask): the job's schedule, state and the body it
 * posts stay as they are. The adoption record (`adopted/jobs/<name>.json`) first, so a write that
 * follows finds the job under the name it keeps.
 */
export async function adoptJob(
  gcp: Gcp,
  ctx: ProviderContext,
  req: AdoptRequest,
  address: string,
): Promise<Response> {
  if (!SCHEDULER_JOB_ID.test(req.id)) return refuse(address, `${req.id} is not a Cloud Scheduler job name`);
  let job: SchedulerJob;
  try {
    [job] = await gcp.call('scheduler', 'GetJob', (opts) =>
      gcp.clients.scheduler.getJob({ name: req.id }, opts),
    );
  } catch (e) {
    if (isKind(e, 'not-found')) return refuse(address, `Cloud Scheduler job ${req.id} does not exist`);
    throw e;
  }
  const wanted = { stack: ctx.stack, kind: 'schedule', name: req.name };
  const owner = ownerOfJob(job);
  if (owner && (owner.stack !== wanted.stack || owner.name !== wanted.name))
    return { diagnostics: [notOwned(address, `Cloud Scheduler job ${req.id}`, owner, wanted)] };
  const description = scheduleDescription(
    ctx.stack,
    req.name,
    req.specHash,
    req.spec as ScheduleSpec,
    req.annotations,
    lastSegment(req.id),
  );
  if (description.length > DESCRIPTION_LIMIT)
    return refuse(
      address,
      'the spec and annotations do not fit a Cloud Scheduler description (500 characters)',
      'shorten the annotations',
    );
  await writeAdoptedObject(gcp, ctx.stack, 'jobs', req.name, req.id);
  await gcp.call('scheduler', 'UpdateJob', (opts) =>
    gcp.clients.scheduler.updateJob(
      { job: { name: req.id, description }, updateMask: { paths: ['description'] } },
      opts,
    ),
  );
  ctx.log?.(`${address}: adopted ${req.id}`);
  return { diagnostics: [] as Diagnostic[] };
}
