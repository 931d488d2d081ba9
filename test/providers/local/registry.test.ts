/**
 * The local registry on hand-made artifacts (no training needed to test copying and numbering):
 * registration copies the artifact without its checkpoint, is idempotent by run, numbers versions
 * in order even when registrations race; aliases move; a version in use is not deleted.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ObservedRun, PutModelRequest } from '../../../providers/provider.js';
import { readJson, tempProject, type Project } from './helpers.js';

let project: Project;

beforeAll(async () => {
  project = await tempProject();
});

afterAll(async () => {
  await project?.cleanup();
});

/** A succeeded run whose artifact has the files a trainer writes, plus training leftovers. */
async function fakeRun(name: string, number: number, valLoss: number): Promise<ObservedRun> {
  const artifact = join(project.dir, 'artifacts', `${name}-${number}`);
  await mkdir(join(artifact, 'checkpoint'), { recursive: true });
  await mkdir(join(artifact, 'trials', '1'), { recursive: true });
  await mkdir(join(artifact, 'tensorboard'), { recursive: true });
  for (const file of ['model.json', 'preprocess.json', 'history.json'])
    await writeFile(join(artifact, file), '{}');
  await writeFile(join(artifact, 'weights.bin'), Buffer.alloc(64, 1));
  await writeFile(
    join(artifact, 'metrics.json'),
    JSON.stringify({ metrics: { val_loss: valLoss }, baseline: {} }),
  );
  await writeFile(join(artifact, 'tensorboard', 'events.out'), 'x');
  await writeFile(join(artifact, 'checkpoint', 'checkpoint.bin'), 'resume state');
  await writeFile(join(artifact, 'trials', '1', 'model.json'), '{}');
  await writeFile(join(artifact, 'run.json'), '{}');
  return {
    name,
    number,
    specHash: `spec-${name}-${number}`,
    state: 'succeeded',
    attempt: 1,
    createdAt: new Date().toISOString(),
    artifactUri: artifact,
    metrics: { val_loss: valLoss },
    baseline: { val_loss: 1 },
    dataSha256: 'f'.repeat(64),
    gitCommit: 'a'.repeat(40),
    annotations: {},
  };
}

const model = (name: string): PutModelRequest => ({
  name,
  spec: {
    aliases: { champion: { policy: 'best', metric: 'val_loss', goal: 'minimize' } },
    retention: { keepVersions: 2 },
  },
  specHash: `model-${name}`,
  labels: { team: 'ml' },
  annotations: { 'mlform/prevent-destroy': 'true' },
});

