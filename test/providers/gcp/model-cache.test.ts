/**
 * The per-model version snapshot (providers/gcp/model-snapshot.ts): a steady-state observation of
 * RegisteredModels issues no ListModelVersions; changes made behind the provider's back (straight
 * through the SDK against the fake) are still seen, because they move the model-level updateTime.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { v1 as aiplatform } from '@google-cloud/aiplatform';
import { fakeClientOptions } from '../../fakes/gcp/index.js';
import type { ObservedRun } from '../../../providers/provider.js';
import type { RegisteredModelSpec } from '../../../resources/registered-model.js';
import { CONFIG, harness, type Harness } from './helpers.js';

const BUCKET = 'mlform-test';
const ROOT = `gs://${BUCKET}/state/demo`;
const PARENT = `projects/${CONFIG.project}/locations/${CONFIG.region}`;
const vertexName = (model: string) => `${PARENT}/models/mlform-demo_${model}`;

let h: Harness;
let models: aiplatform.ModelServiceClient;
beforeEach(async () => {
  h = await harness();
  models = new aiplatform.ModelServiceClient(fakeClientOptions(h.fake));
});
afterEach(async () => {
  await models?.close();
  await h?.close();
});

const spec = {
  description: 'm',
  aliases: {},
  retention: { keepVersions: 100 },
} as unknown as RegisteredModelSpec;

const run = (name: string, number: number, metrics: Record<string, number> = {}): ObservedRun => ({
  name,
  number,
  specHash: 'f'.repeat(64),
  state: 'succeeded',
  attempt: 1,
  createdAt: new Date().toISOString(),
  artifactUri: `${ROOT}/runs/${name}/${number}`,
  metrics: { val_mae: 3 - number * 0.1, ...metrics },
  baseline: { val_mae: 6 },
  dataSha256: 'd'.repeat(64),
  annotations: {},
});

async function model(name: string, versions: number, metrics: Record<string, number> = {}): Promise<void> {
  const p = h.provider.registeredModels;
  expect(
    (await p.put(h.ctx, { name, spec, specHash: '2'.repeat(64), labels: {}, annotations: {} })).diagnostics,
  ).toEqual([]);
  for (let k = 1; k <= versions; k++) {
    const r = await p.registerVersion(h.ctx, { model: name, run: run(`${name}-train`, k, metrics) });
    expect(r.diagnostics).toEqual([]);
  }
  if (versions > 0) {
    expect((await p.moveAlias(h.ctx, { model: name, alias: 'champion', version: 1 })).diagnostics).toEqual(
      [],
    );
  }
}

/** One observation; returns its items and how many ListModelVersions / objects.get it issued. */
async function observe() {
  h.fake.resetRequests();
  const listed = await h.provider.registeredModels.list(h.ctx);
  expect(listed.diagnostics).toEqual([]);
  return {
    items: listed.items,
    listVersions: h.fake.count({ rpc: 'ListModelVersions' }),
    gets: h.fake.count({ rpc: 'objects.get' }) + h.fake.count({ rpc: 'GetModel' }),
    writes: h.fake.count({ rpc: 'objects.insert' }),
  };
}

const snapshotObjects = () => h.fake.objects(BUCKET).filter((o) => o.name.includes('/models/.versions/'));

/** A version uploaded straight through the SDK, as another tool (or a person) would. */
async function uploadBehindTheBack(name: string, number: number): Promise<void> {
  const lineage = { specHash: 'e'.repeat(64), metrics: { val_mae: 1.5 }, baseline: { val_mae: 6 } };
  const [op] = await models.uploadModel({
    parent: PARENT,
    parentModel: vertexName(name),
    model: {
      displayName: name,
      versionDescription: `mlform lineage ${JSON.stringify(lineage)}`,
      artifactUri: `${ROOT}/runs/${name}-train/${number}`,
      labels: {
        'mlform-stack': 'demo',
        'mlform-kind': 'registeredmodel',
        'mlform-name': name,
        'mlform-run-name': `${name}-train`,
        'mlform-run-number': String(number),
      },
    },
  });
  await op.promise();
}

