/**
 * The overview document on the quickstart: cards with badges, groups and links, children per kind,
 * filters (kind, health, sync, label, q), stable order, cursor paging, counts over the whole
 * stack, positioned stack diagnostics; and a synthetic 1,000-resource stack.
 */
import { describe, expect, it } from 'vitest';
import type { ApiRoute } from '../../../controller/web/api.js';
import { createViewBuilder, decodeCursor, encodeCursor } from '../../../controller/web/views/index.js';
import type { StackSnapshot } from '../../../controller/web/snapshot.js';
import { addressOf } from '../../../resources/address.js';
import {
  endpoint,
  fakeIO,
  model,
  observed,
  okDoc,
  quickstart,
  run,
  schedule,
  snapshotOf,
  specHashOf,
  QUICKSTART,
} from './fixture.js';

type Filter = Extract<ApiRoute, { view: 'overview' }>['filter'];
const route = (filter: Filter = {}, limit = 500, offset = 0): ApiRoute => ({
  view: 'overview',
  filter,
  limit,
  offset,
});

async function quickstartSnapshot() {
  const desired = await quickstart();
  const hash = specHashOf(desired, 'TrainingRun/mpg-mlp');
  const versions = [1, 2, 3, 4, 5, 6, 7].map((n) => ({
    version: n,
    run: { name: 'mpg-mlp', number: n },
    specHash: hash,
    artifactUri: `/state/registry/mpg/versions/${n}`,
    metrics: { val_mae: 3 - n / 10 },
    baseline: { val_mae: 6 },
    createdAt: new Date(Date.UTC(2026, 2, 1, n)).toISOString(),
  }));
  const state = observed({
    runs: [
      ...[1, 2, 3, 4, 5, 6, 7].map((n) =>
        run({ number: n, specHash: hash, metrics: { val_mae: 3 - n / 10 } }),
      ),
      run({
        number: 8,
        specHash: hash,
        state: 'running',
        finishedAt: undefined,
        progress: { epoch: 3, epochs: 10 },
      }),
    ],
    models: [model(desired, { versions, aliases: { champion: 7, staging: 7, old: 2 } })],
    endpoints: [
      endpoint(desired, {
        traffic: [
          { version: 7, percent: 90 },
          { version: 6, percent: 10 },
        ],
      }),
    ],
    schedules: [schedule(desired)],
  });
  return snapshotOf(desired, state, {
    diagnostics: [
      {
        severity: 'error',
        code: 'yaml',
        message: 'bad indentation',
        file: `${QUICKSTART}/broken.yaml`,
        line: 4,
        col: 2,
      },
    ],
  });
}

const build = createViewBuilder();