describe('registry', () => {
  it('registers a copy of the artifact with lineage, once per run', async () => {
    const { provider, ctx } = project;
    expect((await provider.registeredModels.put(ctx, model('mpg'))).diagnostics).toEqual([]);
    const run = await fakeRun('mpg-mlp', 1, 0.5);

    const first = await provider.registeredModels.registerVersion(ctx, { model: 'mpg', run });
    expect(first.diagnostics).toEqual([]);
    expect(first.version).toMatchObject({
      version: 1,
      run: { name: 'mpg-mlp', number: 1 },
      specHash: 'spec-mpg-mlp-1',
      metrics: { val_loss: 0.5 },
      baseline: { val_loss: 1 },
      dataSha256: 'f'.repeat(64),
      gitCommit: 'a'.repeat(40),
    });
    const dir = first.version?.artifactUri as string;
    expect(dir).toBe(join(project.stateDir, 'registry', 'mpg', 'versions', '1'));
    expect((await readdir(dir)).sort()).toEqual([
      'history.json',
      'metrics.json',
      'model.json',
      'preprocess.json',
      'run.json',
      'tensorboard',
      'version.json',
      'weights.bin',
    ]);
    expect(await readJson(join(dir, 'version.json'))).toMatchObject({
      labels: { 'mlform-stack': 'test', 'mlform-run': 'mpg-mlp-1' },
    });

    const again = await provider.registeredModels.registerVersion(ctx, { model: 'mpg', run });
    expect(again.version?.version).toBe(1);
    expect(await readdir(join(project.stateDir, 'registry', 'mpg', 'versions'))).toEqual(['1']);
  });

  it('numbers racing registrations of different runs distinctly', async () => {
    const { provider, ctx } = project;
    const runs = await Promise.all([2, 3, 4].map((n) => fakeRun('mpg-mlp', n, 0.5 - n / 10)));
    const versions = await Promise.all(
      runs.map((run) => provider.registeredModels.registerVersion(ctx, { model: 'mpg', run })),
    );
    expect(versions.flatMap((v) => v.diagnostics)).toEqual([]);
    expect(versions.map((v) => v.version?.version).sort()).toEqual([2, 3, 4]);
  });

  it('moves aliases, keeps versions in use, deletes the rest, lists it all', async () => {
    const { provider, ctx } = project;
    expect(
      (await provider.registeredModels.moveAlias(ctx, { model: 'mpg', alias: 'champion', version: 3 }))
        .diagnostics,
    ).toEqual([]);
    expect(
      (await provider.registeredModels.moveAlias(ctx, { model: 'mpg', alias: 'champion', version: 4 }))
        .diagnostics,
    ).toEqual([]);
    const missing = await provider.registeredModels.moveAlias(ctx, {
      model: 'mpg',
      alias: 'champion',
      version: 9,
    });
    expect(missing.diagnostics.map((d) => d.code)).toEqual(['local-version-not-found']);

    const inUse = await provider.registeredModels.deleteVersion(ctx, { model: 'mpg', version: 4 });
    expect(inUse.diagnostics.map((d) => d.code)).toEqual(['local-version-in-use']);
    expect(inUse.diagnostics[0].message).toContain('alias "champion"');
    // Retention: the two oldest go.
    for (const version of [1, 2]) {
      expect(
        (await provider.registeredModels.deleteVersion(ctx, { model: 'mpg', version })).diagnostics,
      ).toEqual([]);
    }
    expect(
      (await provider.registeredModels.deleteVersion(ctx, { model: 'mpg', version: 1 })).diagnostics,
    ).toEqual([]);

    // A crashed registration's temp folder is not a version.
    await mkdir(join(project.stateDir, 'registry', 'mpg', 'versions', '.tmp-crashed'), { recursive: true });
    const listed = await provider.registeredModels.list(ctx);
    expect(listed.diagnostics).toEqual([]);
    expect(listed.items).toHaveLength(1);
    expect(listed.items[0]).toMatchObject({
      name: 'mpg',
      specHash: 'model-mpg',
      annotations: { 'mlform/prevent-destroy': 'true' },
      aliases: { champion: 4 },
    });
    expect(listed.items[0].spec.retention.keepVersions).toBe(2);
    expect(listed.items[0].versions.map((v) => v.version)).toEqual([3, 4]);
  });

  it('refuses what it cannot do, with diagnostics', async () => {
    const { provider, ctx } = project;
    const run = await fakeRun('other', 1, 0.1);
    const noModel = await provider.registeredModels.registerVersion(ctx, { model: 'nope', run });
    expect(noModel.diagnostics.map((d) => d.code)).toEqual(['local-model-not-found']);
    const failed = await provider.registeredModels.registerVersion(ctx, {
      model: 'mpg',
      run: { ...run, state: 'failed' },
    });
    expect(failed.diagnostics.map((d) => d.code)).toEqual(['local-run-not-succeeded']);

    await writeFile(join(project.stateDir, 'registry', 'mpg', 'aliases.json'), 'not json');
    const damaged = await provider.registeredModels.list(ctx);
    expect(damaged.items[0].aliases).toEqual({});
    expect(damaged.diagnostics.map((d) => d.code)).toEqual(['local-corrupt-record']);
    await writeFile(
      join(project.stateDir, 'registry', 'mpg', 'aliases.json'),
      '{"formatVersion":1,"aliases":{}}',
    );

    const otherStack = await provider.registeredModels.put({ ...ctx, stack: 'other' }, model('mpg'));
    expect(otherStack.diagnostics.map((d) => d.code)).toEqual(['local-not-owned']);
  });

  it('deletes a model with its versions, and deleting it again is fine', async () => {
    const { provider, ctx } = project;
    expect((await provider.registeredModels.delete(ctx, { name: 'mpg' })).diagnostics).toEqual([]);
    expect((await provider.registeredModels.list(ctx)).items).toEqual([]);
    expect((await provider.registeredModels.delete(ctx, { name: 'mpg' })).diagnostics).toEqual([]);
  });
});
