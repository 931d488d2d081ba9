/** Vertex AI JobService: CustomJobs and HyperparameterTuningJobs with a timed state machine. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FakeContainerRun, FakeEnv } from './env.js';
import {
  ApiError,
  arr,
  deepClone,
  isRecord,
  notFound,
  nowIso,
  rec,
  str,
  type HandlerContext,
} from './http.js';
import { matchFilter, page, parseFilter } from './list.js';
import { PL, SEG, type Route } from './router.js';
import { checkStudySpec, sampleTrialParameters } from './vizier-study.js';

export type JobKind = 'customJobs' | 'hyperparameterTuningJobs';

export type JobState =
  | 'JOB_STATE_QUEUED'
  | 'JOB_STATE_PENDING'
  | 'JOB_STATE_RUNNING'
  | 'JOB_STATE_SUCCEEDED'
  | 'JOB_STATE_FAILED'
  | 'JOB_STATE_CANCELLING'
  | 'JOB_STATE_CANCELLED';

const TERMINAL = new Set<string>(['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED']);

/** Error message of a job whose SPOT VM was preempted (code 14, UNAVAILABLE). */
export const PREEMPTED_MESSAGE =
  'The replica workerpool0-0 was preempted: the Spot VM was reclaimed by Compute Engine. The job failed; rerun it (Vertex does not restart preempted CustomJobs by itself).';

export const capacityMessage = (acceleratorType: string): string =>
  `The following quota metrics exceed quota limits: aiplatform.googleapis.com/custom_model_training_${acceleratorType
    .toLowerCase()
    .replace('tesla_', '')}_gpus`;

export const exitMessage = (code: number): string =>
  `The replica workerpool0-0 exited with a non-zero status of ${code}. To find out more about why your job exited please check the logs: https://console.cloud.google.com/logs/viewer`;

interface JobRecord {
  kind: JobKind;
  resource: Record<string, unknown>;
  abort?: AbortController;
  /** Bumped on every external transition; stale timers compare it. */
  epoch: number;
}

const TYPE: Record<JobKind, string> = {
  customJobs: 'google.cloud.aiplatform.v1.CustomJob',
  hyperparameterTuningJobs: 'google.cloud.aiplatform.v1.HyperparameterTuningJob',
};
const RPC: Record<JobKind, string> = {
  customJobs: 'CustomJob',
  hyperparameterTuningJobs: 'HyperparameterTuningJob',
};
const BODY: Record<JobKind, string> = {
  customJobs: 'custom_job',
  hyperparameterTuningJobs: 'hyperparameter_tuning_job',
};

export interface SeedJob {
  project?: string;
  location?: string;
  displayName: string;
  labels?: Record<string, string>;
  state?: JobState;
  jobSpec?: Record<string, unknown>;
  createTime?: string;
}

export class VertexJobs {
  private readonly jobs = new Map<string, JobRecord>();
  private counter = 0;
  /** Set by the fake: a job naming a TensorBoard instance that does not exist is refused. */
  tensorboardExists: (name: string) => boolean = () => false;

  constructor(private readonly env: FakeEnv) {}

  routes(): Route[] {
    const routes: Route[] = [];
    for (const kind of ['customJobs', 'hyperparameterTuningJobs'] as const) {
      const rpc = RPC[kind];
      routes.push(
        {
          method: 'POST',
          pattern: new RegExp(`^/v1/${PL}/${kind}$`),
          api: 'aiplatform',
          rpc: `Create${rpc}`,
          handler: (ctx) => ({ json: this.create(kind, ctx) }),
        },
        {
          method: 'GET',
          pattern: new RegExp(`^/v1/${PL}/${kind}$`),
          api: 'aiplatform',
          rpc: `List${rpc}s`,
          handler: (ctx) => ({ json: this.list(kind, ctx) }),
        },
        {
          method: 'GET',
          pattern: new RegExp(`^/v1/(?<name>${PL}/${kind}/${SEG})$`),
          api: 'aiplatform',
          rpc: `Get${rpc}`,
          handler: (ctx) => ({ json: this.view(this.get(ctx.params.name ?? '')) }),
        },
        {
          method: 'POST',
          pattern: new RegExp(`^/v1/(?<name>${PL}/${kind}/${SEG}):cancel$`),
          api: 'aiplatform',
          rpc: `Cancel${rpc}`,
          handler: (ctx) => {
            this.env.body(ctx, 'aiplatform', `google.cloud.aiplatform.v1.Cancel${rpc}Request`, '');
            this.cancel(ctx.params.name ?? '');
            return { json: {} };
          },
        },
      );
    }
    return routes;
  }

