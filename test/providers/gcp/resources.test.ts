/** Models, endpoints and schedules of the gcp provider against the fake, through the Provider verbs. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObservedRun, PutEndpointRequest } from '../../../providers/provider.js';
import type { DeployedEndpointSpec } from '../../../resources/deployed-endpoint.js';
import type { RegisteredModelSpec } from '../../../resources/registered-model.js';
import type { ScheduleSpec } from '../../../resources/schedule.js';
import type { TrainingRunSpec } from '../../../resources/training-run.js';
import { harness, waitFor, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await harness({ revisionReadyMs: 150 });
});
afterAll(async () => {
  await h?.close();
});

const runSpec = {
  trainer: {
    builtin: {
      task: 'regression',
      data: { uri: 'gs://d/cars.json', target: 'y', features: ['a'], validationSplit: 0.2 },
    },
  },
  resources: { machineType: 'n1-standard-4', spot: false },
} as unknown as TrainingRunSpec;

const run = (number: number): ObservedRun => ({
  name: 'mpg-mlp',
  number,
  specHash: 'f'.repeat(64),
  state: 'succeeded',
  attempt: 1,
  createdAt: new Date().toISOString(),
  artifactUri: `gs://mlform-test/state/demo/runs/mpg-mlp/${number}`,
  metrics: { val_mae: 3 - number * 0.1 },
  baseline: { val_mae: 6 },
  annotations: {},
});

const endpointSpec = {
  model: 'mpg',
  traffic: [{ version: 'champion', percent: 100 }],
  preset: 'development',
  scaling: { minInstances: 0, maxInstances: 2 },
  resources: { memory: '2Gi', cpu: '1' },
  batching: { enabled: true, maxBatchSize: 64, batchTimeoutMicros: 2000 },
  timeoutSeconds: 300,
} as DeployedEndpointSpec;

const putEndpoint = (traffic: PutEndpointRequest['traffic'], specHash = '1'.repeat(64)) =>
  h.provider.deployedEndpoints.put(h.ctx, {
    name: 'mpg-api',
    spec: endpointSpec,
    specHash,
    traffic,
    labels: {},
    annotations: {},
  });

describe('registered models (Vertex AI Model Registry + GCS record)', () => {
  it('keeps a record without versions, registers idempotently by run, moves aliases, applies retention', async () => {
    const spec = {
      description: 'mpg',
      aliases: {},
      retention: { keepVersions: 10 },
    } as unknown as RegisteredModelSpec;
    expect(
      (
        await h.provider.registeredModels.put(h.ctx, {
          name: 'mpg',
          spec,
          specHash: '2'.repeat(64),
          labels: {},
          annotations: { a: 'b' },
        })
      ).diagnostics,
    ).toEqual([]);
    let listed = await h.provider.registeredModels.list(h.ctx);
    expect(listed.items).toEqual([
      { name: 'mpg', specHash: '2'.repeat(64), spec, annotations: { a: 'b' }, versions: [], aliases: {} },
    ]);

    const v1 = await h.provider.registeredModels.registerVersion(h.ctx, { model: 'mpg', run: run(1) });
    expect(v1.diagnostics).toEqual([]);
    expect(v1.version).toMatchObject({
      version: 1,
      run: { name: 'mpg-mlp', number: 1 },
      metrics: { val_mae: 2.9 },
    });
    const again = await h.provider.registeredModels.registerVersion(h.ctx, { model: 'mpg', run: run(1) });
    expect(again.version?.version).toBe(1);
    const v2 = await h.provider.registeredModels.registerVersion(h.ctx, { model: 'mpg', run: run(2) });
    expect(v2.version?.version).toBe(2);
    expect(h.fake.count({ rpc: 'UploadModel' })).toBe(2);

    expect(
      (await h.provider.registeredModels.moveAlias(h.ctx, { model: 'mpg', alias: 'champion', version: 1 }))
        .diagnostics,
    ).toEqual([]);
    expect(
      (await h.provider.registeredModels.moveAlias(h.ctx, { model: 'mpg', alias: 'champion', version: 2 }))
        .diagnostics,
    ).toEqual([]);
    listed = await h.provider.registeredModels.list(h.ctx);
    expect(listed.items[0].aliases).toEqual({ champion: 2 });
    expect(listed.items[0].versions.map((v) => [v.version, v.run.number, v.artifactUri])).toEqual([
      [1, 1, 'gs://mlform-test/state/demo/runs/mpg-mlp/1'],
      [2, 2, 'gs://mlform-test/state/demo/runs/mpg-mlp/2'],
    ]);
    // Retention deletes the oldest, even though it is Vertex AI's default version.
    expect(
      (await h.provider.registeredModels.deleteVersion(h.ctx, { model: 'mpg', version: 1 })).diagnostics,
    ).toEqual([]);
    // An aliased version is refused.
    expect(
      (await h.provider.registeredModels.deleteVersion(h.ctx, { model: 'mpg', version: 2 })).diagnostics[0]
        .code,
    ).toBe('gcp-version-in-use');
    listed = await h.provider.registeredModels.list(h.ctx);
    expect(listed.items[0].versions.map((v) => v.version)).toEqual([2]);
  });
});

describe('deployed endpoints (Cloud Run)', () => {
  it('creates the service with revision <service>-v1 taking all traffic', async () => {
    const r = await putEndpoint([{ version: 1, percent: 100, artifactUri: run(1).artifactUri ?? '' }]);
    expect(r.diagnostics).toEqual([]);
    expect(r.endpoint).toMatchObject({
      name: 'mpg-api',
      traffic: [{ version: 1, percent: 100 }],
      healthy: true,
    });
    const listed = await h.provider.deployedEndpoints.list(h.ctx);
    expect(listed.items[0].live).toEqual({
      scaling: endpointSpec.scaling,
      resources: endpointSpec.resources,
      batching: endpointSpec.batching,
      timeoutSeconds: 300,
    });
  });

  it('a new version starts at 0% and takes traffic only once its revision is ready', async () => {
    h.fake.resetRequests();
    const r = await putEndpoint([
      { version: 1, percent: 90, artifactUri: run(1).artifactUri ?? '' },
      { version: 2, percent: 10, artifactUri: run(2).artifactUri ?? '' },
    ]);
    expect(r.diagnostics).toEqual([]);
    expect(r.endpoint?.traffic).toEqual([
      { version: 1, percent: 90 },
      { version: 2, percent: 10 },
    ]);
    const rpcs = h.fake.requests.filter((q) => q.api === 'run' && !q.internal).map((q) => q.rpc);
    const updates = rpcs.map((rpc, i) => (rpc === 'UpdateService' ? i : -1)).filter((i) => i >= 0);
    expect(updates).toHaveLength(2);
    // Between the revision's creation and the traffic move: readiness polls.
    expect(rpcs.slice(updates[0], updates[1])).toContain('GetRevision');
    const revisions = h.fake.revisions().map((x) => String(x.name).split('/').pop());
    expect(revisions).toEqual(expect.arrayContaining(['mpg-api-v1', 'mpg-api-v2']));
  });

  it('a no-op put creates no revision; delete removes the service', async () => {
    const before = h.fake.revisions().length;
    const r = await putEndpoint([
      { version: 1, percent: 90, artifactUri: run(1).artifactUri ?? '' },
      { version: 2, percent: 10, artifactUri: run(2).artifactUri ?? '' },
    ]);
    expect(r.diagnostics).toEqual([]);
    expect(h.fake.revisions().length).toBe(before);
    expect((await h.provider.deployedEndpoints.delete(h.ctx, { name: 'mpg-api' })).diagnostics).toEqual([]);
    expect((await h.provider.deployedEndpoints.list(h.ctx)).items).toEqual([]);
  });
});

describe('schedules (Cloud Scheduler -> Vertex AI)', () => {
  const spec = {
    trainingRun: 'mpg-mlp',
    cron: '0 6 * * 1',
    timeZone: 'Europe/Warsaw',
    suspend: false,
    concurrencyPolicy: 'Forbid',
    history: { successful: 5, failed: 3 },
  } as unknown as ScheduleSpec;
  const put = (suspend: boolean) =>
    h.provider.schedules.put(h.ctx, {
      name: 'weekly',
      spec: { ...spec, suspend },
      specHash: '3'.repeat(64),
      template: { spec: runSpec, specHash: '4'.repeat(64), manifestPath: 'training.yaml' },
      labels: {},
      annotations: {},
    });

  it('creates the job, pauses and resumes it, and a fired job is a run numbered after the others', async () => {
    expect((await put(false)).diagnostics).toEqual([]);
    const job = h.fake.schedulerJobs()[0];
    expect(job).toMatchObject({
      name: 'projects/demo-proj/locations/europe-west4/jobs/mlform-demo_weekly',
      schedule: '0 6 * * 1',
      timeZone: 'Europe/Warsaw',
    });
    const target = job.httpTarget as {
      uri: string;
      httpMethod: string;
      oauthToken: { serviceAccountEmail: string; scope: string };
    };
    expect(target.uri).toBe(
      'https://europe-west4-aiplatform.googleapis.com/v1/projects/demo-proj/locations/europe-west4/customJobs',
    );
    expect(target.httpMethod).toBe('POST');
    expect(target.oauthToken).toEqual({
      serviceAccountEmail: 'mlform-runner@demo-proj.iam.gserviceaccount.com',
      scope: 'https://www.googleapis.com/auth/cloud-platform',
    });
    expect((await h.provider.schedules.list(h.ctx)).items).toEqual([
      expect.objectContaining({ name: 'weekly', specHash: '3'.repeat(64), paused: false }),
    ]);
    expect((await put(true)).diagnostics).toEqual([]);
    expect((await h.provider.schedules.list(h.ctx)).items[0].paused).toBe(true);
    expect((await put(false)).diagnostics).toEqual([]);

    const before = (await h.provider.trainingRuns.list(h.ctx)).items.filter((r) => r.name === 'mpg-mlp');
    const fired = await h.provider.schedules.trigger(h.ctx, { name: 'weekly' });
    expect(fired.diagnostics).toEqual([]);
    expect(fired.run).toMatchObject({ name: 'mpg-mlp', schedule: 'weekly', number: before.length + 1 });
    const scheduled = await waitFor(async () => {
      const runs = (await h.provider.trainingRuns.list(h.ctx)).items;
      return runs.find((r) => r.schedule === 'weekly' && r.state === 'succeeded');
    });
    expect(scheduled).toMatchObject({
      name: 'mpg-mlp',
      specHash: '4'.repeat(64),
      number: before.length + 1,
      metrics: { val_mae: 2.5, val_loss: 0.1 },
    });
    expect(scheduled.artifactUri).toMatch(/^gs:\/\/mlform-test\/state\/demo\/runs\/mpg-mlp\/scheduled\/\d+$/);
    expect((await h.provider.schedules.delete(h.ctx, { name: 'weekly' })).diagnostics).toEqual([]);
    expect((await h.provider.schedules.list(h.ctx)).items).toEqual([]);
  });
});
