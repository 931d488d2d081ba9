import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeGcp } from '../fakes/gcp/index.js';
import { PARENT, closeAll, errStatus, start, type Clients } from './helpers.js';

const customJob = {
  displayName: 'nightly',
  labels: { 'mlform-stack': 'demo', 'mlform-name': 'nightly' },
  jobSpec: {
    workerPoolSpecs: [
      {
        machineSpec: { machineType: 'n1-standard-4' },
        replicaCount: '1',
        containerSpec: { imageUri: 'img:1' },
      },
    ],
  },
};

const job = (
  name: string,
  body: unknown,
  headers: Record<string, string> = { 'Content-Type': 'application/json' },
) => ({
  name: `${PARENT}/jobs/${name}`,
  description: 'retrain',
  schedule: '0 3 * * *',
  timeZone: 'Europe/Paris',
  httpTarget: {
    uri: `https://us-central1-aiplatform.googleapis.com/v1/${PARENT}/customJobs`,
    httpMethod: 'POST' as const,
    headers,
    body: Buffer.from(JSON.stringify(body)),
    oauthToken: {
      serviceAccountEmail: 'sa@test-project.iam.gserviceaccount.com',
      scope: 'https://www.googleapis.com/auth/cloud-platform',
    },
  },
});

describe('Cloud Scheduler', () => {
  let fake: FakeGcp;
  let c: Clients;
  beforeEach(async () => {
    ({ fake, c } = await start());
  });
  afterEach(async () => closeAll(fake, c));

  it('creates, pauses, resumes, updates, lists and fires a job into Vertex', async () => {
    const [created] = await c.scheduler.createJob({ parent: PARENT, job: job('nightly', customJob) });
    expect(created.state).toBe('ENABLED');
    expect(created.scheduleTime?.seconds).toBeTruthy();
    expect(created.userUpdateTime?.seconds).toBeTruthy();
    const [paused] = await c.scheduler.pauseJob({ name: created.name });
    expect(paused.state).toBe('PAUSED');
    const [resumed] = await c.scheduler.resumeJob({ name: created.name });
    expect(resumed.state).toBe('ENABLED');
    const [updated] = await c.scheduler.updateJob({
      job: { name: created.name, schedule: '0 4 * * *', description: 'ignored' },
      updateMask: { paths: ['schedule'] },
    });
    expect(updated.schedule).toBe('0 4 * * *');
    expect(updated.description).toBe('retrain');
    expect(updated.httpTarget?.uri).toContain('aiplatform.googleapis.com');

    const [ran] = await c.scheduler.runJob({ name: created.name });
    expect(ran.lastAttemptTime?.seconds).toBeTruthy();
    expect(ran.status?.code ?? 0).toBe(0);
    expect(fake.customJobs().map((j) => j.displayName)).toEqual(['nightly']);
    expect(fake.count({ rpc: 'CreateCustomJob' })).toBe(1);
    expect(fake.requests.find((r) => r.rpc === 'CreateCustomJob')?.internal).toBe(true);

    await fake.fireJob(String(created.name));
    expect(fake.customJobs()).toHaveLength(2);

    for (let i = 0; i < 4; i++) await c.scheduler.createJob({ parent: PARENT, job: job(`j${i}`, customJob) });
    const [all] = await c.scheduler.listJobs({ parent: PARENT, pageSize: 2 });
    expect(all).toHaveLength(5);
    await c.scheduler.deleteJob({ name: created.name });
    const e: unknown = await c.scheduler.getJob({ name: created.name }).catch((x: unknown) => x);
    expect(errStatus(e)).toBe('NOT_FOUND');
  });

  it('records failed attempts: missing Content-Type, misspelt body field, foreign host', async () => {
    const [noCt] = await c.scheduler.createJob({ parent: PARENT, job: job('noct', customJob, {}) });
    await fake.fireJob(String(noCt.name));
    const [j1] = await c.scheduler.getJob({ name: noCt.name });
    expect(j1.status?.code).toBe(3);
    expect(j1.status?.message).toContain('Content-Type');

    const [typo] = await c.scheduler.createJob({
      parent: PARENT,
      job: job('typo', { ...customJob, jobSpecs: {} }),
    });
    await fake.fireJob(String(typo.name));
    const [j2] = await c.scheduler.getJob({ name: typo.name });
    expect(j2.status?.code).toBe(3);
    expect(j2.status?.message).toBe(
      `Invalid JSON payload received. Unknown name "jobSpecs" at 'custom_job': Cannot find field.`,
    );

    const other = job('other', customJob);
    other.httpTarget.uri = 'https://example.com/hook';
    const [o] = await c.scheduler.createJob({ parent: PARENT, job: other });
    await fake.fireJob(String(o.name));
    const [j3] = await c.scheduler.getJob({ name: o.name });
    expect(j3.status?.code).toBe(14);
    expect(fake.customJobs()).toHaveLength(0);
    expect(fake.schedulerAttempts().map((a) => a.outcome.ok)).toEqual([false, false, false]);
  });

  it('rejects an invalid schedule and a duplicate job', async () => {
    const bad = { ...job('bad', customJob), schedule: 'every day' };
    const e: unknown = await c.scheduler.createJob({ parent: PARENT, job: bad }).catch((x: unknown) => x);
    expect(errStatus(e)).toBe('INVALID_ARGUMENT');
    await c.scheduler.createJob({ parent: PARENT, job: job('dup', customJob) });
    const e2: unknown = await c.scheduler
      .createJob({ parent: PARENT, job: job('dup', customJob) })
      .catch((x: unknown) => x);
    expect(errStatus(e2)).toBe('ALREADY_EXISTS');
  });
});
