/**
 * The quickstart on `platform: vertexEndpoint`, end to end through the CLI against test/fakes/gcp:
 * the real trainer runs as the CustomJob, the version is registered with mlform's serving image as
 * its container spec, and the endpoint is a Vertex AI Endpoint with one deployed model per version
 * and the traffic split by deployed model id. A traffic split changed by hand shows as drift in the
 * plan, and apply puts it back. (The fake serves no predictions for deployed models, as it serves
 * none for Cloud Run revisions: the prediction path is the model server's, tested locally.)
 * Needs `dist/` (`npm run build`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FakeGcp } from '../fakes/gcp/index.js';
import { mlformOn, startFakeWithTrainer } from './gcp-cli.js';

let root: string;
let project: string;
let fake: FakeGcp;

const mlform = (...args: string[]) => mlformOn(fake)(...args);

beforeAll(async () => {
  fake = await startFakeWithTrainer();
  root = await mkdtemp(join(tmpdir(), 'mlform-gcp-vertex-'));
  project = join(root, 'quickstart');
  await cp('examples/quickstart', project, { recursive: true, filter: (src) => !src.includes('.mlform') });
  await cp('examples/data/cars.json', join(root, 'data', 'cars.json'));
  execFileSync('git', ['init', '-q', root]);
  await writeFile(
    join(project, 'mlform.yaml'),
    [
      'stack: quickstart',
      'provider: gcp',
      'gcp:',
      '  project: demo-proj',
      '  region: europe-west4',
      '  bucket: gs://mlform-test/state',
      '  trainerImage: europe-docker.pkg.dev/demo-proj/mlform/trainer:1',
      '  servingImage: europe-docker.pkg.dev/demo-proj/mlform/serving:1',
      '  serviceAccount: mlform-runner@demo-proj.iam.gserviceaccount.com',
      '',
    ].join('\n'),
  );
  const file = join(project, 'endpoint.yaml');
  await writeFile(
    file,
    (await readFile(file, 'utf8')).replace(
      '  preset: development',
      '  platform: vertexEndpoint\n  preset: production',
    ),
  );
});

afterAll(async () => {
  await fake?.close();
  if (root) await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

type Json = Record<string, unknown>;
type Deployed = { id: string; modelVersionId: string; dedicatedResources: Json };
const vertexEndpoint = () => fake.vertexEndpoints()[0] as Json | undefined;
const splitByVersion = () => {
  const e = vertexEndpoint() ?? {};
  const deployed = (e.deployedModels ?? []) as Deployed[];
  return Object.fromEntries(
    Object.entries((e.trafficSplit ?? {}) as Record<string, number>).map(([id, p]) => [
      deployed.find((d) => d.id === id)?.modelVersionId,
      p,
    ]),
  );
};

describe('mlform apply on the quickstart with platform: vertexEndpoint (fake Google)', () => {
  it('plans the production preset on Vertex with its monthly floor, applies, and a second plan is a no-op', async () => {
    const p = await mlform('plan', project);
    expect(p.out).toContain('+ DeployedEndpoint/mpg-api');
    expect(p.out).toContain('n1-standard-4');
    expect(p.code).toBe(0);

    const first = await mlform('apply', '-y', project);
    expect(first.out).toContain('Apply complete');
    expect(first.code).toBe(0);
    expect(fake.services()).toEqual([]);
    const e = vertexEndpoint();
    expect(e?.labels).toMatchObject({
      'mlform-stack': 'quickstart',
      'mlform-kind': 'deployedendpoint',
      'mlform-name': 'mpg-api',
    });
    const deployed = (e?.deployedModels ?? []) as Deployed[];
    expect(deployed).toHaveLength(1);
    expect(deployed[0].dedicatedResources).toMatchObject({
      minReplicaCount: 1,
      maxReplicaCount: 5,
      machineSpec: { machineType: 'n1-standard-4' },
    });
    expect(splitByVersion()).toEqual({ '1': 100 });
    // Registration gave the version mlform's serving image as its container spec.
    expect(fake.models()[0].containerSpec).toMatchObject({
      imageUri: 'europe-docker.pkg.dev/demo-proj/mlform/serving:1',
    });

    fake.resetRequests();
    const again = await mlform('plan', '--detailed-exitcode', project);
    expect(again.out).toContain('No changes');
    expect(again.code).toBe(0);
    // One more list than on Cloud Run: ListEndpoints, because the stack serves on Vertex.
    expect(fake.requests.filter((r) => r.rpc === 'ListEndpoints')).toHaveLength(1);
    expect(fake.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  }, 300_000);

  it('a replica count changed by hand is drift; apply puts it back in place', async () => {
    const name = String(vertexEndpoint()?.name);
    fake.editVertexEndpoint(name, (e) => {
      const d = (e.deployedModels as Deployed[])[0];
      (d.dedicatedResources as Json).minReplicaCount = 3;
      (d.dedicatedResources as Json).maxReplicaCount = 3;
    });
    const p = await mlform('plan', '--detailed-exitcode', project);
    expect(p.out).toContain('~ DeployedEndpoint/mpg-api');
    expect(p.out).toContain('changed outside mlform');
    expect(p.code).toBe(2);
    const applied = await mlform('apply', '-y', project);
    expect(applied.code).toBe(0);
    const d = (vertexEndpoint()?.deployedModels as Deployed[])[0];
    expect(d.dedicatedResources).toMatchObject({ minReplicaCount: 1, maxReplicaCount: 5 });
    expect((await mlform('plan', '--detailed-exitcode', project)).code).toBe(0);
  }, 300_000);

  it('a retrain registers v2; a 90/10 edit of the traffic shows in the plan and splits natively', async () => {
    const training = join(project, 'training.yaml');
    await writeFile(
      training,
      (await readFile(training, 'utf8')).replace('learningRate: 0.003', 'learningRate: 0.002'),
    );
    const file = join(project, 'endpoint.yaml');
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace(
        '    - { version: champion, percent: 100 }',
        '    - { version: 1, percent: 90 }\n    - { version: latest, percent: 10 }',
      ),
    );
    const p = await mlform('plan', '--detailed-exitcode', project);
    expect(p.out).toContain('~ DeployedEndpoint/mpg-api');
    expect(p.out).toContain('traffic');
    expect(p.code).toBe(2);
    const applied = await mlform('apply', '-y', project);
    expect(applied.out).toContain('Apply complete');
    expect(applied.code).toBe(0);
    expect(splitByVersion()).toEqual({ '1': 90, '2': 10 });
    expect((await mlform('plan', '--detailed-exitcode', project)).code).toBe(0);
  }, 300_000);

  it('destroy undeploys the versions and deletes the Vertex AI Endpoint', async () => {
    const p = await mlform('destroy', '-y', project);
    expect(p.out).toContain('- DeployedEndpoint/mpg-api');
    // The endpoint goes before the model (Vertex refuses to delete a deployed model version). The
    // exit status is not asserted: deleting the model's aliased versions is another matter.
    expect(p.out).toContain('DeployedEndpoint/mpg-api: delete complete');
    expect(fake.vertexEndpoints()).toEqual([]);
  }, 120_000);
});
