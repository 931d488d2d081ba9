/**
 * A DeployedEndpoint with its own serving image (spec.container) on Cloud Run, against the fake:
 * one revision of that image per model version, args and env substituted by mlform, the traffic
 * split by revision, and the readiness gate: a revision that never becomes ready gets no traffic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PutEndpointRequest } from '../../../providers/provider.js';
import type { DeployedEndpointSpec } from '../../../resources/deployed-endpoint.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openProject } from '../../../controller/cli/project.js';
import { harness, type Harness } from './helpers.js';
import { gcpProjectFile } from './project-file.js';

let h: Harness;
beforeAll(async () => {
  h = await harness({ revisionReadyMs: 50, failRevisionsWithImage: 'broken' });
});
afterAll(async () => {
  await h?.close();
});

const GOOD = 'europe-docker.pkg.dev/demo-proj/tfs/tensorflow-serving:2.14';
const BROKEN = 'europe-docker.pkg.dev/demo-proj/tfs/broken:1';

const spec = (image: string): DeployedEndpointSpec =>
  ({
    model: 'mpg',
    traffic: [
      { version: 1, percent: 90 },
      { version: 2, percent: 10 },
    ],
    preset: 'development',
    scaling: { minInstances: 0, maxInstances: 2 },
    resources: { memory: '2Gi', cpu: '1' },
    batching: { enabled: true, maxBatchSize: 64, batchTimeoutMicros: 10_000 },
    timeoutSeconds: 120,
    container: {
      image,
      args: [
        '--model_base_path=$(MODEL_URI)',
        '--model_name=$(MODEL_NAME)',
        '--rest_api_port=$(PORT)',
        '--v=$(MODEL_VERSION)',
        '$(OTHER)',
      ],
      env: { TF_CPP_MIN_LOG_LEVEL: '2', API_KEY: { secretRef: { name: 'tfs', key: 'api-key' } } },
      port: 8501,
      healthPath: '/v1/models/mpg',
      predictPath: '/v1/models/mpg:predict',
    },
  }) as DeployedEndpointSpec;

const artifact = (n: number) => `gs://mlform-test/state/demo/registry/mpg/versions/${n}`;
const traffic: PutEndpointRequest['traffic'] = [
  { version: 1, percent: 90, artifactUri: artifact(1) },
  { version: 2, percent: 10, artifactUri: artifact(2) },
];
const put = (image: string, specHash: string) =>
  h.provider.deployedEndpoints.put(h.ctx, {
    name: 'tfs-api',
    spec: spec(image),
    specHash,
    traffic,
    labels: {},
    annotations: {},
  });

type Container = {
  image: string;
  args: string[];
  env: { name: string; value?: string; valueSource?: unknown }[];
  ports: { containerPort: number }[];
  startupProbe: { httpGet: { path: string } };
};
const revisionsOf = () =>
  h.fake
    .revisions()
    .filter((r) => String(r.name).includes('/services/tfs-api/'))
    .map((r) => ({
      name: String(r.name).split('/').pop() ?? '',
      container: (r.containers as Container[])[0],
    }));
const trafficOf = () => {
  const service = h.fake.services().find((s) => String(s.name).endsWith('/services/tfs-api'));
  return ((service?.traffic ?? []) as { revision: string; percent: number }[]).map((t) => [
    t.revision,
    t.percent,
  ]);
};

describe('a serving container of your own on Cloud Run', () => {
  it('runs each version as its own revision of the image, splits traffic by revision, keeps failing revisions out of traffic, switches back', async () => {
    const first = await put(GOOD, '1'.repeat(64));
    expect(first.diagnostics).toEqual([]);
    expect(first.endpoint?.traffic).toEqual([
      { version: 1, percent: 90 },
      { version: 2, percent: 10 },
    ]);
    expect(first.endpoint?.healthy).toBe(true);
    expect(trafficOf()).toEqual([
      ['tfs-api-v1', 90],
      ['tfs-api-v2', 10],
    ]);
    const revisions = revisionsOf();
    expect(revisions.map((r) => r.name).sort()).toEqual(['tfs-api-v1', 'tfs-api-v2']);
    for (const { name, container } of revisions) {
      const v = Number(name.slice(-1));
      expect(container.image).toBe(GOOD);
      expect(container.args).toEqual([
        `--model_base_path=${artifact(v)}`,
        '--model_name=mpg',
        '--rest_api_port=8501',
        `--v=${v}`,
        '$(OTHER)',
      ]);
      expect(container.ports).toEqual([{ containerPort: 8501 }]);
      expect(container.startupProbe.httpGet.path).toBe('/v1/models/mpg');
      const env = Object.fromEntries(container.env.map((e) => [e.name, e.value ?? e.valueSource]));
      expect(env).toMatchObject({
        MODEL_URI: artifact(v),
        MODEL_NAME: 'mpg',
        MODEL_VERSION: String(v),
        AIP_STORAGE_URI: artifact(v),
        AIP_HTTP_PORT: '8501',
        AIP_HEALTH_ROUTE: '/v1/models/mpg',
        AIP_PREDICT_ROUTE: '/v1/models/mpg:predict',
        TF_CPP_MIN_LOG_LEVEL: '2',
        API_KEY: { secretKeyRef: { secret: 'projects/demo-proj/secrets/tfs_api-key', version: 'latest' } },
      });
      // Cloud Run sets PORT from the container port and refuses it as a variable.
      expect(env.PORT).toBeUndefined();
    }

    // A new image whose revisions never become ready: the apply fails and traffic stays put.
    const broken = await put(BROKEN, '2'.repeat(64));
    expect(broken.diagnostics.map((d) => d.severity)).toContain('error');
    expect(broken.diagnostics.map((d) => d.message).join('\n')).toMatch(/tfs-api-v1-\w+ failed/);
    expect(trafficOf()).toEqual([
      ['tfs-api-v1', 90],
      ['tfs-api-v2', 10],
    ]);
    const listed = (await h.provider.deployedEndpoints.list(h.ctx)).items.find((e) => e.name === 'tfs-api');
    expect(listed?.specHash).toBe('1'.repeat(64));
    expect(listed?.traffic).toEqual([
      { version: 1, percent: 90 },
      { version: 2, percent: 10 },
    ]);

    // Back to the good image: its revisions exist with that very configuration and are reused.
    const before = revisionsOf().length;
    const back = await put(GOOD, '3'.repeat(64));
    expect(back.diagnostics).toEqual([]);
    expect(back.endpoint?.specHash).toBe('3'.repeat(64));
    expect(revisionsOf().length).toBe(before);
    expect(trafficOf()).toEqual([
      ['tfs-api-v1', 90],
      ['tfs-api-v2', 10],
    ]);
  });
});

describe('a serving container on gcp at plan time', () => {
  it('a container with only a `command` is an error at spec.container; reserved variables at their line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlform-gcp-container-'));
    try {
      await writeFile(join(dir, 'mlform.yaml'), gcpProjectFile('europe-west4'));
      await writeFile(
        join(dir, 'model.yaml'),
        `apiVersion: mlform/v1
kind: RegisteredModel
metadata: {name: mpg}
spec: {aliases: {champion: {policy: best, metric: val_loss}}}
`,
      );
      await writeFile(
        join(dir, 'endpoint.yaml'),
        `apiVersion: mlform/v1
kind: DeployedEndpoint
metadata: {name: mpg-api}
spec:
  model: mpg
  container:
    command: [python3, serve.py]
    predictPath: /predict
    env:
      PORT: "9000"
`,
      );
      const { diagnostics } = await openProject([dir]);
      const file = join(dir, 'endpoint.yaml');
      expect(
        diagnostics.map((d) => `${d.file === file ? 'endpoint.yaml' : d.file}:${d.line}:${d.col} ${d.code}`),
      ).toEqual(['endpoint.yaml:6:3 gcp-container-image', 'endpoint.yaml:10:13 gcp-container-env-reserved']);
      expect(diagnostics[0].hint).toMatch(/add `image` for gcp/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
