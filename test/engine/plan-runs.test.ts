import { describe, expect, it } from 'vitest';
import type { Change, Plan } from '../../controller/engine/change.js';
import { hasChanges } from '../../controller/engine/change.js';
import { plan } from '../../controller/engine/plan.js';
import { NOW, converged, empty, hashOf, loadTrees, run, version } from './helpers.js';

const actions = (p: Plan) => p.changes.map((c) => `${c.action} ${c.address}`);
const change = (p: Plan, address: string): Change => {
  const found = p.changes.find((c) => c.address === address);
  if (!found) throw new Error(`no change for ${address}: ${actions(p).join(', ')}`);
  return found;
};

describe('a fresh plan', () => {
  it('creates everything; registration, alias and traffic are known after training', async () => {
    const desired = await loadTrees('core', 'runs', 'schedule');
    const p = plan(desired, empty(), { now: NOW });
    expect(actions(p)).toEqual([
      'create RegisteredModel/mpg',
      'create TrainingRun/mpg-mlp',
      'register RegisteredModel/mpg/versions/mpg-mlp#1',
      'promote RegisteredModel/mpg/aliases/champion',
      'create DeployedEndpoint/mpg-api',
      'create Schedule/mpg-weekly',
    ]);
    expect(p.diagnostics).toEqual([]);
    expect(p.summary).toMatchObject({ create: 4, register: 1, promote: 1, noop: 0 });

    const created = change(p, 'TrainingRun/mpg-mlp');
    expect(created.action === 'create' && created.kind === 'TrainingRun' && created.after).toMatchObject({
      name: 'mpg-mlp',
      number: 1,
      attempt: 1,
      specHash: hashOf(desired, 'TrainingRun/mpg-mlp'),
      model: 'mpg',
    });
    expect(created.dependsOn).toEqual(['RegisteredModel/mpg']);
    expect(change(p, 'RegisteredModel/mpg/versions/mpg-mlp#1')).toMatchObject({
      after: { deferred: true, version: null, run: { name: 'mpg-mlp', number: 1 } },
      dependsOn: ['RegisteredModel/mpg', 'TrainingRun/mpg-mlp'],
    });
    expect(change(p, 'RegisteredModel/mpg/aliases/champion')).toMatchObject({
      before: { version: null },
      after: { deferred: true, version: null },
    });
    expect(change(p, 'DeployedEndpoint/mpg-api')).toMatchObject({
      after: {
        trafficDeferred: true,
        traffic: [{ selector: 'champion', percent: 100, version: null, artifactUri: null }],
      },
      dependsOn: ['RegisteredModel/mpg', 'RegisteredModel/mpg/aliases/champion'],
    });
    // Monday 06:00 in Warsaw is 05:00 UTC in November.
    expect(change(p, 'Schedule/mpg-weekly')).toMatchObject({
      reason: 'next run 2026-11-23 06:00 Europe/Warsaw',
      after: { nextFireTime: '2026-11-23T05:00:00.000Z' },
      dependsOn: ['TrainingRun/mpg-mlp'],
    });
  });
});