  private nextId(): string {
    this.counter += 1;
    return String(1000000000000000000n + BigInt(this.counter));
  }

  private create(kind: JobKind, ctx: HandlerContext): Record<string, unknown> {
    const body = this.env.body(ctx, 'aiplatform', TYPE[kind], BODY[kind]);
    const root = BODY[kind];
    if (!str(body.displayName)) {
      throw new ApiError(
        'INVALID_ARGUMENT',
        `List of found errors:\t1.Field: ${root}.display_name; Message: Required field is not set.\t`,
      );
    }
    const spec = kind === 'customJobs' ? rec(body.jobSpec) : rec(body.trialJobSpec);
    const pools = arr(spec.workerPoolSpecs);
    const specPath = kind === 'customJobs' ? `${root}.job_spec` : `${root}.trial_job_spec`;
    if (pools.length === 0) {
      throw new ApiError(
        'INVALID_ARGUMENT',
        `List of found errors:\t1.Field: ${specPath}.worker_pool_specs; Message: Required field is not set.\t`,
      );
    }
    if (kind === 'hyperparameterTuningJobs') {
      if (!isRecord(body.studySpec)) {
        throw new ApiError(
          'INVALID_ARGUMENT',
          `List of found errors:\t1.Field: ${root}.study_spec; Message: Required field is not set.\t`,
        );
      }
      checkStudySpec(body.studySpec);
    }
    const tensorboard = str(spec.tensorboard);
    if (tensorboard && !this.tensorboardExists(tensorboard)) {
      throw new ApiError('NOT_FOUND', `Tensorboard ${tensorboard} is not found.`);
    }
    for (const p of pools) {
      const accel = str(rec(rec(p).machineSpec).acceleratorType);
      if (accel && this.env.options.outOfCapacity.includes(accel)) {
        throw new ApiError('RESOURCE_EXHAUSTED', capacityMessage(accel));
      }
    }
    const { project = '', location = '' } = ctx.params;
    const now = nowIso();
    const resource: Record<string, unknown> = {
      ...body,
      name: `projects/${project}/locations/${location}/${kind}/${this.nextId()}`,
      state: 'JOB_STATE_QUEUED',
      createTime: now,
      updateTime: now,
    };
    delete resource.startTime;
    delete resource.endTime;
    delete resource.error;
    const job: JobRecord = { kind, resource, epoch: 0 };
    this.jobs.set(String(resource.name), job);
    this.schedule(job);
    return this.view(job);
  }

  private schedule(job: JobRecord): void {
    const { queuedMs, pendingMs } = this.env.options.jobTiming;
    const epoch = job.epoch;
    this.env.later(queuedMs, () => {
      if (job.epoch !== epoch) return;
      this.transition(job, 'JOB_STATE_PENDING');
      this.env.later(pendingMs, () => {
        if (job.epoch !== epoch) return;
        this.transition(job, 'JOB_STATE_RUNNING');
        this.run(job, epoch);
      });
    });
  }

  private run(job: JobRecord, epoch: number): void {
    const runner = this.env.options.runContainer;
    if (runner && job.kind === 'hyperparameterTuningJobs') {
      void this.runTrials(job, epoch);
      return;
    }
    if (!runner || job.kind !== 'customJobs') {
      this.env.later(this.env.options.jobTiming.runningMs, () => {
        if (job.epoch !== epoch) return;
        this.succeed(job);
      });
      return;
    }
    const abort = new AbortController();
    job.abort = abort;
    this.env.aborts.add(abort);
    const done = (exitCode: number, message?: string): void => {
      this.env.aborts.delete(abort);
      if (job.epoch !== epoch || TERMINAL.has(String(job.resource.state))) return;
      if (exitCode === 0) this.succeed(job);
      else this.fail(job, 13, message ? `${exitMessage(exitCode)} ${message}` : exitMessage(exitCode));
    };
    let run: FakeContainerRun;
    try {
      run = this.containerRun(job);
    } catch (e) {
      done(1, `fake: cannot build container run: ${String(e)}`);
      return;
    }
    runner(run, abort.signal).then(
      (r) => done(r.exitCode, r.message),
      (e: unknown) => done(1, e instanceof Error ? e.message : String(e)),
    );
  }