describe('overview', () => {
  it('shows every resource with badges, group, links and children, in tree order', async () => {
    const snapshot = await quickstartSnapshot();
    const doc = okDoc('overview', await build(route(), snapshot, fakeIO()));
    expect(doc.items.map((i) => i.address)).toEqual([
      'RegisteredModel/mpg',
      'TrainingRun/mpg-mlp',
      'DeployedEndpoint/mpg-api',
      'Schedule/mpg-weekly',
    ]);
    expect(doc.items.every((i) => i.group === 'mpg')).toBe(true);
    const byAddress = Object.fromEntries(doc.items.map((i) => [i.address, i]));

    const mpg = byAddress['RegisteredModel/mpg'];
    expect(mpg.labels).toEqual({ team: 'demo' });
    expect(mpg.source).toEqual({ file: 'model.yaml', line: 2, col: 1 });
    expect(mpg.children.map((c) => c.label)).toEqual(['v7', 'v6', 'v5', 'v4', 'v3', '…']);
    expect(mpg.children[0].detail).toBe('champion, staging · val_mae 2.3');
    expect(mpg.children[5].detail).toBe('2 more');

    const training = byAddress['TrainingRun/mpg-mlp'];
    expect(training.health).toBe('Progressing');
    expect(training.links).toEqual([{ relation: 'trains', address: 'RegisteredModel/mpg' }]);
    expect(training.children[0]).toEqual({
      label: '#8',
      detail: 'running epoch 3/10',
      health: 'Progressing',
    });
    expect(training.children[1]).toEqual({ label: '#7', detail: 'succeeded val_mae 2.3', health: 'Healthy' });

    const api = byAddress['DeployedEndpoint/mpg-api'];
    expect(api.links).toEqual([{ relation: 'serves', address: 'RegisteredModel/mpg' }]);
    expect(api.children.map((c) => `${c.label} ${c.detail}`)).toEqual(['v7 90% champion staging', 'v6 10%']);

    const weekly = byAddress['Schedule/mpg-weekly'];
    expect(weekly.links).toEqual([{ relation: 'fires', address: 'TrainingRun/mpg-mlp' }]);
    // Mondays 06:00 Europe/Warsaw; NOW is Monday 2 March 2026 12:00 UTC.
    expect(weekly.children[0]).toEqual({
      label: 'next',
      detail: '2026-03-09 06:00 Europe/Warsaw',
      health: 'Healthy',
    });

    expect(doc.counts).toEqual({
      total: 4,
      byKind: { TrainingRun: 1, RegisteredModel: 1, DeployedEndpoint: 1, Schedule: 1 },
      byHealth: { Progressing: 1, Healthy: 3 },
      bySync: expect.any(Object),
    });
    expect(doc.diagnostics).toEqual([
      { severity: 'error', code: 'yaml', message: 'bad indentation', file: 'broken.yaml', line: 4, col: 2 },
    ]);
  });

  it('filters by kind, health, sync, label and name, counting the whole stack', async () => {
    const snapshot = await quickstartSnapshot();
    const addresses = async (filter: Filter) =>
      okDoc('overview', await build(route(filter), snapshot, fakeIO())).items.map((i) => i.address);
    expect(await addresses({ kind: 'TrainingRun' })).toEqual(['TrainingRun/mpg-mlp']);
    expect(await addresses({ health: 'Progressing' })).toEqual(['TrainingRun/mpg-mlp']);
    expect(await addresses({ label: { key: 'team' } })).toEqual([
      'RegisteredModel/mpg',
      'TrainingRun/mpg-mlp',
    ]);
    expect(await addresses({ label: { key: 'team', value: 'demo' } })).toHaveLength(2);
    expect(await addresses({ label: { key: 'team', value: 'other' } })).toEqual([]);
    expect(await addresses({ q: 'WEEK' })).toEqual(['Schedule/mpg-weekly']);
    expect(await addresses({ q: 'deployedendpoint/' })).toEqual(['DeployedEndpoint/mpg-api']);
    const sync = snapshot.statuses.find((s) => s.address === 'Schedule/mpg-weekly')?.syncStatus;
    expect(await addresses({ kind: 'Schedule', sync })).toEqual(['Schedule/mpg-weekly']);
    const doc = okDoc('overview', await build(route({ kind: 'Schedule' }), snapshot, fakeIO()));
    expect(doc.matched).toBe(1);
    expect(doc.counts.total).toBe(4);
  });

  it('pages with an opaque cursor', async () => {
    const snapshot = await quickstartSnapshot();
    const first = okDoc('overview', await build(route({}, 3, 0), snapshot, fakeIO()));
    expect(first.items).toHaveLength(3);
    expect(first.matched).toBe(4);
    expect(first.nextCursor).not.toBeNull();
    const offset = decodeCursor(first.nextCursor ?? '');
    expect(offset).toBe(3);
    const second = okDoc('overview', await build(route({}, 3, offset), snapshot, fakeIO()));
    expect(second.items.map((i) => i.address)).toEqual(['Schedule/mpg-weekly']);
    expect(second.nextCursor).toBeNull();
    expect(decodeCursor(encodeCursor(1234))).toBe(1234);
    for (const bad of ['', '!!', encodeCursor(-1), Buffer.from('1e3').toString('base64url'), 'x'.repeat(40)])
      expect(decodeCursor(bad)).toBeUndefined();
  });

  it('puts ungrouped resources last and shows what the manifests no longer declare', async () => {
    const desired = await quickstart();
    const state = observed({
      runs: [
        run({
          name: 'orphan',
          number: 1,
          state: 'failed',
          error: 'boom token=ghp_abcdefghijklmnopqrstuvwxyz0123456789',
        }),
      ],
    });
    const doc = okDoc('overview', await build(route(), snapshotOf(desired, state), fakeIO()));
    const orphan = doc.items.at(-1);
    expect(orphan).toMatchObject({ address: 'TrainingRun/orphan', group: null, source: null, labels: {} });
    expect(orphan?.children[0].detail).not.toContain('ghp_');
    expect(orphan?.details).not.toContain('ghp_');
  });

  it('builds the overview of a 1,000-resource stack', async () => {
    const desired = await quickstart();
    const base = desired.resources;
    const resources = [];
    const state = observed();
    for (let i = 0; i < 250; i++) {
      for (const r of base) {
        const name = `${r.name}-${i}`;
        const manifest = structuredClone(r.manifest);
        manifest.metadata.name = name;
        if (manifest.kind === 'TrainingRun') manifest.spec.model = `mpg-${i}`;
        if (manifest.kind === 'DeployedEndpoint') manifest.spec.model = `mpg-${i}`;
        if (manifest.kind === 'Schedule') manifest.spec.trainingRun = `mpg-mlp-${i}`;
        resources.push({ ...r, name, address: addressOf(r.kind, name), manifest });
      }
      state.runs.push(
        run({ name: `mpg-mlp-${i}`, number: 1 }),
        run({ name: `mpg-mlp-${i}`, number: 2, state: 'failed' }),
      );
    }
    // Statuses as the engine gives them, without a plan (no 1,000-resource plan needed here).
    const snapshot: StackSnapshot = {
      ...snapshotOf(undefined, state),
      desired: { ...desired, resources },
      statuses: resources.map((r) => ({
        kind: r.kind,
        name: r.name,
        address: r.address,
        syncStatus: 'Synced',
        health: r.kind === 'TrainingRun' ? 'Degraded' : 'Healthy',
        details: '',
        conditions: [],
        lastError: null,
        nextRetryAt: null,
      })),
    };
    const doc = okDoc('overview', await build(route({}, 1000), snapshot, fakeIO()));
    expect(doc.counts.total).toBe(1000);
    expect(doc.items).toHaveLength(1000);
    expect(doc.items.slice(0, 4).map((i) => i.address)).toEqual([
      'RegisteredModel/mpg-0',
      'TrainingRun/mpg-mlp-0',
      'DeployedEndpoint/mpg-api-0',
      'Schedule/mpg-weekly-0',
    ]);
    expect(doc.items[1].children.map((c) => c.label)).toEqual(['#2', '#1']);
    const degraded = okDoc('overview', await build(route({ health: 'Degraded' }, 100), snapshot, fakeIO()));
    expect(degraded.matched).toBe(250);
    expect(degraded.nextCursor).toBe(encodeCursor(100));
  });
});