describe('TrainingRun identity (name, spec hash)', () => {
  it('converged state: every change is a noop', async () => {
    const desired = await loadTrees('core', 'runs', 'schedule');
    const h = hashOf(desired, 'TrainingRun/mpg-mlp');
    const observed = converged(desired, {
      runs: [run({ number: 1, specHash: h })],
      versions: { mpg: [version(1, { specHash: h })] },
      aliases: { mpg: { champion: 1 } },
      traffic: { 'mpg-api': [{ version: 1, percent: 100 }] },
    });
    const p = plan(desired, observed, { now: NOW });
    expect(hasChanges(p)).toBe(false);
    expect(p.changes.every((c) => c.action === 'noop')).toBe(true);
    expect(p.changes.map((c) => c.address)).toEqual([
      'RegisteredModel/mpg',
      'TrainingRun/mpg-mlp',
      'DeployedEndpoint/mpg-api',
      'Schedule/mpg-weekly',
    ]);
    expect(change(p, 'TrainingRun/mpg-mlp').reason).toBe('mpg-mlp#1 succeeded with this spec');
  });

  it('waits for a queued or running run of the desired spec, and registers it after training', async () => {
    const desired = await loadTrees('core', 'runs');
    const h = hashOf(desired, 'TrainingRun/mpg-mlp');
    const observed = converged(desired, {
      runs: [run({ number: 1, specHash: h, state: 'running', progress: { epoch: 12, epochs: 100 } })],
    });
    const p = plan(desired, observed, { now: NOW });
    expect(change(p, 'TrainingRun/mpg-mlp')).toMatchObject({
      action: 'wait',
      reason: 'mpg-mlp#1 is running (epoch 12/100)',
      run: { name: 'mpg-mlp', number: 1, state: 'running' },
    });
    expect(change(p, 'RegisteredModel/mpg/versions/mpg-mlp#1')).toMatchObject({
      action: 'register',
      after: { deferred: true },
      dependsOn: ['TrainingRun/mpg-mlp'],
    });
  });

  it('a changed spec while the old run is running: -/+ replace, then deferred register, promote, rollout', async () => {
    const before = await loadTrees('core', 'runs');
    const desired = await loadTrees('core', 'runs-v2');
    const old = hashOf(before, 'TrainingRun/mpg-mlp');
    const observed = converged(desired, {
      runs: [
        run({ number: 1, specHash: old }),
        run({ number: 2, specHash: old, state: 'running', attempt: 1 }),
      ],
      versions: { mpg: [version(1, { specHash: old })] },
      aliases: { mpg: { champion: 1 } },
      traffic: { 'mpg-api': [{ version: 1, percent: 100 }] },
    });
    const p = plan(desired, observed, { now: NOW });
    expect(actions(p).filter((a) => !a.startsWith('noop'))).toEqual([
      'replace TrainingRun/mpg-mlp',
      'register RegisteredModel/mpg/versions/mpg-mlp#3',
      'promote RegisteredModel/mpg/aliases/champion',
      'update DeployedEndpoint/mpg-api',
    ]);
    const replace = change(p, 'TrainingRun/mpg-mlp');
    expect(replace.reason).toBe(
      'spec changed while mpg-mlp#2 is running: mpg-mlp#2 will be CANCELLED and replaced by mpg-mlp#3',
    );
    expect(replace).toMatchObject({
      before: { cancel: [{ name: 'mpg-mlp', number: 2, state: 'running', specHash: old }] },
      after: { number: 3, attempt: 1, specHash: hashOf(desired, 'TrainingRun/mpg-mlp') },
    });
    expect(change(p, 'RegisteredModel/mpg/aliases/champion')).toMatchObject({
      before: { version: 1 },
      after: { deferred: true },
    });
    expect(change(p, 'DeployedEndpoint/mpg-api')).toMatchObject({
      fields: [
        {
          path: 'traffic',
          before: [{ selector: 'champion', version: 1, percent: 100 }],
          after: [{ selector: 'champion', version: null, percent: 100 }],
        },
      ],
      after: { trafficDeferred: true },
    });
    expect(p.summary).toMatchObject({ replace: 1, register: 1, promote: 1, update: 1 });
  });

  it('a changed spec after the old run succeeded: -/+ a new run; the old one stays as history', async () => {
    const before = await loadTrees('core', 'runs');
    const desired = await loadTrees('core', 'runs-v2');
    const old = hashOf(before, 'TrainingRun/mpg-mlp');
    const observed = converged(desired, {
      runs: [run({ number: 1, specHash: old })],
      versions: { mpg: [version(1, { specHash: old })] },
      aliases: { mpg: { champion: 1 } },
      traffic: { 'mpg-api': [{ version: 1, percent: 100 }] },
    });
    const p = plan(desired, observed, { now: NOW });
    expect(change(p, 'TrainingRun/mpg-mlp')).toMatchObject({
      action: 'replace',
      reason: 'spec changed: mpg-mlp#2 replaces mpg-mlp#1 (which stays as history)',
      before: { cancel: [] },
      after: { number: 2, attempt: 1 },
    });
    expect(p.summary).toMatchObject({ create: 0, cancel: 0, delete: 0, replace: 1, register: 1, promote: 1 });
  });

  it('retries a failed run as the next attempt while attempts <= retry.limit', async () => {
    const desired = await loadTrees('core', 'runs');
    const h = hashOf(desired, 'TrainingRun/mpg-mlp');
    const observed = converged(desired, {
      runs: [
        run({ number: 1, specHash: h, state: 'failed', attempt: 1, error: 'NaN loss' }),
        run({ number: 2, specHash: h, state: 'failed', attempt: 2 }),
      ],
    });
    const p = plan(desired, observed, { now: NOW });
    expect(change(p, 'TrainingRun/mpg-mlp')).toMatchObject({
      action: 'create',
      reason: 'mpg-mlp#2 failed; retry 2 of 2 as mpg-mlp#3',
      after: { number: 3, attempt: 3 },
    });
    expect(p.diagnostics).toEqual([]);
  });

  it('stops after retry.limit retries: a noop and a warning at retry.limit', async () => {
    const desired = await loadTrees('core', 'runs');
    const h = hashOf(desired, 'TrainingRun/mpg-mlp');
    const observed = converged(desired, {
      runs: [1, 2, 3].map((n) =>
        run({ number: n, specHash: h, state: 'failed', attempt: n, error: n === 3 ? 'out of memory' : 'x' }),
      ),
    });
    const p = plan(desired, observed, { now: NOW });
    expect(change(p, 'TrainingRun/mpg-mlp')).toMatchObject({
      action: 'noop',
      notice: true,
      reason:
        'failed 3 times with this spec (mpg-mlp#1, mpg-mlp#2, mpg-mlp#3); change the spec or raise retry.limit',
    });
    // Nothing will produce a version: the endpoint waits too.
    expect(change(p, 'DeployedEndpoint/mpg-api')).toMatchObject({ action: 'wait', unresolved: ['champion'] });
    expect(p.diagnostics.map((d) => d.code)).toEqual(['retries-exhausted', 'traffic-unresolved']);
    expect(p.diagnostics.slice(0, 1)).toMatchObject([
      {
        severity: 'warning',
        code: 'retries-exhausted',
        address: 'TrainingRun/mpg-mlp',
        path: ['spec', 'retry', 'limit'],
        hint: 'last error (mpg-mlp#3): out of memory',
      },
    ]);
    expect(hasChanges(p)).toBe(false);
  });

  it('starts again after a cancelled run (cancellation is not a failure)', async () => {
    const desired = await loadTrees('core', 'runs');
    const h = hashOf(desired, 'TrainingRun/mpg-mlp');
    const observed = converged(desired, { runs: [run({ number: 1, specHash: h, state: 'cancelled' })] });
    expect(change(plan(desired, observed, { now: NOW }), 'TrainingRun/mpg-mlp')).toMatchObject({
      action: 'create',
      reason: 'mpg-mlp#1 was cancelled; starts mpg-mlp#2',
      after: { number: 2, attempt: 2 },
    });
  });

  it('never replaces scheduled runs; numbers new runs after them; registers them after training', async () => {
    const before = await loadTrees('core', 'runs', 'schedule');
    const desired = await loadTrees('core', 'runs-v2', 'schedule');
    const old = hashOf(before, 'TrainingRun/mpg-mlp');
    const h = hashOf(desired, 'TrainingRun/mpg-mlp');
    const observed = converged(desired, {
      runs: [
        run({ number: 1, specHash: old }),
        run({ number: 2, specHash: old, state: 'running', schedule: 'mpg-weekly' }),
        run({ number: 3, specHash: h, state: 'queued', schedule: 'mpg-weekly' }),
      ],
      versions: { mpg: [version(1, { specHash: old })] },
      aliases: { mpg: { champion: 1 } },
      traffic: { 'mpg-api': [{ version: 1, percent: 100 }] },
    });
    const p = plan(desired, observed, { now: NOW });
    // The template's own run #1 is replaced, but no scheduled run is cancelled.
    expect(p.changes.some((c) => c.action === 'cancel')).toBe(false);
    expect(change(p, 'TrainingRun/mpg-mlp')).toMatchObject({
      action: 'replace',
      before: { cancel: [] },
      after: { number: 4 },
    });
    expect(change(p, 'TrainingRun/mpg-mlp#2')).toMatchObject({ action: 'wait' });
    expect(change(p, 'TrainingRun/mpg-mlp#3')).toMatchObject({ action: 'wait' });
    // #2 has the old spec: history. #3 (current spec) and #4 feed the model once trained.
    expect(actions(p).filter((a) => a.startsWith('register'))).toEqual([
      'register RegisteredModel/mpg/versions/mpg-mlp#3',
      'register RegisteredModel/mpg/versions/mpg-mlp#4',
    ]);
  });

  it('cancels an active run of a spec that is no longer desired when the desired one already succeeded', async () => {
    const before = await loadTrees('core', 'runs');
    const desired = await loadTrees('core', 'runs-v2');
    const h = hashOf(desired, 'TrainingRun/mpg-mlp');
    const observed = converged(desired, {
      runs: [
        run({ number: 1, specHash: h }),
        run({ number: 2, specHash: hashOf(before, 'TrainingRun/mpg-mlp'), state: 'running' }),
      ],
    });
    const p = plan(desired, observed, { now: NOW });
    expect(change(p, 'TrainingRun/mpg-mlp#2')).toMatchObject({
      action: 'cancel',
      resource: 'TrainingRun/mpg-mlp',
      before: { number: 2, state: 'running' },
    });
  });

  it('refuses to replace a run whose manifest has prevent-destroy', async () => {
    const before = await loadTrees('core', 'runs');
    const desired = await loadTrees('core', 'protected-run');
    const observed = converged(desired, {
      runs: [run({ number: 1, specHash: hashOf(before, 'TrainingRun/mpg-mlp'), state: 'running' })],
    });
    const p = plan(desired, observed, { now: NOW });
    expect(p.changes.some((c) => c.action === 'replace' || c.action === 'cancel')).toBe(false);
    expect(p.diagnostics.filter((d) => d.severity === 'error')).toMatchObject([
      {
        severity: 'error',
        code: 'prevent-destroy',
        address: 'TrainingRun/mpg-mlp',
        message:
          'TrainingRun/mpg-mlp has mlform/prevent-destroy: its spec changed, and replacing it would cancel mpg-mlp#1',
      },
    ]);
  });
});
