import { describe, expect, it } from 'vitest';
import type { Change, Plan } from '../../controller/engine/change.js';
import { hasChanges } from '../../controller/engine/change.js';
import { toResolvedTraffic } from '../../controller/engine/plan-endpoints.js';
import { plan } from '../../controller/engine/plan.js';
import { NOW, converged, hashOf, loadTrees, run, version } from './helpers.js';

const change = (p: Plan, address: string): Change => {
  const found = p.changes.find((c) => c.address === address);
  if (!found) throw new Error(`no change for ${address}`);
  return found;
};

async function mpgServing(traffic = [{ version: 1, percent: 100 }]) {
  const desired = await loadTrees('core', 'runs');
  const h = hashOf(desired, 'TrainingRun/mpg-mlp');
  const observed = converged(desired, {
    runs: [run({ number: 1, specHash: h })],
    versions: { mpg: [version(1, { specHash: h })] },
    aliases: { mpg: { champion: 1 } },
    traffic: { 'mpg-api': traffic },
  });
  return { desired, observed };
}

describe('traffic', () => {
  it('splits between a pinned alias and latest, resolved to version numbers', async () => {
    const desired = await loadTrees('canary');
    const observed = converged(desired, {
      versions: { iris: [1, 2].map((n) => version(n, { run: { name: 'iris-mlp', number: n } })) },
      aliases: { iris: { stable: 1, newest: 2 } },
      traffic: { 'iris-canary': [{ version: 1, percent: 100 }] },
    });
    const p = plan(desired, observed, { now: NOW });
    const update = change(p, 'DeployedEndpoint/iris-canary');
    expect(update).toMatchObject({
      action: 'update',
      reason: 'traffic moves to other versions',
      fields: [
        {
          path: 'traffic',
          before: [{ selector: 1, version: 1, percent: 100 }],
          after: [
            { selector: 'stable', version: 1, percent: 90, artifactUri: '/state/runs/mpg-mlp/1' },
            { selector: 'latest', version: 2, percent: 10, artifactUri: '/state/runs/mpg-mlp/2' },
          ],
        },
      ],
    });
    expect(
      update.action === 'update' && update.kind === 'DeployedEndpoint' && update.after.trafficDeferred,
    ).toBe(false);

    observed.endpoints[0].traffic = [
      { version: 1, percent: 90 },
      { version: 2, percent: 10 },
    ];
    expect(hasChanges(plan(desired, observed, { now: NOW }))).toBe(false);
  });

  it('merges selectors that resolve to the same version for the provider', () => {
    expect(
      toResolvedTraffic([
        { selector: 'champion', percent: 90, version: 2, artifactUri: '/a/2' },
        { selector: 'latest', percent: 10, version: 2, artifactUri: '/a/2' },
        { selector: 1, percent: 0, version: 1, artifactUri: '/a/1' },
      ]),
    ).toEqual([{ version: 2, percent: 100, artifactUri: '/a/2' }]);
    expect(
      toResolvedTraffic([{ selector: 'champion', percent: 100, version: null, artifactUri: null }]),
    ).toBe(undefined);
  });

  it('a version number that does not exist is an error at the manifest; one still training is deferred', async () => {
    const desired = await loadTrees('core', 'runs', 'pinned-traffic');
    const h = hashOf(desired, 'TrainingRun/mpg-mlp');
    const observed = converged(desired, {
      runs: [run({ number: 1, specHash: h })],
      versions: { mpg: [version(1, { specHash: h })] },
      aliases: { mpg: { champion: 1 } },
      traffic: { 'mpg-api': [{ version: 1, percent: 100 }] },
    });
    observed.endpoints = observed.endpoints.filter((e) => e.name !== 'mpg-pinned');
    const p = plan(desired, observed, { now: NOW });
    expect(p.diagnostics).toMatchObject([
      {
        severity: 'error',
        code: 'traffic-version',
        message: 'RegisteredModel/mpg has no version 2',
        address: 'DeployedEndpoint/mpg-pinned',
        file: 'test/engine/fixtures/pinned-traffic/endpoint.yaml',
        path: ['spec', 'traffic', 0, 'version'],
      },
    ]);
    expect(change(p, 'DeployedEndpoint/mpg-pinned').action).toBe('noop');

    // A second run is training: version 2 may appear, so the endpoint is created after training.
    observed.runs[0] = { ...observed.runs[0], number: 1, specHash: 'old' };
    observed.runs.push(run({ number: 2, specHash: h, state: 'running' }));
    const later = plan(desired, observed, { now: NOW });
    expect(later.diagnostics).toEqual([]);
    expect(change(later, 'DeployedEndpoint/mpg-pinned')).toMatchObject({
      action: 'create',
      after: { trafficDeferred: true, traffic: [{ selector: 2, version: null }] },
      dependsOn: ['RegisteredModel/mpg/versions/mpg-mlp#2'],
    });
  });

  it('waits, with a warning, when nothing will produce a version', async () => {
    const desired = await loadTrees('core');
    const p = plan(desired, converged(desired), { now: NOW });
    expect(change(p, 'DeployedEndpoint/mpg-api')).toMatchObject({
      action: 'wait',
      model: 'mpg',
      unresolved: ['champion'],
    });
    expect(p.diagnostics).toMatchObject([{ severity: 'warning', code: 'traffic-unresolved' }]);
    expect(hasChanges(p)).toBe(false);
  });
});

