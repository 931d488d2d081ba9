/**
 * `mlform check`'s image look-up (providers/gcp/preflight-images.ts): image references as Artifact
 * Registry resource names, and the real ArtifactRegistryClient against test/fakes/gcp, a nested
 * image name and a digest included. The CLI side is test/e2e/check.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { registryImage, imagesCheck } from '../../../providers/gcp/preflight-images.js';
import {
  clientSettingsOf,
  createRegistryClient,
  type Closable,
} from '../../../providers/gcp/preflight-clients.js';
import { CONFIG, harness, type Harness } from './helpers.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

let h: Harness | undefined;
const opened: Closable[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((c) => c.close()));
  await h?.close();
  h = undefined;
});

describe('registryImage', () => {
  it('names the tag or the version of the package, `/` in the image as %2F', () => {
    expect(registryImage('europe-docker.pkg.dev/demo-proj/mlform/trainer:1')).toEqual({
      packageName: 'projects/demo-proj/locations/europe/repositories/mlform/packages/trainer',
      ref: 'tags/1',
    });
    expect(registryImage('us-central1-docker.pkg.dev/p-1/repo/team/serving')).toEqual({
      packageName: 'projects/p-1/locations/us-central1/repositories/repo/packages/team%2Fserving',
      ref: 'tags/latest',
    });
    expect(registryImage(`europe-docker.pkg.dev/p/r/img:v2@${DIGEST}`)?.ref).toBe(`versions/${DIGEST}`);
  });

  it('leaves other registries and names that are no image alone', () => {
    for (const image of [
      'gcr.io/p/trainer:1',
      'docker.io/library/python:3.12',
      'europe-docker.pkg.dev/p/r',
      'europe-docker.pkg.dev/p/r/img:bad tag',
      'europe-docker.pkg.dev/p/r/../../x:1',
      'evil.example/europe-docker.pkg.dev/p/r/img:1',
    ]) {
      expect(registryImage(image), image).toBeUndefined();
    }
  });
});

describe('imagesCheck against the fake', () => {
  it('a nested image by digest and a tag are found; an unpushed one fails; another registry is skipped', async () => {
    const trainer = `europe-docker.pkg.dev/demo-proj/mlform/team/trainer@${DIGEST}`;
    h = await harness({}, { config: { ...CONFIG, trainerImage: trainer } });
    const gcp = h.provider.gcp;
    const registry = () => createRegistryClient(clientSettingsOf(gcp, h?.fake.url), opened);
    const failure = () => {
      throw new Error('no call should fail');
    };
    h.fake.pushImage(trainer);
    const missing = await imagesCheck(gcp, registry, failure);
    expect(missing).toMatchObject({
      status: 'fail',
      detail: `not found: serving ${CONFIG.servingImage}; found: trainer ${trainer}`,
    });
    expect(h.fake.count({ rpc: 'GetVersion' })).toBe(1);

    h.fake.pushImage(CONFIG.servingImage);
    expect(await imagesCheck(gcp, registry, failure)).toMatchObject({ status: 'pass' });

    gcp.settings.servingImage = 'gcr.io/demo-proj/serving:1';
    expect(await imagesCheck(gcp, registry, failure)).toMatchObject({
      status: 'pass',
      detail: `found trainer ${trainer}; not in Artifact Registry, not looked up: serving gcr.io/demo-proj/serving:1`,
    });
  });

  it('a denied look-up is a warning naming the permission and its role, not a failure', async () => {
    h = await harness();
    const gcp = h.provider.gcp;
    const registry = () => createRegistryClient(clientSettingsOf(gcp, h?.fake.url), opened);
    h.fake.failNext({ kind: '403', rpc: 'GetTag', permission: 'artifactregistry.tags.get' });
    const { failure } = await import('../../../providers/gcp/preflight.js');
    const result = await imagesCheck(gcp, registry, failure);
    expect(result.status).toBe('warn');
    expect(result.detail).toMatch(/^cannot look the images up: .*artifactregistry\.tags\.get/);
    expect(result.detail).toContain(`found: serving ${CONFIG.servingImage}`);
    expect(result.fix).toContain('roles/artifactregistry.reader');
  });
});
