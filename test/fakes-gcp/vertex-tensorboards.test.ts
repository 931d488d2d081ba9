/** The fake's Vertex TensorboardService through the real SDK client, responses checked against the protos. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TensorboardServiceClient } from '@google-cloud/aiplatform/build/src/v1/tensorboard_service_client.js';
import { fakeClientOptions, startFakeGcp, type FakeGcp } from '../fakes/gcp/index.js';
import { PARENT, errStatus } from './helpers.js';

describe('Vertex TensorboardService', () => {
  let fake: FakeGcp;
  let tb: TensorboardServiceClient;
  beforeEach(async () => {
    fake = await startFakeGcp({ operationDelayMs: [5, 20], checkResponses: true });
    tb = new TensorboardServiceClient(fakeClientOptions(fake));
  });
  afterEach(async () => {
    await tb.close();
    await fake.close();
  });

  it('creates an instance (an operation), lists it by labels and display name, gets it', async () => {
    const [op] = await tb.createTensorboard({
      parent: PARENT,
      tensorboard: { displayName: 'mlform-demo_tensorboard', labels: { 'mlform-stack': 'demo' } },
    });
    const [created] = await op.promise();
    expect(created.name).toMatch(/^projects\/test-project\/locations\/us-central1\/tensorboards\/\d+$/);
    fake.seed.tensorboard({ project: 'test-project', location: 'us-central1', displayName: 'other' });
    const [mine] = await tb.listTensorboards({ parent: PARENT, filter: 'labels.mlform-stack="demo"' });
    expect(mine.map((b) => b.name)).toEqual([created.name]);
    const [named] = await tb.listTensorboards({ parent: PARENT, filter: 'display_name="other"' });
    expect(named.map((b) => b.displayName)).toEqual(['other']);
    const [got] = await tb.getTensorboard({ name: created.name });
    expect(got).toMatchObject({ displayName: 'mlform-demo_tensorboard', labels: { 'mlform-stack': 'demo' } });
    const [elsewhere] = await tb.listTensorboards({ parent: 'projects/test-project/locations/europe-west4' });
    expect(elsewhere).toEqual([]);
  });

  it('refuses an instance without a display name, a misspelt field, and a job naming a missing instance', async () => {
    const missing = await tb.createTensorboard({ parent: PARENT, tensorboard: {} }).catch((e: unknown) => e);
    expect(errStatus(missing)).toBe('INVALID_ARGUMENT');
    const res = await fetch(`${fake.url}/v1/${PARENT}/tensorboards`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ displayName: 'x', lables: {} }),
    });
    expect(res.status).toBe(400);
    const job = await fetch(`${fake.url}/v1/${PARENT}/customJobs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        displayName: 'x',
        jobSpec: {
          workerPoolSpecs: [{ machineSpec: { machineType: 'n1-standard-4' }, replicaCount: '1' }],
          tensorboard: `${PARENT}/tensorboards/1`,
        },
      }),
    });
    expect(job.status).toBe(404);
    expect(fake.customJobs()).toEqual([]);
  });
});
