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
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FakeGcp } from '../fakes/gcp/index.js';
import { copyQuickstart, mlformOn, startFakeWithTrainer } from './gcp-cli.js';
import { gcpProjectFile } from '../providers/gcp/project-file.js';

let fake: FakeGcp;
let dirs: { root: string; project: string } | undefined;
const at = (file: string) => join(dirs?.project ?? '', file);
const mlform = (command: string, ...flags: string[]) =>
  mlformOn(fake)(command, ...flags, dirs?.project ?? '');

beforeAll(async () => {
  [fake, dirs] = await Promise.all([startFakeWithTrainer(), copyQuickstart('mlform-gcp-vertex-')]);
  await writeFile(
    at('mlform.yaml'),
    gcpProjectFile('europe-west4', 'europe-west4').replace('stack: demo', 'stack: quickstart'),
  );
  await edit('endpoint.yaml', '  preset: development', '  platform: vertexEndpoint\n  preset: production');
});

afterAll(async () => {
  await fake?.close();
  if (dirs) await rm(dirs.root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

type Json = Record<string, unknown>;
type Deployed = { id: string; modelVersionId: string; dedicatedResources: Json };
const vertexEndpoint = () => fake.vertexEndpoints()[0] as Json | undefined;
const deployed = () => (vertexEndpoint()?.deployedModels ?? []) as Deployed[];
const splitByVersion = () =>
  Object.fromEntries(
    Object.entries((vertexEndpoint()?.trafficSplit ?? {}) as Record<string, number>).map(([id, p]) => [
      deployed().find((d) => d.id === id)?.modelVersionId,
      p,
    ]),
  );
const edit = async (file: string, from: string, to: string) =>
  writeFile(at(file), (await readFile(at(file), 'utf8')).replace(from, to));

/** A plan that shows `shown` and exits 2 (changes), then an apply that completes. */
async function planShowsThenApply(...shown: string[]): Promise<void> {
  const p = await mlform('plan', '--detailed-exitcode');
  for (const text of shown) expect(p.out).toContain(text);
  expect(p.code).toBe(2);
  const applied = await mlform('apply', '-y');
  expect(applied.out).toContain('Apply complete');
  expect(applied.code).toBe(0);
}

describe('mlform apply on the quickstart with platform: vertexEndpoint (fake Google)', () => {
  it('plans the production preset on Vertex with its monthly floor, applies, and a second plan is a no-op', async () => {
    await planShowsThenApply('+ DeployedEndpoint/mpg-api', 'n1-standard-4', 'Vertex AI prediction');
    expect(fake.services()).toEqual([]);
    const e = vertexEndpoint();
    expect(e?.labels).toMatchObject({
      'mlform-stack': 'quickstart',
      'mlform-kind': 'deployedendpoint',
      'mlform-name': 'mpg-api',
    });
    expect(deployed()).toHaveLength(1);
    expect(deployed()[0].dedicatedResources).toMatchObject({
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
    const again = await mlform('plan', '--detailed-exitcode');
    expect(again.out).toContain('No changes');
    expect(again.code).toBe(0);
    // One more list than on Cloud Run: ListEndpoints, because the stack serves on Vertex.
    expect(fake.requests.filter((r) => r.rpc === 'ListEndpoints')).toHaveLength(1);
    expect(fake.requests.filter((r) => r.method !== 'GET')).toEqual([]);
  }, 300_000);

  it('a replica count changed by hand is drift; apply puts it back in place', async () => {
    fake.editVertexEndpoint(String(vertexEndpoint()?.name), (e) => {
      const resources = (e.deployedModels as Deployed[])[0].dedicatedResources;
      Object.assign(resources, { minReplicaCount: 3, maxReplicaCount: 3 });
    });
    await planShowsThenApply('~ DeployedEndpoint/mpg-api', 'changed outside mlform');
    expect(deployed()[0].dedicatedResources).toMatchObject({ minReplicaCount: 1, maxReplicaCount: 5 });
    expect((await mlform('plan', '--detailed-exitcode')).code).toBe(0);
  }, 300_000);

  it('a retrain registers v2; a 90/10 edit of the traffic shows in the plan and splits natively', async () => {
    await edit('training.yaml', 'learningRate: 0.003', 'learningRate: 0.002');
    await edit(
      'endpoint.yaml',
      '    - { version: champion, percent: 100 }',
      '    - { version: 1, percent: 90 }\n    - { version: latest, percent: 10 }',
    );
    await planShowsThenApply('~ DeployedEndpoint/mpg-api', 'traffic');
    expect(splitByVersion()).toEqual({ '1': 90, '2': 10 });
    expect((await mlform('plan', '--detailed-exitcode')).code).toBe(0);
  }, 300_000);

  it('destroy undeploys the versions and deletes the Vertex AI Endpoint', async () => {
    const p = await mlform('destroy', '-y');
    expect(p.out).toContain('- DeployedEndpoint/mpg-api');
    // The endpoint goes before the model (Vertex refuses to delete a deployed model version). The
    // exit status is not asserted: deleting the model's aliased versions is another matter.
    expect(p.out).toContain('DeployedEndpoint/mpg-api: delete complete');
    expect(fake.vertexEndpoints()).toEqual([]);
  }, 120_000);
});
