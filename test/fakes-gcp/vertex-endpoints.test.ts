/**
 * The fake's Vertex EndpointService through the real SDK client, responses checked against the
 * protos: Vertex's rules for deployments, traffic splits, undeploys and deletes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EndpointServiceClient } from '@google-cloud/aiplatform/build/src/v1/endpoint_service_client.js';
import { fakeClientOptions, startFakeGcp, type FakeGcp } from '../fakes/gcp/index.js';
import { PARENT, errMessage, errStatus } from './helpers.js';

describe('Vertex EndpointService', () => {
  let fake: FakeGcp;
  let ep: EndpointServiceClient;
  let model: string;
  beforeEach(async () => {
    fake = await startFakeGcp({ operationDelayMs: [5, 20], checkResponses: true });
    ep = new EndpointServiceClient(fakeClientOptions(fake));
    const seeded = fake.seed.model({
      displayName: 'mpg',
      containerSpec: { imageUri: 'us-docker.pkg.dev/p/mlform/serving:1' },
    });
    model = String(seeded.name);
    fake.seed.model({ displayName: 'mpg', parentModel: model }); // v2: no container spec
  });
  afterEach(async () => {
    await ep.close();
    await fake.close();
  });

  const create = async () => {
    const [op] = await ep.createEndpoint({
      parent: PARENT,
      endpointId: 'mlform-demo-api-abc123',
      endpoint: { displayName: 'mlform-demo_api', labels: { 'mlform-stack': 'demo' } },
    });
    await op.promise();
    return `${PARENT}/endpoints/mlform-demo-api-abc123`;
  };
  const deploy = async (endpoint: string, version: string, trafficSplit: Record<string, number> = {}) => {
    const [op] = await ep.deployModel({
      endpoint,
      deployedModel: {
        model,
        modelVersionId: version,
        dedicatedResources: {
          machineSpec: {
            machineType: 'n1-standard-4',
            acceleratorType: 'NVIDIA_TESLA_T4',
            acceleratorCount: 1,
          },
          minReplicaCount: 1,
          maxReplicaCount: 2,
        },
      },
      trafficSplit,
    });
    const [done] = await op.promise();
    return String(done.deployedModel?.id);
  };

  it('creates, lists by labels, deploys with the new model as "0" in the split, updates the split', async () => {
    const name = await create();
    const [listed] = await ep.listEndpoints({ parent: PARENT, filter: 'labels.mlform-stack="demo"' });
    expect(listed.map((e) => e.name)).toEqual([name]);
    const [none] = await ep.listEndpoints({ parent: PARENT, filter: 'labels.mlform-stack="other"' });
    expect(none).toEqual([]);
    const first = await deploy(name, '1', { '0': 100 });
    let [got] = await ep.getEndpoint({ name });
    expect(got.trafficSplit).toEqual({ [first]: 100 });
    expect(got.deployedModels?.[0]).toMatchObject({
      id: first,
      modelVersionId: '1',
      dedicatedResources: { machineSpec: { acceleratorType: 'NVIDIA_TESLA_T4', acceleratorCount: 1 } },
    });
    const second = await deploy(name, '1', { [first]: 100 });
    [got] = await ep.getEndpoint({ name });
    expect(got.trafficSplit).toEqual({ [first]: 100 });
    await ep.updateEndpoint({
      endpoint: { name, trafficSplit: { [first]: 50, [second]: 50 } },
      updateMask: { paths: ['traffic_split'] },
    });
    [got] = await ep.getEndpoint({ name });
    expect(got.trafficSplit).toEqual({ [first]: 50, [second]: 50 });
  });

  it('refuses what Vertex refuses: a split that is not 100 or names no deployed model, undeploying a model with traffic, deleting with deployed models, a version without a container spec', async () => {
    const name = await create();
    const id = await deploy(name, '1', { '0': 100 });
    const bad = (split: Record<string, number>) =>
      ep
        .updateEndpoint({ endpoint: { name, trafficSplit: split }, updateMask: { paths: ['traffic_split'] } })
        .catch((e: unknown) => e);
    expect(errStatus(await bad({ [id]: 90 }))).toBe('INVALID_ARGUMENT');
    expect(errStatus(await bad({ '999': 100 }))).toBe('INVALID_ARGUMENT');
    await deploy(name, '1', { [id]: 100 }); // a second one, without traffic
    const undeploy = await ep.undeployModel({ endpoint: name, deployedModelId: id }).catch((e: unknown) => e);
    expect(errStatus(undeploy)).toBe('FAILED_PRECONDITION');
    const del = await ep.deleteEndpoint({ name }).catch((e: unknown) => e);
    expect(errStatus(del)).toBe('FAILED_PRECONDITION');
    const failed = await deploy(name, '2').catch((e: unknown) => e);
    expect(errMessage(failed)).toContain('no container spec');
    const [got] = await ep.getEndpoint({ name });
    expect(got.deployedModels?.map((d) => d.modelVersionId)).toEqual(['1', '1']);
    const misspelt = await fetch(`${fake.url}/v1/${name}:deployModel`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ deployedModel: { model, dedicatedResource: {} } }),
    });
    expect(misspelt.status).toBe(400);
  });

  it('undeploys the last model (its split empties) and then deletes the endpoint', async () => {
    const name = await create();
    const id = await deploy(name, '1', { '0': 100 });
    const [op] = await ep.undeployModel({ endpoint: name, deployedModelId: id, trafficSplit: {} });
    await op.promise();
    const [got] = await ep.getEndpoint({ name });
    expect(got.deployedModels ?? []).toEqual([]);
    const [del] = await ep.deleteEndpoint({ name });
    await del.promise();
    expect(fake.vertexEndpoints()).toEqual([]);
  });
});
