/**
 * The registered model document: versions newest first with aliases, the gate checked against each,
 * lineage, endpoints serving them, the key metric, alias history (local) or the note that the
 * registry keeps none (gcp), and the run the gate refused as the plan says it.
 */
import { describe, expect, it } from 'vitest';
import { createViewBuilder } from '../../../controller/web/views/index.js';
import { NO_ALIAS_HISTORY } from '../../../controller/web/views/registered-model.js';
import type { ObservedVersion } from '../../../providers/provider.js';
import * as fx from './fixture.js';

const version = (n: number, valMae: number, specHash: string): ObservedVersion => ({
  version: n,
  run: { name: 'mpg-mlp', number: n },
  specHash,
  artifactUri: `/state/registry/mpg/versions/${n}`,
  metrics: { val_mae: valMae, loss: 0.1 },
  baseline: { val_mae: 6 },
  dataSha256: 'd'.repeat(64),
  gitCommit: 'c'.repeat(40),
  createdAt: new Date(Date.UTC(2026, 2, 1, n)).toISOString(),
});

async function setUp(provider: 'local' | 'gcp' = 'local') {
  const desired = await fx.quickstart();
  const hash = fx.specHashOf(desired, 'TrainingRun/mpg-mlp');
  const history = [
    { alias: 'champion', version: 1, previous: null, at: '2026-03-01T01:00:00.000Z' },
    { alias: 'champion', version: 2, previous: 1, at: '2026-03-01T02:00:00.000Z' },
  ];
  const state = fx.observed({
    // #3 succeeded, is not registered and is over the gate's max: the plan refuses it.
    runs: [3.5, 4.5, 5.5].map((valMae, i) =>
      fx.run({
        number: i + 1,
        specHash: hash,
        metrics: { val_mae: valMae },
        baseline: { val_mae: 6 },
        artifactUri: `/a/${i + 1}`,
      }),
    ),
    models: [
      fx.model(desired, {
        versions: [version(1, 3.5, hash), version(2, 4.5, hash)],
        aliases: { champion: 1 },
        ...(provider === 'local' && { aliasHistory: history }),
      }),
    ],
    endpoints: [
      fx.endpoint(desired, {
        traffic: [
          { version: 1, percent: 80 },
          { version: 2, percent: 20 },
        ],
      }),
    ],
  });
  return fx.snapshotOf(desired, state, { provider });
}

describe('registered model', () => {
  it('lists versions with aliases, gate outcome, lineage and the endpoints serving them', async () => {
    const doc = fx.okDoc(
      'registeredmodel',
      await createViewBuilder()(
        { view: 'registeredmodel', name: 'mpg', limit: 50 },
        await setUp(),
        fx.fakeIO(),
      ),
    );
    expect(doc.keyMetric).toBe('val_mae');
    expect(doc.versionsTotal).toBe(2);
    expect(doc.versions.map((v) => v.version)).toEqual([2, 1]);
    const [v2, v1] = doc.versions;
    expect(v1).toMatchObject({
      aliases: ['champion'],
      run: { name: 'mpg-mlp', number: 1 },
      gate: { passed: true, detail: 'val_mae 3.5 <= 4, beats the baseline 6' },
      dataSha256: 'd'.repeat(64),
      gitCommit: 'c'.repeat(40),
      servedBy: [{ endpoint: 'mpg-api', percent: 80 }],
    });
    expect(v2.gate).toEqual({ passed: false, detail: 'val_mae 4.5 > 4' });
    expect(v2.servedBy).toEqual([{ endpoint: 'mpg-api', percent: 20 }]);
    expect(doc.aliasHistory).toEqual([
      { alias: 'champion', version: 2, previous: 1, at: '2026-03-01T02:00:00.000Z' },
      { alias: 'champion', version: 1, previous: null, at: '2026-03-01T01:00:00.000Z' },
    ]);
    expect(doc.aliasHistoryNote).toBeNull();
    expect(doc.rejected).toEqual({ run: 'mpg-mlp#3', reason: 'val_mae 5.5 > 4' });
    expect(doc.specYaml).toContain('beatBaseline: true');
  });

  it('pages versions and says when the registry keeps no alias history', async () => {
    const doc = fx.okDoc(
      'registeredmodel',
      await createViewBuilder()(
        { view: 'registeredmodel', name: 'mpg', limit: 1 },
        await setUp('gcp'),
        fx.fakeIO(),
      ),
    );
    expect(doc.versions.map((v) => v.version)).toEqual([2]);
    expect(doc.versionsTotal).toBe(2);
    expect(doc.aliasHistory).toEqual([]);
    expect(doc.aliasHistoryNote).toBe(NO_ALIAS_HISTORY);
  });

  it('forgets a refusal once a later run of the TrainingRun became a version', async () => {
    const snapshot = await setUp();
    const [mpg] = snapshot.observed.models;
    const later = { ...mpg.versions[1], version: 3, run: { name: 'mpg-mlp', number: 4 } };
    const moved = {
      ...snapshot,
      observed: { ...snapshot.observed, models: [{ ...mpg, versions: [...mpg.versions, later] }] },
    };
    expect(
      moved.plan?.changes.some(
        (c) => c.action === 'noop' && c.reason.startsWith('mpg-mlp#3 failed the gate'),
      ),
    ).toBe(true);
    const doc = fx.okDoc(
      'registeredmodel',
      await createViewBuilder()({ view: 'registeredmodel', name: 'mpg', limit: 50 }, moved, fx.fakeIO()),
    );
    expect(doc.rejected).toBeNull();
  });

  it('answers 404 naming the closest model', async () => {
    const result = await createViewBuilder()(
      { view: 'registeredmodel', name: 'mgp', limit: 50 },
      await setUp(),
      fx.fakeIO(),
    );
    expect(result).toEqual({
      status: 404,
      error: { error: 'RegisteredModel "mgp" is not in this stack', hint: 'did you mean "mpg"?' },
    });
  });
});
