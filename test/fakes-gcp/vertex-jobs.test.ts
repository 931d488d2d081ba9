import type { protos } from '@google-cloud/aiplatform';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeGcp } from '../fakes/gcp/index.js';
import { capacityMessage } from '../fakes/gcp/index.js';
import { PARENT, closeAll, errCode, errMessage, errStatus, start, waitFor, type Clients } from './helpers.js';

type ICustomJob = protos.google.cloud.aiplatform.v1.ICustomJob;
type Accel = NonNullable<NonNullable<protos.google.cloud.aiplatform.v1.IMachineSpec['acceleratorType']>>;

const jobBody = (name: string, labels: Record<string, string> = {}, accel?: Accel): ICustomJob => ({
  displayName: name,
  labels: { 'mlform-stack': 'demo', 'mlform-name': name, ...labels },
  jobSpec: {
    workerPoolSpecs: [
      {
        machineSpec: {
          machineType: 'g2-standard-8',
          ...(accel ? { acceleratorType: accel, acceleratorCount: 1 } : {}),
        },
        replicaCount: 1,
        containerSpec: {
          imageUri: 'us-docker.pkg.dev/p/r/trainer:1',
          args: ['--epochs', '3'],
          env: [{ name: 'A', value: 'b' }],
        },
      },
    ],
    baseOutputDirectory: { outputUriPrefix: 'gs://bucket/runs/x' },
    scheduling: { strategy: 'SPOT' as const },
  },
});