  /**
   * A HyperparameterTuningJob with a runner: up to `parallelTrialCount` trials at a time, each the
   * trial job spec run through `runContainer` with Vertex's trial env (`CLOUD_ML_TRIAL_ID`,
   * `AIP_MODEL_DIR=<base>/<trialId>/model/`, its own `CLOUD_ML_HP_METRIC_FILE`) and the parameters
   * appended to the args as `--<parameterId>=<value>`, sampled at random (seeded by the job number).
   * The trial's measurement is the newest hypertune line carrying the study's metric.
   */
  private async runTrials(job: JobRecord, epoch: number): Promise<void> {
    const runner = this.env.options.runContainer;
    if (!runner) return;
    const r = job.resource;
    const study = rec(r.studySpec);
    const metricIds = arr(study.metrics).map((m) => String(rec(m).metricId ?? ''));
    const params = arr(study.parameters);
    const max = Math.max(1, Number(r.maxTrialCount ?? 1) || 1);
    const parallel = Math.max(1, Math.min(max, Number(r.parallelTrialCount ?? 1) || 1));
    const maxFailed = Number(r.maxFailedTrialCount ?? 0) || 0;
    const random = mulberry32(Number(String(r.name).split('/').pop()?.slice(-9) ?? '1'));
    const abort = new AbortController();
    job.abort = abort;
    this.env.aborts.add(abort);
    const dir = await mkdtemp(join(tmpdir(), 'fake-gcp-hpt-'));
    const trials: Record<string, unknown>[] = [];
    r.trials = trials;
    const live = () => job.epoch === epoch && !TERMINAL.has(String(r.state)) && !abort.signal.aborted;
    let next = 0;
    let failed = 0;
    const worker = async (): Promise<void> => {
      while (live() && next < max && (maxFailed === 0 || failed < maxFailed)) {
        next += 1;
        const id = String(next);
        const values = sampleTrialParameters(params, random);
        // Vertex runs each trial as a CustomJob of its own, named in the trial (`Trial.custom_job`).
        const customJob = String(r.name).replace(
          /hyperparameterTuningJobs\/([^/]+)$/,
          `customJobs/$1${id.padStart(3, '0')}`,
        );
        const trial: Record<string, unknown> = {
          id,
          state: 'ACTIVE',
          parameters: values,
          startTime: nowIso(),
          customJob,
        };
        trials.push(trial);
        trials.sort((a, b) => Number(a.id) - Number(b.id));
        const metricFile = join(dir, `trial-${id}`, 'output.metrics');
        let result: { exitCode: number; message?: string };
        try {
          const run = this.containerRun(job, { trialId: id, metricFile, params: values, customJob });
          result = await runner(run, abort.signal);
        } catch (e) {
          result = { exitCode: 1, message: e instanceof Error ? e.message : String(e) };
        }
        if (!live()) return;
        trial.endTime = nowIso();
        const text = result.exitCode === 0 ? await readFile(metricFile, 'utf8').catch(() => '') : '';
        const reported = metricIds.map((metricId) => ({ metricId, found: lastMetric(text, metricId) }));
        const missing = reported.find((m) => !m.found);
        if (result.exitCode === 0 && !missing) {
          trial.state = 'SUCCEEDED';
          trial.finalMeasurement = {
            stepCount: String(reported[0]?.found?.step ?? 0),
            metrics: reported.map((m) => ({ metricId: m.metricId, value: m.found?.value })),
          };
        } else {
          failed += 1;
          trial.state = 'INFEASIBLE';
          trial.infeasibleReason =
            result.exitCode === 0
              ? `The trial did not report the metric ${missing?.metricId ?? ''}.`
              : `${exitMessage(result.exitCode)}${result.message ? ` ${result.message}` : ''}`;
        }
        r.updateTime = nowIso();
      }
    };
    try {
      await Promise.all(Array.from({ length: parallel }, () => worker()));
    } finally {
      this.env.aborts.delete(abort);
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
    if (job.epoch !== epoch || TERMINAL.has(String(r.state))) return;
    if (trials.some((t) => t.state === 'SUCCEEDED')) this.succeed(job);
    else this.fail(job, 9, `All trials failed. ${String(trials[0]?.infeasibleReason ?? '')}`.trim());
  }

  private containerRun(
    job: JobRecord,
    trial?: {
      trialId: string;
      metricFile: string;
      params: { parameterId: string; value: number | string }[];
      customJob: string;
    },
  ): FakeContainerRun {
    const r = job.resource;
    // A trial's container runs as the trial's own CustomJob: CLOUD_ML_JOB_ID is that job's id.
    const name = trial ? trial.customJob : String(r.name);
    const jobId = name.split('/').pop() ?? '';
    const spec = trial ? rec(r.trialJobSpec) : rec(r.jobSpec);
    const pool = rec(arr(spec.workerPoolSpecs)[0]);
    const cs = rec(pool.containerSpec);
    const envList = arr(cs.env).map((e) => ({
      name: String(rec(e).name ?? ''),
      value: String(rec(e).value ?? ''),
    }));
    const base = str(rec(spec.baseOutputDirectory).outputUriPrefix)?.replace(/\/+$/, '');
    // A trial's outputs go under `<base>/<trialId>/`.
    const prefix = base && trial ? `${base}/${trial.trialId}` : base;
    const env: Record<string, string> = { CLOUD_ML_JOB_ID: jobId, STORAGE_EMULATOR_HOST: this.env.url };
    if (trial) {
      env.CLOUD_ML_TRIAL_ID = trial.trialId;
      env.CLOUD_ML_HP_METRIC_FILE = trial.metricFile;
    }
    if (prefix) {
      env.AIP_MODEL_DIR = `${prefix}/model/`;
      env.AIP_CHECKPOINT_DIR = `${prefix}/checkpoints/`;
      env.AIP_TENSORBOARD_LOG_DIR = `${prefix}/logs/`;
    }
    for (const e of envList) env[e.name] = e.value;
    const labels: Record<string, string> = {};
    for (const [k, v] of Object.entries(rec(r.labels))) labels[k] = String(v);
    const strategy = str(rec(spec.scheduling).strategy);
    return {
      jobName: name,
      jobId,
      displayName: String(r.displayName ?? ''),
      labels,
      containerSpec: {
        imageUri: String(cs.imageUri ?? ''),
        command: arr(cs.command).map(String),
        args: [
          ...arr(cs.args).map(String),
          ...(trial?.params ?? []).map((p) => `--${p.parameterId}=${String(p.value)}`),
        ],
        env: envList,
      },
      machineSpec: rec(pool.machineSpec),
      ...(prefix ? { outputUriPrefix: prefix } : {}),
      ...(strategy ? { schedulingStrategy: strategy } : {}),
      env,
    };
  }

  private transition(job: JobRecord, state: JobState): void {
    const now = nowIso();
    job.resource.state = state;
    job.resource.updateTime = now;
    if (state === 'JOB_STATE_RUNNING' && !job.resource.startTime) job.resource.startTime = now;
    if (TERMINAL.has(state)) {
      job.resource.endTime = now;
      job.abort?.abort();
      job.abort = undefined;
    }
  }

  private succeed(job: JobRecord): void {
    if (job.kind === 'hyperparameterTuningJobs' && !Array.isArray(job.resource.trials)) {
      const n = Number(job.resource.maxTrialCount ?? 1) || 1;
      const now = nowIso();
      job.resource.trials = Array.from({ length: n }, (_, i) => ({
        id: String(i + 1),
        state: 'SUCCEEDED',
        startTime: String(job.resource.startTime ?? now),
        endTime: now,
        parameters: [],
      }));
    }
    this.transition(job, 'JOB_STATE_SUCCEEDED');
  }

  private fail(job: JobRecord, code: number, message: string): void {
    job.resource.error = { code, message };
    this.transition(job, 'JOB_STATE_FAILED');
  }

  private list(kind: JobKind, ctx: HandlerContext): Record<string, unknown> {
    const { project = '', location = '' } = ctx.params;
    const terms = parseFilter(ctx.query.get('filter'));
    const prefix = `projects/${project}/locations/${location}/${kind}/`;
    const all = [...this.jobs.values()]
      .filter(
        (j) =>
          j.kind === kind && String(j.resource.name).startsWith(prefix) && matchFilter(terms, j.resource),
      )
      .reverse(); // newest first, like Vertex
    const p = page(all, ctx.query, this.env.pageOpts());
    const out: Record<string, unknown> = { [kind]: p.items.map((j) => this.view(j)) };
    if (p.nextPageToken) out.nextPageToken = p.nextPageToken;
    return out;
  }

  private get(name: string): JobRecord {
    const job = this.jobs.get(name);
    if (!job) throw notFound(`Resource ${name}`);
    return job;
  }

  private view(job: JobRecord): Record<string, unknown> {
    return this.env.out('aiplatform', TYPE[job.kind], deepClone(job.resource));
  }

  cancel(name: string): void {
    const job = this.get(name);
    const state = String(job.resource.state);
    if (TERMINAL.has(state) || state === 'JOB_STATE_CANCELLING') {
      throw new ApiError('FAILED_PRECONDITION', `Cannot cancel job ${name} in state ${state}.`);
    }
    job.epoch += 1;
    this.transition(job, 'JOB_STATE_CANCELLING');
    job.abort?.abort();
    const epoch = job.epoch;
    this.env.later(Math.min(this.env.options.jobTiming.queuedMs, 20), () => {
      if (job.epoch !== epoch) return;
      job.resource.error = { code: 1, message: 'CANCELED' };
      this.transition(job, 'JOB_STATE_CANCELLED');
    });
  }

  /** SPOT preemption: the job fails (code 14) with PREEMPTED_MESSAGE. */
  preempt(name: string): void {
    const job = this.get(name);
    if (TERMINAL.has(String(job.resource.state)))
      throw new Error(`job ${name} is already ${String(job.resource.state)}`);
    job.epoch += 1;
    this.fail(job, 14, PREEMPTED_MESSAGE);
  }

  failJob(name: string, message: string): void {
    const job = this.get(name);
    job.epoch += 1;
    this.fail(job, 13, message);
  }

  /** Forces a state (tests). Terminal states stop timers and the runner. */
  setState(name: string, state: JobState): void {
    const job = this.get(name);
    job.epoch += 1;
    this.transition(job, state);
  }

  all(kind: JobKind): Record<string, unknown>[] {
    return [...this.jobs.values()].filter((j) => j.kind === kind).map((j) => deepClone(j.resource));
  }

  /** Inserts a job without HTTP. Without `state` it goes through the timed state machine. */
  seed(kind: JobKind, s: SeedJob): Record<string, unknown> {
    const now = s.createTime ?? nowIso();
    const resource: Record<string, unknown> = {
      name: `projects/${s.project ?? 'test-project'}/locations/${s.location ?? 'us-central1'}/${kind}/${this.nextId()}`,
      displayName: s.displayName,
      ...(kind === 'customJobs'
        ? {
            jobSpec: s.jobSpec ?? {
              workerPoolSpecs: [
                {
                  machineSpec: { machineType: 'n1-standard-4' },
                  replicaCount: '1',
                  containerSpec: { imageUri: 'gcr.io/x/trainer' },
                },
              ],
            },
          }
        : { trialJobSpec: s.jobSpec ?? {}, studySpec: {}, maxTrialCount: 1 }),
      labels: s.labels ?? {},
      state: s.state ?? 'JOB_STATE_QUEUED',
      createTime: now,
      updateTime: now,
    };
    if (s.state && s.state !== 'JOB_STATE_QUEUED' && s.state !== 'JOB_STATE_PENDING')
      resource.startTime = now;
    if (s.state && TERMINAL.has(s.state)) resource.endTime = now;
    const job: JobRecord = { kind, resource, epoch: 0 };
    this.jobs.set(String(resource.name), job);
    if (!s.state) this.schedule(job);
    return deepClone(resource);
  }
}

/** A small seeded PRNG (mulberry32): uniform draws in [0, 1). */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random value of one StudySpec.ParameterSpec (Vertex passes these as the trial's args). */
/** The newest hypertune line carrying `metricId` (cloudml-hypertune writes values as strings). */
function lastMetric(text: string, metricId: string): { value: number; step: number } | undefined {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  for (let i = lines.length - 1; i >= 0; i--) {
    let entry: unknown;
    try {
      entry = JSON.parse(lines[i]);
    } catch {
      continue;
    }
    if (!isRecord(entry) || entry[metricId] === undefined || entry[metricId] === '') continue;
    const value = Number(entry[metricId]);
    if (Number.isFinite(value)) return { value, step: Number(entry.global_step ?? 0) || 0 };
  }
  return undefined;
}
