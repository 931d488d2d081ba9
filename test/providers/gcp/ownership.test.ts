/**
 * Ownership on gcp (providers/gcp/ownership.ts, README.md "Ownership is checked before every
 * write"): a model two stacks shared under the names before issue 18 holds both stacks' versions;
 * each stack sees and deletes only its own. A Scheduler job is claimed only under a name derived
 * from its claimed owner.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { v1 as aiplatform } from '@google-cloud/aiplatform';
import { fakeClientOptions } from '../../fakes/gcp/index.js';
import type { ObservedRun, ProviderContext } from '../../../providers/provider.js';
import type { RegisteredModelSpec } from '../../../resources/registered-model.js';
import { sanitizeLabels } from '../../../providers/gcp/jobs.js';
import { ownerOfJob } from '../../../providers/gcp/schedules.js';
import { CONFIG, harness, type Harness } from './helpers.js';

const PARENT = `projects/${CONFIG.project}/locations/${CONFIG.region}`;
const SHARED = `${PARENT}/models/mlform-a-b-c`;

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

const ctxOf = (stack: string): ProviderContext => ({ ...h.ctx, stack });
const spec = {
  description: 'm',
  aliases: {},
  retention: { keepVersions: 10 },
} as unknown as RegisteredModelSpec;

/** A version as a release before issue 18 uploaded it, under the shared legacy id. */
async function legacyVersion(stack: string, name: string, first: boolean): Promise<void> {
  const lineage = { specHash: 'e'.repeat(64), metrics: { val_mae: 2 }, baseline: {} };
  const [op] = await models.uploadModel({
    parent: PARENT,
    ...(first ? { modelId: 'mlform-a-b-c' } : { parentModel: SHARED }),
    model: {
      displayName: name,
      versionDescription: `mlform lineage ${JSON.stringify(lineage)}`,
      artifactUri: `gs://mlform-test/state/${stack}/runs/${name}/1`,
      labels: {
        'mlform-stack': stack,
        'mlform-kind': 'registeredmodel',
        'mlform-name': name,
        'mlform-run-name': name,
        'mlform-run-number': '1',
      },
    },
  });
  await op.promise();
}

const versionIds = () =>
  h.fake
    .models()
    .map((v) => `${String(v.name).split('/').pop()}@${String(v.versionId)}`)
    .sort();

describe('a model two stacks shared under the old names', () => {
  it('each stack sees only its versions; deletes refuse the other stack’s; the other stack starts its own model', async () => {
    await legacyVersion('a', 'b-c', true);
    await legacyVersion('a-b', 'c', false);
    const p = h.provider.registeredModels;
    for (const [stack, name] of [
      ['a', 'b-c'],
      ['a-b', 'c'],
    ] as const) {
      expect(
        (await p.put(ctxOf(stack), { name, spec, specHash: '1'.repeat(64), labels: {}, annotations: {} }))
          .diagnostics,
      ).toEqual([]);
    }

    // Stack a owns the model (its default version is a's) and sees v1 only.
    const a = await p.list(ctxOf('a'));
    expect(a.items.map((m) => [m.name, m.versions.map((v) => v.version)])).toEqual([['b-c', [1]]]);
    // Stack a-b does not own it: no versions, although v2 carries its labels.
    const ab = await p.list(ctxOf('a-b'));
    expect(ab.items.map((m) => [m.name, m.versions.map((v) => v.version)])).toEqual([['c', []]]);

    const refused = await p.deleteVersion(ctxOf('a'), { model: 'b-c', version: 2 });
    expect(refused.diagnostics.map((d) => d.code)).toEqual(['gcp-not-owned']);
    expect(refused.diagnostics[0].message).toContain(`${SHARED} (version 2)`);
    expect(refused.diagnostics[0].message).toContain("stack a-b's registeredmodel c");
    const whole = await p.delete(ctxOf('a'), { name: 'b-c' });
    expect(whole.diagnostics.map((d) => d.code)).toEqual(['gcp-not-owned']);
    expect(versionIds()).toEqual(['mlform-a-b-c@1', 'mlform-a-b-c@2']);

    // a-b registers into a model of its own under the new name.
    const run: ObservedRun = {
      name: 'c',
      number: 2,
      specHash: 'f'.repeat(64),
      state: 'succeeded',
      attempt: 1,
      artifactUri: 'gs://mlform-test/state/a-b/runs/c/2',
      metrics: { val_mae: 1 },
      baseline: {},
      createdAt: new Date(0).toISOString(),
      annotations: {},
    };
    const registered = await p.registerVersion(ctxOf('a-b'), { model: 'c', run });
    expect(registered.diagnostics).toEqual([]);
    expect(registered.version?.version).toBe(1);
    expect(versionIds()).toEqual(['mlform-a-b-c@1', 'mlform-a-b-c@2', 'mlform-a-b_c@1']);
    const moved = await p.moveAlias(ctxOf('a'), { model: 'b-c', alias: 'champion', version: 2 });
    expect(moved.diagnostics.map((d) => d.code)).toEqual(['gcp-not-owned']);
  }, 60_000);
});

describe('Scheduler job owners', () => {
  const body = (labels: Record<string, string>) =>
    Buffer.from(JSON.stringify({ displayName: 'x', labels })).toString('base64');
  const at = (id: string) => `projects/p/locations/r/jobs/${id}`;

  it('count only under a name derived from the claimed owner', () => {
    const desc = (o: object) => `mlform spec ${'e'.repeat(64)} ${JSON.stringify({ ...o, s: {}, a: {} })}`;
    expect(ownerOfJob({ name: at('mlform-a_b-c'), description: desc({ stack: 'a', name: 'b-c' }) })).toEqual({
      stack: 'a',
      kind: 'schedule',
      name: 'b-c',
    });
    // The description of another job, copied under our name, claims nothing here.
    expect(ownerOfJob({ name: at('mlform-a_b-c'), description: desc({ stack: 'a-b', name: 'c' }) })).toBe(
      undefined,
    );
    // A job written before issue 18: the posted CustomJob's labels decide between a/b-c and a-b/c.
    const legacy = (labels: Record<string, string>) => ({
      name: at('mlform-a-b-c'),
      description: desc({}),
      httpTarget: { body: body(labels) },
    });
    expect(ownerOfJob(legacy({ 'mlform-stack': 'a-b', 'mlform-schedule': 'c' }))).toEqual({
      stack: 'a-b',
      kind: 'schedule',
      name: 'c',
    });
    expect(ownerOfJob(legacy({ 'mlform-stack': 'a', 'mlform-schedule': 'b-c' }))?.stack).toBe('a');
    expect(ownerOfJob(legacy({ 'mlform-stack': 'a', 'mlform-schedule': 'other' }))).toBe(undefined);
    expect(ownerOfJob({ name: at('mlform-a-b-c'), description: 'hand-made' })).toBe(undefined);
  });
});

describe('a manifest’s labels', () => {
  it('cannot set mlform’s own labels on a job', () => {
    const labels = sanitizeLabels({
      team: 'ml',
      'mlform-run': '9',
      'mlform-schedule': 'nightly',
      'mlform-stack': 'other',
      'MLFORM-NAME': 'x',
    });
    expect(labels).toEqual({ team: 'ml' });
  });
});
