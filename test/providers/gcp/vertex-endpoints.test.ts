/**
 * DeployedEndpoints on Vertex AI Endpoints (`platform: vertexEndpoint`) against the fake's
 * EndpointService: one deployed model per version on the spec's machine, the native traffic split,
 * traffic moved only after DeployModel succeeded, undeploys of versions that left the split,
 * replicas changed in place, drift read back, and the listing made only when the stack uses Vertex.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PutEndpointRequest, ValidateResource } from '../../../providers/provider.js';
import {
  normalizeDeployedEndpointSpec,
  type DeployedEndpointSpec,
} from '../../../resources/deployed-endpoint.js';
import { vertexEndpointId } from '../../../providers/gcp/vertex-endpoints.js';
import { harness, type Harness } from './helpers.js';

let h: Harness;
const MODEL = 'projects/demo-proj/locations/europe-west4/models/mlform-demo_mpg';
const container = (image: string) => ({
  imageUri: image,
  ports: [{ containerPort: 8080 }],
  predictRoute: '/v1/models/mpg:predict',
  healthRoute: '/v2/health/ready',
});
const GOOD = 'europe-docker.pkg.dev/demo-proj/mlform/serving:1';

beforeAll(async () => {
  h = await harness({ failDeploymentsWithImage: 'broken' });
  const seed = (c?: Record<string, unknown>) =>
    h.fake.seed.model({
      project: 'demo-proj',
      location: 'europe-west4',
      modelId: 'mlform-demo_mpg',
      parentModel: MODEL,
      displayName: 'mpg',
      labels: { 'mlform-stack': 'demo', 'mlform-kind': 'registeredmodel', 'mlform-name': 'mpg' },
      ...(c && { containerSpec: c }),
    });
  seed(container(GOOD)); // v1
  seed(container(GOOD)); // v2
  seed(container('europe-docker.pkg.dev/demo-proj/mlform/broken:1')); // v3: never becomes ready
  seed(); // v4: no container spec
});
afterAll(async () => {
  await h?.close();
});

const spec = (over: Partial<DeployedEndpointSpec> = {}): DeployedEndpointSpec =>
  normalizeDeployedEndpointSpec({
    model: 'mpg',
    platform: 'vertexEndpoint',
    traffic: [{ version: 1, percent: 100 }],
    preset: 'production',
    batching: { enabled: true, maxBatchSize: 64, batchTimeoutMicros: 10_000 },
    timeoutSeconds: 300,
    ...over,
  } as DeployedEndpointSpec);

const artifact = (n: number) => `gs://mlform-test/state/demo/runs/mpg-mlp/${n}`;
const put = (traffic: [number, number][], over: Partial<DeployedEndpointSpec> = {}, specHash = 'h1') =>
  h.provider.deployedEndpoints.put(h.ctx, {
    name: 'mpg-vx',
    spec: spec({ traffic: traffic.map(([version, percent]) => ({ version, percent })), ...over }),
    specHash,
    traffic: traffic.map(([version, percent]) => ({ version, percent, artifactUri: artifact(version) })),
    labels: { team: 'ml' },
    annotations: { owner: 'alice' },
  } satisfies PutEndpointRequest);

type Deployed = {
  id: string;
  modelVersionId: string;
  dedicatedResources: {
    minReplicaCount: number;
    maxReplicaCount: number;
    machineSpec: { machineType: string; acceleratorType?: string; acceleratorCount?: number };
  };
};
const NAME = `projects/demo-proj/locations/europe-west4/endpoints/${vertexEndpointId('demo', 'mpg-vx')}`;
const endpoint = () => h.fake.vertexEndpoints().find((e) => e.name === NAME);
const deployed = () => (endpoint()?.deployedModels ?? []) as Deployed[];
const split = () => (endpoint()?.trafficSplit ?? {}) as Record<string, number>;
const splitByVersion = () =>
  Object.fromEntries(
    Object.entries(split()).map(([id, p]) => [deployed().find((d) => d.id === id)?.modelVersionId, p]),
  );
const rpcs = () => h.fake.requests.filter((r) => r.api === 'aiplatform').map((r) => r.rpc);

describe('DeployedEndpoint on Vertex AI Endpoints (fake EndpointService)', () => {
  it('creates the endpoint with ownership labels and deploys v1 on the preset machine, then gives it the traffic', async () => {
    h.fake.resetRequests();
    const r = await put([[1, 100]]);
    expect(r.diagnostics).toEqual([]);
    const e = endpoint();
    expect(e?.labels).toMatchObject({
      'mlform-stack': 'demo',
      'mlform-kind': 'deployedendpoint',
      'mlform-name': 'mpg-vx',
      team: 'ml',
    });
    expect(deployed()).toHaveLength(1);
    expect(deployed()[0]).toMatchObject({
      model: MODEL,
      modelVersionId: '1',
      dedicatedResources: {
        minReplicaCount: 1,
        maxReplicaCount: 5,
        machineSpec: { machineType: 'n1-standard-4' },
      },
    });
    expect(splitByVersion()).toEqual({ '1': 100 });
    // Traffic moves only after the deployment's operation is done.
    const calls = rpcs().filter((c) => c !== 'GetOperation' && c !== 'GetEndpoint');
    expect(calls).toEqual(['CreateEndpoint', 'DeployModel', 'UpdateEndpoint']);
    expect(r.endpoint).toMatchObject({
      name: 'mpg-vx',
      specHash: 'h1',
      traffic: [{ version: 1, percent: 100 }],
      healthy: true,
      annotations: { owner: 'alice' },
      live: { scaling: { minInstances: 1, maxInstances: 5 }, machine: { machineType: 'n1-standard-4' } },
    });
    expect(r.endpoint?.url).toBe(`https://europe-west4-aiplatform.googleapis.com/v1/${NAME}:predict`);
  });

  it('a 90/10 split deploys v2 beside v1 and splits natively by deployed model id', async () => {
    const before = deployed()[0].id;
    const r = await put([
      [1, 90],
      [2, 10],
    ]);
    expect(r.diagnostics).toEqual([]);
    expect(deployed().map((d) => d.modelVersionId)).toEqual(['1', '2']);
    expect(deployed()[0].id).toBe(before);
    expect(splitByVersion()).toEqual({ '1': 90, '2': 10 });
    expect(r.endpoint?.traffic).toEqual(
      expect.arrayContaining([
        { version: 1, percent: 90 },
        { version: 2, percent: 10 },
      ]),
    );
  });

  it('a version whose deployment fails gets no traffic: the split stays where it was', async () => {
    const r = await put([[3, 100]]);
    expect(r.diagnostics.map((d) => d.message).join('\n')).toMatch(/DeployModel|never became ready/);
    expect(splitByVersion()).toEqual({ '1': 90, '2': 10 });
  });

  it('a version whose model has no container spec is refused as Vertex does, traffic untouched', async () => {
    const r = await put([[4, 100]]);
    expect(r.diagnostics.map((d) => d.message).join('\n')).toContain('no container spec');
    expect(splitByVersion()).toEqual({ '1': 90, '2': 10 });
  });

  it('moving all traffic to v2 undeploys v1; a replica change is made in place', async () => {
    let r = await put([[2, 100]]);
    expect(r.diagnostics).toEqual([]);
    expect(deployed().map((d) => d.modelVersionId)).toEqual(['2']);
    expect(splitByVersion()).toEqual({ '2': 100 });
    const id = deployed()[0].id;
    h.fake.resetRequests();
    r = await put([[2, 100]], { scaling: { minInstances: 2, maxInstances: 3 } }, 'h2');
    expect(r.diagnostics).toEqual([]);
    expect(rpcs()).toContain('MutateDeployedModel');
    expect(rpcs()).not.toContain('DeployModel');
    expect(deployed()).toEqual([
      expect.objectContaining({
        id,
        dedicatedResources: expect.objectContaining({ minReplicaCount: 2, maxReplicaCount: 3 }),
      }),
    ]);
  });

  it('a machine with a GPU deploys the version again on it', async () => {
    const r = await put([[2, 100]], {
      scaling: { minInstances: 2, maxInstances: 3 },
      machine: { machineType: 'n1-standard-8', accelerator: { type: 'NVIDIA_TESLA_T4', count: 1 } },
    });
    expect(r.diagnostics).toEqual([]);
    expect(deployed()).toHaveLength(1);
    expect(deployed()[0].dedicatedResources.machineSpec).toMatchObject({
      machineType: 'n1-standard-8',
      acceleratorType: 'NVIDIA_TESLA_T4',
      acceleratorCount: 1,
    });
    expect(r.endpoint?.live?.machine).toEqual({
      machineType: 'n1-standard-8',
      accelerator: { type: 'NVIDIA_TESLA_T4', count: 1 },
    });
  });

  it('a replica count or traffic changed by hand is observed as it is live', async () => {
    h.fake.editVertexEndpoint(NAME, (e) => {
      const d = (e.deployedModels as Deployed[])[0];
      d.dedicatedResources.minReplicaCount = 4;
      d.dedicatedResources.maxReplicaCount = 4;
    });
    const { items } = await h.provider.deployedEndpoints.list(h.ctx);
    const observed = items.find((i) => i.name === 'mpg-vx');
    expect(observed?.spec.scaling).toEqual({ minInstances: 2, maxInstances: 3 });
    expect(observed?.live?.scaling).toEqual({ minInstances: 4, maxInstances: 4 });
    h.fake.editVertexEndpoint(NAME, (e) => {
      e.trafficSplit = {};
    });
    const again = (await h.provider.deployedEndpoints.list(h.ctx)).items.find((i) => i.name === 'mpg-vx');
    expect(again?.healthy).toBe(false);
    expect(again?.traffic).toEqual([]);
  });

  it('ListEndpoints is called only when the stack has vertexEndpoint endpoints (or one was found)', async () => {
    const resource = (platform?: string): ValidateResource => ({
      kind: 'DeployedEndpoint',
      name: 'x',
      address: 'DeployedEndpoint/x',
      manifest: { spec: { ...spec(), ...(platform ? { platform } : { platform: undefined }) } },
      source: { file: 'x.yaml', line: 1, col: 1 },
    });
    const other = await harness();
    try {
      await other.provider.validate?.(other.ctx, [resource()]);
      other.fake.resetRequests();
      await other.provider.deployedEndpoints.list(other.ctx);
      expect(other.fake.count({ rpc: 'ListEndpoints' })).toBe(0);
      await other.provider.validate?.(other.ctx, [resource('vertexEndpoint')]);
      await other.provider.deployedEndpoints.list(other.ctx);
      expect(other.fake.count({ rpc: 'ListEndpoints' })).toBe(1);
    } finally {
      await other.close();
    }
  });

  it('delete undeploys every version and deletes the endpoint', async () => {
    const r = await h.provider.deployedEndpoints.delete(h.ctx, { name: 'mpg-vx' });
    expect(r.diagnostics).toEqual([]);
    expect(endpoint()).toBeUndefined();
  });
});

describe('moving a DeployedEndpoint between Cloud Run and Vertex AI', () => {
  it('deploys on Vertex first, then deletes the Cloud Run service the last listing found', async () => {
    const cloudRun = normalizeDeployedEndpointSpec({
      ...spec(),
      platform: undefined,
      scaling: undefined,
      machine: undefined,
    } as unknown as DeployedEndpointSpec);
    const req = (s: DeployedEndpointSpec): PutEndpointRequest => ({
      name: 'moving',
      spec: s,
      specHash: 'm1',
      traffic: [{ version: 1, percent: 100, artifactUri: artifact(1) }],
      labels: {},
      annotations: {},
    });
    expect((await h.provider.deployedEndpoints.put(h.ctx, req(cloudRun))).diagnostics).toEqual([]);
    const service = () => h.fake.services().find((s) => String(s.name).endsWith('/services/moving'));
    expect(service()).toBeDefined();
    const listed = await h.provider.deployedEndpoints.list(h.ctx);
    expect(listed.items.find((i) => i.name === 'moving')?.spec.platform).toBeUndefined();
    const moved = await h.provider.deployedEndpoints.put(h.ctx, req(spec()));
    expect(moved.diagnostics).toEqual([]);
    expect(service()).toBeUndefined();
    const onVertex = (await h.provider.deployedEndpoints.list(h.ctx)).items.find((i) => i.name === 'moving');
    expect(onVertex).toMatchObject({ healthy: true, traffic: [{ version: 1, percent: 100 }] });
    expect(onVertex?.spec.platform).toBe('vertexEndpoint');
    expect((await h.provider.deployedEndpoints.delete(h.ctx, { name: 'moving' })).diagnostics).toEqual([]);
  });
});
