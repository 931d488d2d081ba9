import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeGcp } from '../fakes/gcp/index.js';
import { PARENT, closeAll, errCode, errStatus, start, waitFor, type Clients } from './helpers.js';

describe('Vertex: tuning jobs, operations, scale', () => {
  let fake: FakeGcp;
  let c: Clients;
  beforeEach(async () => {
    ({ fake, c } = await start({
      jobTiming: { queuedMs: 5, pendingMs: 5, runningMs: 20 },
      operationDelayMs: 30,
    }));
  });
  afterEach(async () => closeAll(fake, c));

  it('runs a HyperparameterTuningJob to SUCCEEDED with trials, lists and cancels', async () => {
    const body = {
      displayName: 'hp',
      labels: { 'mlform-stack': 'demo' },
      maxTrialCount: 3,
      parallelTrialCount: 1,
      studySpec: {
        metrics: [{ metricId: 'val_loss', goal: 'MINIMIZE' as const }],
        parameters: [
          {
            parameterId: 'lr',
            doubleValueSpec: { minValue: 0.0001, maxValue: 0.1 },
            scaleType: 'UNIT_LOG_SCALE' as const,
          },
        ],
      },
      trialJobSpec: {
        workerPoolSpecs: [
          {
            machineSpec: { machineType: 'n1-standard-4' },
            replicaCount: 1,
            containerSpec: { imageUri: 'img' },
          },
        ],
      },
    };
    const [job] = await c.jobs.createHyperparameterTuningJob({
      parent: PARENT,
      hyperparameterTuningJob: body,
    });
    expect(job.name).toMatch(/hyperparameterTuningJobs\/\d+$/);
    const done = await waitFor(async () => {
      const [j] = await c.jobs.getHyperparameterTuningJob({ name: job.name });
      return j.state === 'JOB_STATE_SUCCEEDED' ? j : undefined;
    });
    expect(done.trials).toHaveLength(3);
    const [listed] = await c.jobs.listHyperparameterTuningJobs({
      parent: PARENT,
      filter: 'labels.mlform-stack=demo',
    });
    expect(listed).toHaveLength(1);
    const [j2] = await c.jobs.createHyperparameterTuningJob({
      parent: PARENT,
      hyperparameterTuningJob: { ...body, displayName: 'hp2' },
    });
    await c.jobs.cancelHyperparameterTuningJob({ name: j2.name });
    await waitFor(async () => {
      const [j] = await c.jobs.getHyperparameterTuningJob({ name: j2.name });
      return j.state === 'JOB_STATE_CANCELLED' ? j : undefined;
    });
    fake.setOutOfCapacity(['NVIDIA_TESLA_T4']);
    const e: unknown = await c.jobs
      .createHyperparameterTuningJob({
        parent: PARENT,
        hyperparameterTuningJob: {
          ...body,
          trialJobSpec: {
            workerPoolSpecs: [
              {
                machineSpec: {
                  machineType: 'n1-standard-4',
                  acceleratorType: 'NVIDIA_TESLA_T4',
                  acceleratorCount: 1,
                },
                replicaCount: 1,
                containerSpec: { imageUri: 'i' },
              },
            ],
          },
        },
      })
      .catch((x: unknown) => x);
    expect(errCode(e)).toBe(429);
    expect(String(e)).toContain('custom_model_training_nvidia_t4_gpus');
  });

  it('serves LRO polling on the /ui/ paths (location- and model-scoped); unknown ops are 404', async () => {
    const [op] = await c.models.uploadModel({ parent: PARENT, model: { displayName: 'm' } });
    expect(op.done).toBeFalsy();
    await op.promise();
    const [del] = await c.models.deleteModel({ name: `${PARENT}/models/${String(op.name).split('/')[5]}` });
    await del.promise();
    const paths = fake.requests.filter((r) => r.rpc === 'GetOperation').map((r) => r.path);
    // gax picks the first binding of GetOperation's http rule: /ui/{name=...}.
    expect(paths.some((p) => p.startsWith('/ui/') && p.includes('/models/'))).toBe(true);
    expect(paths.some((p) => /^\/ui\/projects\/[^/]+\/locations\/[^/]+\/operations\//.test(p))).toBe(true);
    const e: unknown = await c.models
      .checkUploadModelProgress(`${PARENT}/operations/42`)
      .catch((x: unknown) => x);
    expect(errStatus(e)).toBe('NOT_FOUND');
    expect(fake.operations().every((o) => o.done)).toBe(true);
  });

  it('lists 1,000 seeded jobs by label, paged, quickly', async () => {
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) {
      fake.seed.customJob({
        displayName: `run-${i}`,
        labels: { 'mlform-stack': i % 2 ? 'a' : 'b', 'mlform-name': `run-${i}` },
        state: 'JOB_STATE_SUCCEEDED',
      });
    }
    expect(performance.now() - t0).toBeLessThan(2000);
    const [a] = await c.jobs.listCustomJobs({ parent: PARENT, filter: 'labels.mlform-stack="a"' });
    expect(a).toHaveLength(500);
    expect(fake.count({ rpc: 'ListCustomJobs' })).toBe(5);
    const [one] = await c.jobs.listCustomJobs({
      parent: PARENT,
      filter: 'labels.mlform-stack="a" AND labels.mlform-name="run-7"',
    });
    expect(one.map((j) => j.displayName)).toEqual(['run-7']);
    const bad: unknown = await c.jobs
      .listCustomJobs({ parent: PARENT, filter: 'create_time>"2020"' })
      .catch((x: unknown) => x);
    expect(errStatus(bad)).toBe('INVALID_ARGUMENT');
  });
});