describe('model version snapshot', () => {
  it('observes unchanged models without ListModelVersions, with the same result', async () => {
    await model('a', 2);
    await model('b', 3);
    await model('empty', 0);
    const first = await observe();
    expect(first.listVersions).toBe(2); // no snapshots yet (the provider's own changes moved updateTime)
    expect(snapshotObjects().map((o) => o.name)).toEqual([
      'state/demo/models/.versions/a.json',
      'state/demo/models/.versions/b.json',
    ]);
    const second = await observe();
    expect(second.listVersions).toBe(0);
    expect(second.gets).toBe(0);
    expect(second.writes).toBe(0);
    expect(second.items).toEqual(first.items);
    const b = second.items.find((i) => i.name === 'b');
    expect(b?.aliases).toEqual({ champion: 1 });
    expect(b?.versions.map((v) => [v.version, v.artifactUri, v.metrics, v.dataSha256])).toEqual([
      [1, `${ROOT}/runs/b-train/1`, { val_mae: 2.9 }, 'd'.repeat(64)],
      [2, `${ROOT}/runs/b-train/2`, { val_mae: 2.8 }, 'd'.repeat(64)],
      [3, `${ROOT}/runs/b-train/3`, { val_mae: 2.7 }, 'd'.repeat(64)],
    ]);
  });

  it('sees a version uploaded, an alias moved, an update and a version deleted behind its back', async () => {
    await model('a', 2);
    await model('b', 2);
    await observe();
    expect((await observe()).listVersions).toBe(0);

    await uploadBehindTheBack('a', 3);
    let o = await observe();
    expect(o.listVersions).toBe(1);
    expect(o.items.find((i) => i.name === 'a')?.versions.map((v) => [v.version, v.specHash])).toEqual([
      [1, 'f'.repeat(64)],
      [2, 'f'.repeat(64)],
      [3, 'e'.repeat(64)],
    ]);
    expect((await observe()).listVersions).toBe(0);

    await models.mergeVersionAliases({
      name: `${vertexName('b')}@2`,
      versionAliases: ['champion', 'canary'],
    });
    o = await observe();
    expect(o.listVersions).toBe(1);
    expect(o.items.find((i) => i.name === 'b')?.aliases).toEqual({ champion: 2, canary: 2 });
    expect((await observe()).items.find((i) => i.name === 'b')?.aliases).toEqual({ champion: 2, canary: 2 });

    // UpdateModel on a version that is not the default one still moves the model's updateTime.
    const lineage = { specHash: 'c'.repeat(64), metrics: { val_mae: 9 }, baseline: {} };
    await models.updateModel({
      model: {
        name: `${vertexName('a')}@2`,
        versionDescription: `mlform lineage ${JSON.stringify(lineage)}`,
      },
      updateMask: { paths: ['version_description'] },
    });
    o = await observe();
    expect(o.listVersions).toBe(1);
    expect(o.items.find((i) => i.name === 'a')?.versions.find((v) => v.version === 2)?.metrics).toEqual({
      val_mae: 9,
    });

    const [op] = await models.deleteModelVersion({ name: `${vertexName('a')}@3` });
    await op.promise();
    o = await observe();
    expect(o.listVersions).toBe(1);
    expect(o.items.find((i) => i.name === 'a')?.versions.map((v) => v.version)).toEqual([1, 2]);
    expect((await observe()).listVersions).toBe(0);
  });

  it('sees the provider’s own changes (registerVersion, moveAlias, deleteVersion)', async () => {
    await model('a', 2);
    await observe();
    const p = h.provider.registeredModels;
    await p.registerVersion(h.ctx, { model: 'a', run: run('a-train', 3) });
    await p.moveAlias(h.ctx, { model: 'a', alias: 'champion', version: 3 });
    await p.deleteVersion(h.ctx, { model: 'a', version: 1 });
    const o = await observe();
    expect(o.listVersions).toBe(1);
    expect(o.items[0].versions.map((v) => v.version)).toEqual([2, 3]);
    expect(o.items[0].aliases).toEqual({ champion: 3 });
    expect((await observe()).items).toEqual(o.items);
  });

  it('falls back to ListModelVersions for a snapshot too large for object metadata', async () => {
    await model('small', 1);
    await model('big', 1);
    await observe();
    expect(snapshotObjects()).toHaveLength(2);
    // 200 metrics with long names: the version's lineage no longer fits 8 KiB of metadata.
    const many = Object.fromEntries(
      Array.from({ length: 200 }, (_, i) => [`validation_metric_with_a_long_name_${i}`, i / 7]),
    );
    await h.provider.registeredModels.registerVersion(h.ctx, {
      model: 'big',
      run: run('big-train', 2, many),
    });
    const first = await observe();
    expect(first.listVersions).toBe(1);
    expect(snapshotObjects().map((o) => o.name)).toEqual(['state/demo/models/.versions/small.json']);
    const big = first.items.find((i) => i.name === 'big');
    expect(big?.versions.map((v) => v.version)).toEqual([1, 2]);
    expect(big?.versions[1].metrics).toEqual({ val_mae: 2.8, ...many });
    const second = await observe();
    expect(second.listVersions).toBe(1); // only big, every time
    expect(second.writes).toBe(0);
    expect(second.items).toEqual(first.items);
  });

  it('ignores a damaged snapshot and rewrites it', async () => {
    await model('a', 1);
    const good = await observe();
    h.fake.seed.object(BUCKET, 'state/demo/models/.versions/a.json', '{}', {
      contentType: 'application/json',
      metadata: { v: '{"f":1,"t":' },
    });
    const o = await observe();
    expect(o.listVersions).toBe(1);
    expect(o.items).toEqual(good.items);
    expect((await observe()).listVersions).toBe(0);
  });

  it('MLFORM_GCP_NO_MODEL_CACHE=1 always lists versions', async () => {
    await model('a', 1);
    await model('b', 1);
    await observe();
    const before = process.env.MLFORM_GCP_NO_MODEL_CACHE;
    process.env.MLFORM_GCP_NO_MODEL_CACHE = '1';
    try {
      for (let i = 0; i < 2; i++) {
        const o = await observe();
        expect(o.listVersions).toBe(2);
        expect(o.writes).toBe(0);
        expect(o.items.map((m) => m.versions.length)).toEqual([1, 1]);
      }
    } finally {
      if (before === undefined) delete process.env.MLFORM_GCP_NO_MODEL_CACHE;
      else process.env.MLFORM_GCP_NO_MODEL_CACHE = before;
    }
    expect((await observe()).listVersions).toBe(0);
  });

  it('deleting the model removes its snapshot', async () => {
    await model('a', 1);
    await observe();
    expect(snapshotObjects()).toHaveLength(1);
    expect((await h.provider.registeredModels.delete(h.ctx, { name: 'a' })).diagnostics).toEqual([]);
    expect(snapshotObjects()).toHaveLength(0);
    expect((await observe()).items).toEqual([]);
  });
});
