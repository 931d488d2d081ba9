/**
 * Importing a Vertex AI Endpoint through the built CLI against test/fakes/gcp (README.md
 * "Importing existing objects"): an endpoint made outside mlform serving two versions of a model
 * 90/10 is listed, described by a generated `platform: vertexEndpoint` manifest that validates,
 * adopted beside its model, and the plan after adoption has no changes; only its labels and
 * description changed on it.
 */
import { appendFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { v1 } from '@google-cloud/aiplatform';
import { fakeClientOptions, startFakeGcp, type FakeGcp } from '../fakes/gcp/index.js';
import { gcpProjectFile } from '../providers/gcp/project-file.js';
import { mlformOn } from './gcp-cli.js';

const PROJECT = 'demo-proj';
const REGION = 'europe-central2';
const PARENT = `projects/${PROJECT}/locations/${REGION}`;
const MODEL_ID = `${PARENT}/models/fraud`;
const ENDPOINT_ID = `${PARENT}/endpoints/fraud-live`;
const ARTIFACT = (v: number) => `gs://legacy-models/fraud/v${v}`;

let fake: FakeGcp;
let dir: string;
beforeEach(async () => {
  fake = await startFakeGcp();
  dir = await mkdtemp(join(tmpdir(), 'mlform-import-vertex-'));
  await writeFile(join(dir, 'mlform.yaml'), gcpProjectFile());
});
afterEach(async () => {
  await fake?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A model with two servable versions and an endpoint serving v1 90% and v2 10%, made by hand. */
async function seedEndpoint(): Promise<void> {
  for (const v of [1, 2]) {
    fake.seed.model({
      project: PROJECT,
      location: REGION,
      ...(v === 1 ? { modelId: 'fraud' } : { parentModel: MODEL_ID }),
      displayName: 'Fraud',
      artifactUri: ARTIFACT(v),
      containerSpec: { imageUri: 'us-docker.pkg.dev/acme/serve:3' },
    });
  }
  const endpoints = new v1.EndpointServiceClient(fakeClientOptions(fake));
  const [create] = await endpoints.createEndpoint({
    parent: PARENT,
    endpointId: 'fraud-live',
    endpoint: { displayName: 'Fraud live', labels: { team: 'risk' } },
  });
  await create.promise();
  const deploy = async (version: number, trafficSplit: Record<string, number>) => {
    const [op] = await endpoints.deployModel({
      endpoint: ENDPOINT_ID,
      deployedModel: {
        model: MODEL_ID,
        modelVersionId: String(version),
        displayName: `fraud-${version}`,
        dedicatedResources: {
          machineSpec: { machineType: 'n1-standard-4' },
          minReplicaCount: 1,
          maxReplicaCount: 3,
        },
      },
      trafficSplit,
    });
    const [done] = await op.promise();
    return done.deployedModel?.id ?? '';
  };
  const first = await deploy(1, { '0': 100 });
  await deploy(2, { [first]: 90, '0': 10 });
  await endpoints.close();
}

const endpointState = () => {
  const e = fake.vertexEndpoints().find((x) => x.name === ENDPOINT_ID) as {
    trafficSplit: Record<string, number>;
    deployedModels: { id: string; modelVersionId: string }[];
    labels: Record<string, string>;
    displayName: string;
  };
  const byId = new Map(e.deployedModels.map((d) => [d.id, d.modelVersionId]));
  return {
    split: Object.entries(e.trafficSplit)
      .map(([id, p]) => `v${byId.get(id)} ${p}`)
      .sort(),
    deployed: e.deployedModels.map((d) => d.id).sort(),
    labels: e.labels,
    displayName: e.displayName,
  };
};

describe('mlform import of a Vertex AI Endpoint', () => {
  it('lists it, generates a vertexEndpoint manifest that validates, adopts it; the next plan has no changes', async () => {
    await seedEndpoint();
    const before = endpointState();
    expect(before.split).toEqual(['v1 90', 'v2 10']);
    const mlform = mlformOn(fake);

    const listed = await mlform('import', '-f', dir);
    expect(listed.code, listed.out).toBe(0);
    expect(listed.out).toMatch(
      /DeployedEndpoint\s+projects\/demo-proj\/locations\/europe-central2\/endpoints\/fraud-live\s+fraud-live\s+-\s+Vertex AI Endpoint; traffic deployed model \d+ 90%, deployed model \d+ 10%/,
    );

    const out = join(dir, 'imported');
    const generated = await mlform('import', '-f', dir, '--generate-config-out', out);
    expect(generated.code, generated.out).toBe(0);
    expect((await readdir(out)).sort()).toEqual([
      'deployedendpoint-fraud-live.yaml',
      'import-entries.txt',
      'registeredmodel-fraud.yaml',
    ]);
    const manifest = await readFile(join(out, 'deployedendpoint-fraud-live.yaml'), 'utf8');
    expect(manifest).toContain('platform: vertexEndpoint');
    expect(manifest).toContain('model: fraud');
    expect(manifest).toMatch(/- version: 1\n\s+percent: 90\n\s+- version: 2\n\s+percent: 10/);
    expect(manifest).toMatch(/scaling:\n\s+minInstances: 1\n\s+maxInstances: 3/);
    expect(manifest).toMatch(/machine:\n\s+machineType: n1-standard-4/);

    await appendFile(join(dir, 'mlform.yaml'), await readFile(join(out, 'import-entries.txt'), 'utf8'));
    const valid = await mlform('validate', dir);
    expect(valid.code, valid.out).toBe(0);

    const planned = await mlform('plan', dir);
    expect(planned.code, planned.out).toBe(0);
    expect(planned.out).toContain(`<= adopt DeployedEndpoint/fraud-live (${ENDPOINT_ID})`);
    expect(planned.out).toContain('Plan: 0 to add, 0 to change, 0 to destroy, 2 to adopt.');

    const applied = await mlform('apply', dir, '-y');
    expect(applied.code, applied.out).toBe(0);
    const after = await mlform('plan', dir, '--detailed-exitcode');
    expect(after.out).toContain('No changes');
    expect(after.code, after.out).toBe(0);

    // Only labels and the description changed: same deployed models, split and display name.
    const now = endpointState();
    expect(now.split).toEqual(before.split);
    expect(now.deployed).toEqual(before.deployed);
    expect(now.displayName).toBe('Fraud live');
    expect(now.labels).toMatchObject({
      team: 'risk',
      'mlform-stack': 'demo',
      'mlform-kind': 'deployedendpoint',
      'mlform-name': 'fraud-live',
    });

    // A later rollout goes to the adopted endpoint (no second one), on the adopted model's versions.
    const path = join(out, 'deployedendpoint-fraud-live.yaml');
    await writeFile(
      path,
      (await readFile(path, 'utf8'))
        .replace('percent: 90', 'percent: 50')
        .replace('percent: 10', 'percent: 50'),
    );
    const rolled = await mlform('apply', dir, '-y');
    expect(rolled.code, rolled.out).toBe(0);
    expect(fake.vertexEndpoints()).toHaveLength(1);
    expect(endpointState().split).toEqual(['v1 50', 'v2 50']);
  }, 120_000);

  it('refuses a Cloud Run manifest for a Vertex AI Endpoint, at the entry', async () => {
    await seedEndpoint();
    await writeFile(
      join(dir, 'endpoint.yaml'),
      'apiVersion: mlform/v1\nkind: DeployedEndpoint\nmetadata: {name: fraud-live}\nspec:\n  model: fraud\n  traffic: [{version: 1, percent: 100}]\n---\napiVersion: mlform/v1\nkind: RegisteredModel\nmetadata: {name: fraud}\nspec: {}\n',
    );
    const mlform = mlformOn(fake);
    const adopted = await mlform('import', '-f', dir, 'DeployedEndpoint/fraud-live', ENDPOINT_ID, '-y');
    expect(adopted.code, adopted.out).toBe(1);
    expect(adopted.out).toContain('set `platform: vertexEndpoint` in its spec');
    expect(endpointState().labels).toEqual({ team: 'risk' });
  }, 60_000);
});
