/**
 * Import and adoption on gcp through the built CLI against test/fakes/gcp (README.md "Importing
 * existing objects"): a Vertex model with two versions and a Cloud Run service with a 90/10 split,
 * both made outside mlform, are listed, described by generated manifests that validate, adopted
 * (`<= adopt`), and the plan after adoption has no changes; nothing but labels and annotations
 * changed on them.
 */
import { mkdtemp, readFile, readdir, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { v2 as run } from '@google-cloud/run';
import { fakeClientOptions, startFakeGcp, type FakeGcp } from '../fakes/gcp/index.js';
import { gcpProjectFile } from '../providers/gcp/project-file.js';
import { mlformOn } from './gcp-cli.js';

const PROJECT = 'demo-proj';
const REGION = 'europe-central2';
const PARENT = `projects/${PROJECT}/locations/${REGION}`;
const MODEL_ID = `${PARENT}/models/churn`;
const SERVICE_ID = `${PARENT}/services/churn-api`;
const ARTIFACT = (v: number) => `gs://legacy-models/churn/v${v}`;

let fake: FakeGcp;
let dir: string;
beforeEach(async () => {
  fake = await startFakeGcp();
  dir = await mkdtemp(join(tmpdir(), 'mlform-import-'));
  await writeFile(join(dir, 'mlform.yaml'), gcpProjectFile());
});
afterEach(async () => {
  await fake?.close();
  await rm(dir, { recursive: true, force: true });
});

/** A model made in the console: two versions, `champion` on v1. */
function seedModel(): void {
  fake.seed.model({
    project: PROJECT,
    location: REGION,
    modelId: 'churn',
    displayName: 'Churn',
    artifactUri: ARTIFACT(1),
    versionAliases: ['champion'],
  });
  fake.seed.model({
    project: PROJECT,
    location: REGION,
    parentModel: MODEL_ID,
    displayName: 'Churn',
    artifactUri: ARTIFACT(2),
  });
  // Another stack's model: listed with its owner, never adoptable.
  fake.seed.model({
    project: PROJECT,
    location: REGION,
    modelId: 'theirs',
    displayName: 'theirs',
    artifactUri: 'gs://x/1',
    labels: { 'mlform-stack': 'other', 'mlform-kind': 'registeredmodel', 'mlform-name': 'theirs' },
  });
}

/** A service deployed by hand: revision 1 serves v1, revision 2 serves v2, traffic 90/10. */
async function seedService(): Promise<void> {
  const services = new run.ServicesClient(fakeClientOptions(fake));
  const template = (revision: string, version: number) => ({
    revision,
    scaling: { minInstanceCount: 1, maxInstanceCount: 4 },
    timeout: { seconds: 120 },
    containers: [
      {
        image: 'us-docker.pkg.dev/acme/serve:7',
        env: [{ name: 'AIP_STORAGE_URI', value: ARTIFACT(version) }],
        ports: [{ containerPort: 8080 }],
        resources: { limits: { cpu: '2', memory: '4Gi' } },
      },
    ],
  });
  const [created] = await services.createService({
    parent: PARENT,
    serviceId: 'churn-api',
    service: { template: template('churn-api-00001', 1) },
  });
  await created.promise();
  const [updated] = await services.updateService({
    service: {
      name: SERVICE_ID,
      template: template('churn-api-00002', 2),
      traffic: [
        { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'churn-api-00001', percent: 90 },
        { type: 'TRAFFIC_TARGET_ALLOCATION_TYPE_REVISION', revision: 'churn-api-00002', percent: 10 },
      ],
    },
  });
  await updated.promise();
  await services.close();
}

const serviceTraffic = () => {
  const s = fake.services().find((x) => x.name === SERVICE_ID) as {
    trafficStatuses?: { revision?: string; percent?: number }[];
  };
  return (s.trafficStatuses ?? []).map((t) => `${t.revision} ${t.percent}`).sort();
};

describe('mlform import on gcp', () => {
  it('lists, generates manifests that validate, adopts them, and the next plan has no changes', async () => {
    seedModel();
    await seedService();
    const mlform = mlformOn(fake);

    const listed = await mlform('import', '-f', dir);
    expect(listed.code, listed.out).toBe(0);
    expect(listed.out).toMatch(
      /RegisteredModel\s+projects\/demo-proj\/locations\/europe-central2\/models\/churn\s+churn\s+-\s+versions v1, v2; aliases champion=v1/,
    );
    expect(listed.out).toMatch(
      /DeployedEndpoint\s+.*services\/churn-api\s+churn-api\s+-\s+traffic churn-api-00001 90%, churn-api-00002 10%/,
    );
    expect(listed.out).toMatch(/models\/theirs\s+other \(registeredmodel theirs\)/);
    const json = await mlform('import', '-f', dir, '-o', 'json');
    // A warning (no manifests yet) goes to stderr before the document.
    const items = (
      JSON.parse(json.out.slice(json.out.indexOf('{'))) as { items: { id: string; owner?: unknown }[] }
    ).items;
    expect(items.map((i) => i.id).sort()).toEqual([MODEL_ID, `${PARENT}/models/theirs`, SERVICE_ID]);

    const out = join(dir, 'imported');
    const generated = await mlform('import', '-f', dir, '--generate-config-out', out);
    expect(generated.code, generated.out).toBe(0);
    expect((await readdir(out)).sort()).toEqual([
      'deployedendpoint-churn-api.yaml',
      'import-entries.txt',
      'registeredmodel-churn.yaml',
    ]);
    const endpoint = await readFile(join(out, 'deployedendpoint-churn-api.yaml'), 'utf8');
    expect(endpoint).toContain('model: churn');
    expect(endpoint).toMatch(/- version: 1\n\s+percent: 90\n\s+- version: 2\n\s+percent: 10/);
    const again = await mlform('import', '-f', dir, '--generate-config-out', out);
    expect(again.code).toBe(1);
    expect(again.out).toContain('exists; not overwritten');

    // The operator adds the entries to mlform.yaml; the manifests are already in the tree.
    await appendFile(join(dir, 'mlform.yaml'), await readFile(join(out, 'import-entries.txt'), 'utf8'));
    const valid = await mlform('validate', dir);
    expect(valid.code, valid.out).toBe(0);

    const planned = await mlform('plan', dir);
    expect(planned.code, planned.out).toBe(0);
    expect(planned.out).toContain(`<= adopt RegisteredModel/churn (${MODEL_ID})`);
    expect(planned.out).toContain(`<= adopt DeployedEndpoint/churn-api (${SERVICE_ID})`);
    expect(planned.out).toContain('Plan: 0 to add, 0 to change, 0 to destroy, 2 to adopt.');

    const revisionsBefore = fake.revisions().length;
    const applied = await mlform('apply', dir, '-y');
    expect(applied.code, applied.out).toBe(0);
    const after = await mlform('plan', dir, '--detailed-exitcode');
    expect(after.out).toContain('No changes');
    expect(after.code, after.out).toBe(0);

    // Only labels and annotations changed: same revisions, same split, same versions and alias.
    expect(fake.revisions().length).toBe(revisionsBefore);
    expect(serviceTraffic()).toEqual(['churn-api-00001 90', 'churn-api-00002 10']);
    const versions = fake.models().filter((v) => v.name === MODEL_ID) as {
      labels: Record<string, string>;
      versionAliases: string[];
      artifactUri: string;
    }[];
    expect(versions.map((v) => v.artifactUri)).toEqual([ARTIFACT(1), ARTIFACT(2)]);
    expect(
      versions.every((v) => v.labels['mlform-stack'] === 'demo' && v.labels['mlform-name'] === 'churn'),
    ).toBe(true);
    expect(versions[0].versionAliases).toContain('champion');
  }, 120_000);
});

describe('mlform import ADDRESS ID', () => {
  it('adopts one object from the command line; the next plan has no changes', async () => {
    seedModel();
    await writeFile(
      join(dir, 'model.yaml'),
      'apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata: {name: churn}\nspec:\n  aliases: {champion: {version: 1}}\n',
    );
    const mlform = mlformOn(fake);
    const adopted = await mlform('import', '-f', dir, 'RegisteredModel/churn', MODEL_ID, '-y');
    expect(adopted.code, adopted.out).toBe(0);
    expect(adopted.out).toContain(`<= adopt RegisteredModel/churn (${MODEL_ID})`);
    expect(adopted.out).toContain('Plan: 0 to add, 0 to change, 0 to destroy, 1 to adopt.');
    const after = await mlform('plan', dir, '--detailed-exitcode');
    expect(after.out).toContain('No changes');
    expect(after.code, after.out).toBe(0);
    // Done once: the same command again has nothing to adopt.
    const again = await mlform('import', '-f', dir, 'RegisteredModel/churn', MODEL_ID, '-y');
    expect(again.code, again.out).toBe(0);
    expect(again.out).toContain("RegisteredModel/churn is already the stack's");
  }, 120_000);
});
