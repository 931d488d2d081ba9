/**
 * The plan document (actionable changes first, then waits, noops out; symbols and field diffs as
 * text, credentials masked) and the controller document (the replica's status or `mlform ui`'s
 * refresh, every error with its manifest position, backoff per resource).
 */
import { describe, expect, it } from 'vitest';
import { createViewBuilder } from '../../../controller/web/views/index.js';
import { valueText } from '../../../controller/web/views/plan.js';
import {
  fakeIO,
  model,
  observed,
  okDoc,
  quickstart,
  QUICKSTART,
  run,
  snapshotOf,
  specHashOf,
} from './fixture.js';

const TOKEN = 'ghp_abcdefghijklmnopqrstuvwxyz0123456789';

describe('plan', () => {
  it('lists actionable changes first with symbols and field diffs, then waits, masked', async () => {
    const desired = await quickstart();
    const hash = specHashOf(desired, 'TrainingRun/mpg-mlp');
    const current = model(desired);
    const state = observed({
      models: [
        {
          ...current,
          spec: {
            ...current.spec,
            description: `old ${TOKEN}`,
            gate: { metric: 'val_mae', max: 5, beatBaseline: true },
          },
        },
      ],
      runs: [
        run({
          number: 1,
          specHash: hash,
          state: 'running',
          finishedAt: undefined,
          progress: { epoch: 2, epochs: 150 },
        }),
      ],
    });
    const snapshot = snapshotOf(desired, state);
    const doc = okDoc('plan', await createViewBuilder()({ view: 'plan' }, snapshot, fakeIO()));
    expect(doc.available).toBe(true);
    expect(doc.hasChanges).toBe(true);
    expect(doc.summary).toEqual(snapshot.plan?.summary);
    const actions = doc.changes.map((c) => c.action);
    expect(actions).not.toContain('noop');
    expect(actions.lastIndexOf('wait')).toBe(actions.length - 1);
    expect(actions.indexOf('wait')).toBeGreaterThan(actions.findLastIndex((a) => a !== 'wait'));

    const update = doc.changes.find((c) => c.address === 'RegisteredModel/mpg');
    expect(update).toMatchObject({ action: 'update', symbol: '~', deferred: false });
    const rows = Object.fromEntries((update?.fields ?? []).map((f) => [f.path, f]));
    expect(rows['spec.gate.max']).toMatchObject({ before: '5', after: '4' });
    expect(rows['spec.description'].before).not.toContain(TOKEN);
    expect(rows['spec.description'].after).toBe('Miles-per-gallon regressor on the classic cars data set');

    const wait = doc.changes.find((c) => c.action === 'wait' && c.resource === 'TrainingRun/mpg-mlp');
    expect(wait?.symbol).toBe('<=');
    const create = doc.changes.find((c) => c.address === 'Schedule/mpg-weekly');
    expect(create).toMatchObject({ action: 'create', symbol: '+' });
    expect(JSON.stringify(doc)).not.toContain(TOKEN);
  });

  it('says when there is no plan', async () => {
    const snapshot = snapshotOf(undefined, observed(), {
      diagnostics: [
        { severity: 'error', code: 'yaml', message: 'bad', file: `${QUICKSTART}/x.yaml`, line: 3, col: 1 },
      ],
    });
    const doc = okDoc('plan', await createViewBuilder()({ view: 'plan' }, snapshot, fakeIO()));
    expect(doc).toMatchObject({ available: false, hasChanges: false, changes: [] });
    expect(doc.diagnostics).toEqual([
      { severity: 'error', code: 'yaml', message: 'bad', file: 'x.yaml', line: 3, col: 1 },
    ]);
  });

  it('renders field values as compact text', () => {
    expect(valueText(null)).toBeNull();
    expect(valueText(3)).toBe('3');
    expect(valueText('a\u001b[2Kb')).toBe('ab');
    expect(valueText({ minInstances: 1 })).toBe('{"minInstances":1}');
    expect(valueText([{ selector: 'champion', percent: 100, version: 2, artifactUri: null }])).toBe(
      'champion (v2) 100%',
    );
    expect(valueText('x'.repeat(3000))?.length).toBe(2001);
  });
});

describe('controller', () => {
  it("shows the replica's status, every error with its position and the backoff", async () => {
    const desired = await quickstart();
    const hash = specHashOf(desired, 'TrainingRun/mpg-mlp');
    const state = observed({
      runs: [
        run({ number: 1, specHash: hash }),
        run({ number: 2, specHash: hash, state: 'failed', error: `disk full ${TOKEN}` }),
      ],
    });
    const snapshot = snapshotOf(desired, state, {
      mode: 'controller',
      diagnostics: [
        {
          severity: 'error',
          code: 'yaml',
          message: 'bad indentation',
          file: `${QUICKSTART}/model.yaml`,
          line: 7,
          col: 3,
        },
      ],
      backoff: {
        'DeployedEndpoint/mpg-api': {
          resource: 'DeployedEndpoint/mpg-api',
          failures: 3,
          lastError: 'port in use',
          commit: 'abc123',
          nextRetryAt: Date.parse('2026-03-02T12:00:20Z'),
        },
      },
      controller: () => ({
        version: '1.2.3',
        identity: 'host/42',
        leader: true,
        ready: true,
        stack: 'quickstart',
        source: 'git https://example.com/repo.git#main',
        commit: 'def456',
        appliedCommit: 'abc123',
        lastSync: {
          startedAt: '2026-03-02T11:59:00Z',
          finishedAt: '2026-03-02T11:59:01Z',
          result: 'degraded',
        },
        lastError: null,
        badCommit: { commit: 'def456', diagnostics: [] },
      }),
    });
    const doc = okDoc('controller', await createViewBuilder()({ view: 'controller' }, snapshot, fakeIO()));
    expect(doc.controller).toMatchObject({
      commit: 'def456',
      appliedCommit: 'abc123',
      badCommit: 'def456',
      leader: true,
    });
    expect(doc.controller?.lastSync?.result).toBe('degraded');
    expect(doc.refresh).toBeNull();
    expect(doc.errors).toEqual([
      {
        address: null,
        message: 'bad indentation',
        hint: null,
        source: { file: 'model.yaml', line: 7, col: 3 },
      },
      {
        address: 'TrainingRun/mpg-mlp',
        message: 'run mpg-mlp#2 failed: disk full ***',
        hint: expect.stringContaining('mlform logs trainingrun/mpg-mlp'),
        source: { file: 'training.yaml', line: 2, col: 1 },
      },
      {
        address: 'DeployedEndpoint/mpg-api',
        message: 'port in use',
        hint: null,
        source: { file: 'endpoint.yaml', line: 2, col: 1 },
      },
    ]);
    expect(doc.backoff).toEqual([
      {
        address: 'DeployedEndpoint/mpg-api',
        failures: 3,
        lastError: 'port in use',
        nextRetryAt: '2026-03-02T12:00:20.000Z',
      },
    ]);
  });

  it('shows the refresh of `mlform ui`', async () => {
    const doc = okDoc(
      'controller',
      await createViewBuilder()({ view: 'controller' }, snapshotOf(undefined, observed()), fakeIO()),
    );
    expect(doc.controller).toBeNull();
    expect(doc.refresh).toEqual({ lastAt: '2026-03-02T12:00:00.000Z', everySeconds: 5 });
    expect(doc.errors).toEqual([]);
  });
});
