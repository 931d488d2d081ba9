import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FakeGcp } from '../fakes/gcp/index.js';
import { PARENT, closeAll, errCode, errMessage, errStatus, start, type Clients } from './helpers.js';

const model = (labels: Record<string, string>, aliases: string[] = []) => ({
  displayName: 'demo-model',
  artifactUri: 'gs://bucket/runs/x/model/',
  labels: { 'mlform-stack': 'demo', ...labels },
  versionAliases: aliases,
  containerSpec: { imageUri: 'us-docker.pkg.dev/p/r/serve:1' },
});

describe('Vertex ModelService', () => {
  let fake: FakeGcp;
  let c: Clients;
  beforeEach(async () => {
    ({ fake, c } = await start({ operationDelayMs: [5, 30] }));
  });
  afterEach(async () => closeAll(fake, c));

  it('uploads a model, then a version with parentModel, moving aliases', async () => {
    const [op1] = await c.models.uploadModel({
      parent: PARENT,
      modelId: 'demo',
      model: model({ v: '1' }, ['prod']),
    });
    expect(op1.name).toMatch(
      /^projects\/test-project\/locations\/us-central1\/models\/demo\/operations\/\d+$/,
    );
    const [res1] = await op1.promise();
    expect(res1.model).toBe(`${PARENT}/models/demo`);
    expect(res1.modelVersionId).toBe('1');
    // The operation finishes 5-30 ms after the upload, so promise() had to poll it: every poll but
    // the last found it running (so came before it was done: within 30 ms of the upload, plus the
    // slack of a busy machine), the last found it done, and then the polling stopped.
    const upload = fake.requests.find((r) => r.rpc === 'UploadModel')!;
    const polls = fake.requests.filter((r) => r.rpc === 'GetOperation');
    expect(polls.length).toBeGreaterThanOrEqual(1);
    expect(polls.every((r) => decodeURIComponent(r.path).endsWith(op1.name!))).toBe(true);
    expect(polls.at(-1)!.at - upload.at).toBeGreaterThanOrEqual(5);
    for (const early of polls.slice(0, -1)) expect(early.at - upload.at).toBeLessThan(30 + 500);
    // Each status check is one request, answered from the operation store without re-running it.
    const again = await c.models.checkUploadModelProgress(op1.name!);
    expect(again.done).toBe(true);
    expect(fake.count({ rpc: 'GetOperation' })).toBe(polls.length + 1);
    expect(fake.count({ rpc: 'UploadModel' })).toBe(1);

    const [op2] = await c.models.uploadModel({
      parent: PARENT,
      parentModel: `${PARENT}/models/demo`,
      model: model({ v: '2' }, ['prod']),
    });
    const [res2] = await op2.promise();
    expect(res2.modelVersionId).toBe('2');

    const [v1] = await c.models.getModel({ name: `${PARENT}/models/demo@1` });
    const [v2] = await c.models.getModel({ name: `${PARENT}/models/demo@prod` });
    expect(v1.versionAliases).toEqual(['default']);
    expect(v2.versionId).toBe('2');
    expect(v2.versionAliases).toEqual(['prod']);
    expect(v2.labels).toEqual({ 'mlform-stack': 'demo', v: '2' });
    const [dflt] = await c.models.getModel({ name: `${PARENT}/models/demo` });
    expect(dflt.versionId).toBe('1');

    const [versions] = await c.models.listModelVersions({
      name: `${PARENT}/models/demo`,
      filter: 'labels.v=2',
    });
    expect(versions.map((v) => v.versionId)).toEqual(['2']);
    const [models] = await c.models.listModels({ parent: PARENT, filter: 'labels.mlform-stack="demo"' });
    expect(models.map((m) => m.versionId)).toEqual(['1']);

    // Merge aliases: move default to v2, remove prod.
    const [merged] = await c.models.mergeVersionAliases({
      name: `${PARENT}/models/demo@2`,
      versionAliases: ['default', '-prod'],
    });
    expect(merged.versionAliases).toEqual(['default']);
    const [dflt2] = await c.models.getModel({ name: `${PARENT}/models/demo` });
    expect(dflt2.versionId).toBe('2');

    // A version with aliases cannot be deleted.
    const err: unknown = await c.models
      .deleteModelVersion({ name: `${PARENT}/models/demo@2` })
      .catch((e: unknown) => e);
    expect(errCode(err)).toBe(400);
    expect(errStatus(err)).toBe('FAILED_PRECONDITION');
    expect(errMessage(err)).toContain('has version aliases');
    const [delOp] = await c.models.deleteModelVersion({ name: `${PARENT}/models/demo@1` });
    await delOp.promise();
    const [left] = await c.models.listModelVersions({ name: `${PARENT}/models/demo` });
    expect(left.map((v) => v.versionId)).toEqual(['2']);

    const [delModel] = await c.models.deleteModel({ name: `${PARENT}/models/demo` });
    await delModel.promise();
    const gone: unknown = await c.models.getModel({ name: `${PARENT}/models/demo` }).catch((e: unknown) => e);
    expect(errCode(gone)).toBe(404);
    expect(fake.models()).toHaveLength(0);
  });

  it('refuses a duplicate modelId and an unknown parentModel', async () => {
    const [op] = await c.models.uploadModel({ parent: PARENT, modelId: 'dup', model: model({}) });
    await op.promise();
    const e1: unknown = await c.models
      .uploadModel({ parent: PARENT, modelId: 'dup', model: model({}) })
      .catch((e: unknown) => e);
    expect(errStatus(e1)).toBe('ALREADY_EXISTS');
    const e2: unknown = await c.models
      .uploadModel({ parent: PARENT, parentModel: `${PARENT}/models/nope`, model: model({}) })
      .catch((e: unknown) => e);
    expect(errStatus(e2)).toBe('NOT_FOUND');
  });

  it('pages ListModels', async () => {
    for (let i = 0; i < 5; i++) fake.seed.model({ displayName: `m${i}`, labels: { 'mlform-stack': 'demo' } });
    const [all] = await c.models.listModels({ parent: PARENT, pageSize: 2 });
    expect(all).toHaveLength(5);
    expect(fake.count({ rpc: 'ListModels' })).toBe(3);
  });
});