describe('drift', () => {
  it('an endpoint that is not healthy is updated (restarted) as drift', async () => {
    const { desired, observed } = await mpgServing();
    observed.endpoints[0] = { ...observed.endpoints[0], healthy: false, healthDetail: 'process not running' };
    expect(change(plan(desired, observed, { now: NOW }), 'DeployedEndpoint/mpg-api')).toMatchObject({
      action: 'update',
      drift: true,
      reason: 'not healthy: process not running',
      fields: [{ path: 'healthy', before: false, after: true, drift: true }],
    });
  });

  it('live settings changed by hand are drift, corrected to the spec', async () => {
    const { desired, observed } = await mpgServing();
    observed.endpoints[0].live = {
      ...observed.endpoints[0].live,
      scaling: { minInstances: 0, maxInstances: 5 },
    };
    expect(change(plan(desired, observed, { now: NOW }), 'DeployedEndpoint/mpg-api')).toMatchObject({
      action: 'update',
      drift: true,
      reason: 'scaling.maxInstances changed outside mlform',
      fields: [{ path: 'scaling.maxInstances', before: 5, after: 2, drift: true }],
    });
  });

  it('a spec change is an update without drift', async () => {
    const { desired, observed } = await mpgServing();
    const e = observed.endpoints[0];
    observed.endpoints[0] = {
      ...e,
      specHash: 'previous',
      spec: { ...e.spec, timeoutSeconds: 60 },
      live: { ...e.live, timeoutSeconds: 60 },
    };
    const update = change(plan(desired, observed, { now: NOW }), 'DeployedEndpoint/mpg-api');
    expect(update).toMatchObject({
      action: 'update',
      reason: 'spec changed',
      fields: [{ path: 'timeoutSeconds', before: 60, after: 300 }],
    });
    expect(update.drift).toBeUndefined();
  });

  it('a schedule paused by hand is drift', async () => {
    const desired = await loadTrees('core', 'runs', 'schedule');
    const observed = converged(desired);
    observed.schedules[0].paused = true;
    expect(change(plan(desired, observed, { now: NOW }), 'Schedule/mpg-weekly')).toMatchObject({
      action: 'update',
      drift: true,
      reason: 'paused outside mlform; next run 2026-11-23 06:00 Europe/Warsaw',
      fields: [{ path: 'paused', before: true, after: false, drift: true }],
    });
  });
});
