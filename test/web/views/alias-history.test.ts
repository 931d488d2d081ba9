/**
 * The local registry keeps alias moves in aliases.json: each move records the version it left, a
 * repeated move to the same version records nothing, the history is bounded, and an aliases.json
 * written before the history existed still reads.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ObservedRun, PutModelRequest } from '../../../providers/provider.js';
import { ALIAS_HISTORY_LIMIT } from '../../../providers/local/records.js';
import { tempProject, type Project } from '../../providers/local/helpers.js';

let project: Project | undefined;
afterEach(async () => {
  await project?.cleanup();
  project = undefined;
});

async function artifactRun(dir: string, number: number): Promise<ObservedRun> {
  const artifact = join(dir, 'artifacts', String(number));
  await mkdir(artifact, { recursive: true });
  await writeFile(join(artifact, 'run.json'), '{}');
  return {
    name: 'mpg-mlp',
    number,
    specHash: 'h',
    state: 'succeeded',
    attempt: 1,
    createdAt: '2026-01-01T00:00:00.000Z',
    artifactUri: artifact,
    metrics: { val_mae: number },
    baseline: {},
    annotations: {},
  };
}

/** A model without alias rules: the test moves its alias by hand. */
const MPG: PutModelRequest = {
  name: 'mpg',
  spec: { aliases: {}, retention: { keepVersions: 10 } },
  specHash: 'm',
  labels: {},
  annotations: {},
};

async function setUp(now: () => Date) {
  project = await tempProject({ now });
  const { ctx, provider } = project;
  await provider.registeredModels.put(ctx, MPG);
  for (const n of [1, 2]) {
    const res = await provider.registeredModels.registerVersion(ctx, {
      model: 'mpg',
      run: await artifactRun(project.dir, n),
    });
    expect(res.diagnostics).toEqual([]);
  }
  return { provider, ctx };
}

describe('alias history (local registry)', () => {
  it('records each move with the version it left, oldest first', async () => {
    let clock = Date.parse('2026-03-01T10:00:00Z');
    const { provider, ctx } = await setUp(() => new Date(clock));
    const move = async (version: number) => {
      clock += 60_000;
      expect(
        (await provider.registeredModels.moveAlias(ctx, { model: 'mpg', alias: 'prod', version }))
          .diagnostics,
      ).toEqual([]);
    };
    await move(1);
    await move(2);
    await move(2); // no move: already there

    const [model] = (await provider.registeredModels.list(ctx)).items;
    expect(model.aliases).toEqual({ prod: 2 });
    expect(model.aliasHistory).toEqual([
      { alias: 'prod', version: 1, previous: null, at: '2026-03-01T10:01:00.000Z' },
      { alias: 'prod', version: 2, previous: 1, at: '2026-03-01T10:02:00.000Z' },
    ]);
  });

  it('reads an aliases.json without history and keeps only the newest moves', async () => {
    const { provider, ctx } = await setUp(() => new Date('2026-03-01T10:00:00Z'));
    const file = join(project!.stateDir, 'registry', 'mpg', 'aliases.json');
    await writeFile(file, JSON.stringify({ formatVersion: 1, aliases: { prod: 1 } }));
    let [model] = (await provider.registeredModels.list(ctx)).items;
    expect(model.aliases).toEqual({ prod: 1 });
    expect(model.aliasHistory).toEqual([]);

    const long = Array.from({ length: ALIAS_HISTORY_LIMIT + 20 }, (_, i) => ({
      alias: 'prod',
      version: 1 + (i % 2),
      previous: 2 - (i % 2),
      at: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
    }));
    await writeFile(file, JSON.stringify({ formatVersion: 1, aliases: { prod: 1 }, history: long }));
    await provider.registeredModels.moveAlias(ctx, { model: 'mpg', alias: 'prod', version: 2 });
    [model] = (await provider.registeredModels.list(ctx)).items;
    expect(model.aliasHistory).toHaveLength(ALIAS_HISTORY_LIMIT);
    expect(model.aliasHistory?.at(-1)).toMatchObject({ version: 2, previous: 1 });
    expect(model.aliasHistory?.[0]).toEqual(long[long.length - ALIAS_HISTORY_LIMIT + 1]);
  });
});