describe('Vertex CustomJobs', () => {
  let fake: FakeGcp;
  let c: Clients;
  beforeEach(async () => {
    ({ fake, c } = await start({ jobTiming: { queuedMs: 30, pendingMs: 30, runningMs: 60 } }));
  });
  afterEach(async () => closeAll(fake, c));

  it('creates, gets and goes through its states', async () => {
    const [job] = await c.jobs.createCustomJob({ parent: PARENT, customJob: jobBody('a') });
    expect(job.name).toMatch(/^projects\/test-project\/locations\/us-central1\/customJobs\/\d+$/);
    expect(job.state).toBe('JOB_STATE_QUEUED');
    expect(job.jobSpec?.scheduling?.strategy).toBe('SPOT');
    const seen = new Set<string>();
    const final = await waitFor(async () => {
      const [j] = await c.jobs.getCustomJob({ name: job.name });
      seen.add(String(j.state));
      return j.state === 'JOB_STATE_SUCCEEDED' ? j : undefined;
    });
    expect(seen.has('JOB_STATE_RUNNING')).toBe(true);
    expect(final.startTime?.seconds).toBeTruthy();
    expect(final.endTime?.seconds).toBeTruthy();
    expect(fake.count({ rpc: 'CreateCustomJob' })).toBe(1);
  });

  it('lists with label filters and paging', async () => {
    for (let i = 0; i < 7; i++)
      await c.jobs.createCustomJob({
        parent: PARENT,
        customJob: jobBody(`j${i}`, { group: i % 2 ? 'odd' : 'even' }),
      });
    const [all] = await c.jobs.listCustomJobs({ parent: PARENT, pageSize: 2 });
    expect(all).toHaveLength(7);
    expect(fake.count({ rpc: 'ListCustomJobs' })).toBe(4);
    const [odd] = await c.jobs.listCustomJobs({
      parent: PARENT,
      filter: 'labels.mlform-stack="demo" AND labels.group=odd',
    });
    expect(odd.map((j) => j.displayName).sort()).toEqual(['j1', 'j3', 'j5']);
    const [one] = await c.jobs.listCustomJobs({
      parent: PARENT,
      filter: 'labels.mlform-name="j4" AND display_name="j4"',
    });
    expect(one).toHaveLength(1);
    const [pageOne, , resp] = await c.jobs.listCustomJobs(
      { parent: PARENT, pageSize: 3 },
      { autoPaginate: false },
    );
    expect(pageOne).toHaveLength(3);
    expect(resp?.nextPageToken).toBeTruthy();
  });

  it('cancels a running job', async () => {
    const [job] = await c.jobs.createCustomJob({ parent: PARENT, customJob: jobBody('c') });
    await c.jobs.cancelCustomJob({ name: job.name });
    const final = await waitFor(async () => {
      const [j] = await c.jobs.getCustomJob({ name: job.name });
      return j.state === 'JOB_STATE_CANCELLED' ? j : undefined;
    });
    expect(final.error?.code).toBe(1);
    await expect(c.jobs.cancelCustomJob({ name: job.name })).rejects.toThrow(/Cannot cancel/);
  });

  it('rejects out-of-capacity accelerators with 429 RESOURCE_EXHAUSTED', async () => {
    fake.setOutOfCapacity(['NVIDIA_L4']);
    const err: unknown = await c.jobs
      .createCustomJob({ parent: PARENT, customJob: jobBody('gpu', {}, 'NVIDIA_L4') })
      .catch((e: unknown) => e);
    expect(errCode(err)).toBe(429);
    expect(errStatus(err)).toBe('RESOURCE_EXHAUSTED');
    expect(errMessage(err)).toContain(capacityMessage('NVIDIA_L4'));
    expect(errMessage(err)).toContain('custom_model_training_nvidia_l4_gpus');
    expect(fake.customJobs()).toHaveLength(0);
    expect(fake.count({ rpc: 'CreateCustomJob', status: 429 })).toBe(1);
  });

  it('preempts and fails jobs', async () => {
    const [a] = await c.jobs.createCustomJob({ parent: PARENT, customJob: jobBody('p') });
    fake.preempt(String(a.name));
    const [pa] = await c.jobs.getCustomJob({ name: a.name });
    expect(pa.state).toBe('JOB_STATE_FAILED');
    expect(pa.error?.code).toBe(14);
    expect(pa.error?.message).toMatch(/preempted/);
    const [b] = await c.jobs.createCustomJob({ parent: PARENT, customJob: jobBody('f') });
    fake.failJob(String(b.name), 'OOM');
    const [fb] = await c.jobs.getCustomJob({ name: b.name });
    expect(fb.state).toBe('JOB_STATE_FAILED');
    expect(fb.error?.message).toBe('OOM');
  });

  it('gives the container runner the job and its env, and fails on non-zero exit', async () => {
    await closeAll(fake, c);
    const runs: string[] = [];
    ({ fake, c } = await start({
      jobTiming: { queuedMs: 1, pendingMs: 1 },
      runContainer: async (run) => {
        runs.push(JSON.stringify(run));
        expect(run.env.AIP_MODEL_DIR).toBe('gs://bucket/runs/x/model/');
        expect(run.env.STORAGE_EMULATOR_HOST).toBe(fake.url);
        expect(run.env.CLOUD_ML_JOB_ID).toBe(run.jobId);
        expect(run.env.A).toBe('b');
        expect(run.containerSpec.args).toEqual(['--epochs', '3']);
        expect(run.schedulingStrategy).toBe('SPOT');
        return run.displayName === 'bad' ? { exitCode: 2, message: 'boom' } : { exitCode: 0 };
      },
    }));
    const [ok] = await c.jobs.createCustomJob({ parent: PARENT, customJob: jobBody('good') });
    const [bad] = await c.jobs.createCustomJob({ parent: PARENT, customJob: jobBody('bad') });
    const done = async (name: string) =>
      waitFor(async () => {
        const [j] = await c.jobs.getCustomJob({ name });
        return ['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED'].includes(String(j.state)) ? j : undefined;
      });
    expect((await done(String(ok.name))).state).toBe('JOB_STATE_SUCCEEDED');
    const b = await done(String(bad.name));
    expect(b.state).toBe('JOB_STATE_FAILED');
    expect(b.error?.message).toContain('non-zero status of 2');
    expect(b.error?.message).toContain('boom');
    expect(runs).toHaveLength(2);
  });

  it('answers 400 for a misspelt field', async () => {
    // The SDK drops unknown fields itself (fromObject), so send the raw HTTP request.
    const res = await fetch(`${fake.url}/v1/${PARENT}/customJobs?$alt=json%3Benum-encoding=int`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        displayName: 'x',
        jobSpec: { workerPoolSpecs: [{ machineSpec: { machineTyp: 'n1' } }] },
      }),
    });
    expect(res.status).toBe(400);
    const json = (await res.json()) as { error: { status: string; message: string } };
    expect(json.error.status).toBe('INVALID_ARGUMENT');
    expect(json.error.message).toBe(
      `Invalid JSON payload received. Unknown name "machineTyp" at 'custom_job.job_spec.worker_pool_specs[0].machine_spec': Cannot find field.`,
    );
  });
});
