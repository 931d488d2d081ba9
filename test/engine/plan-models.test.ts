import { describe, expect, it } from 'vitest';
import type { Change, Plan } from '../../controller/engine/change.js';
import { hasChanges } from '../../controller/engine/change.js';
import { aliasTarget, type VersionFacts } from '../../controller/engine/aliases.js';
import { evaluateGate } from '../../controller/engine/gate.js';
import { plan } from '../../controller/engine/plan.js';
import type { ObservedRun, ObservedState } from '../../providers/provider.js';
import { NOW, converged, hashOf, loadTrees, run, version } from './helpers.js';

const actions = (p: Plan) =>
  p.changes.filter((c) => c.action !== 'noop').map((c) => `${c.action} ${c.address}`);
const change = (p: Plan, address: string): Change => {
  const found = p.changes.find((c) => c.address === address);
  if (!found) throw new Error(`no change for ${address}: ${actions(p).join(', ')}`);
  return found;
};

/** mpg with v1 from an older spec serving as champion, and run #2 of the current spec finished. */
async function withNewRun(metrics: Partial<ObservedRun> = {}): Promise<Plan> {
  const desired = await loadTrees('core', 'runs');
  const h = hashOf(desired, 'TrainingRun/mpg-mlp');
  const observed = converged(desired, {
    runs: [run({ number: 1, specHash: 'old' }), run({ number: 2, specHash: h, ...metrics })],
    versions: { mpg: [version(1, { val_mae: 3.5 })] },
    aliases: { mpg: { champion: 1 } },
    traffic: { 'mpg-api': [{ version: 1, percent: 100 }] },
  });
  return plan(desired, observed, { now: NOW });
}

describe('registration behind the gate', () => {
  it('registers a succeeded run that passes, as the next version; champion and traffic follow', async () => {
    const p = await withNewRun();
    expect(actions(p)).toEqual([
      'register RegisteredModel/mpg/versions/mpg-mlp#2',
      'promote RegisteredModel/mpg/aliases/champion',
      'update DeployedEndpoint/mpg-api',
    ]);
    expect(change(p, 'RegisteredModel/mpg/versions/mpg-mlp#2')).toMatchObject({
      reason: 'mpg-mlp#2 passed the gate (val_mae 3 <= 4, beats the baseline 6)',
      after: { deferred: false, version: 2, artifactUri: '/state/runs/mpg-mlp/2', metrics: { val_mae: 3 } },
    });
    expect(change(p, 'RegisteredModel/mpg/aliases/champion')).toMatchObject({
      before: { version: 1 },
      after: { deferred: false, version: 2 },
      dependsOn: ['RegisteredModel/mpg/versions/mpg-mlp#2'],
    });
    expect(change(p, 'DeployedEndpoint/mpg-api')).toMatchObject({
      reason: 'traffic moves to other versions',
      fields: [
        {
          path: 'traffic',
          before: [{ selector: 'champion', version: 1, percent: 100 }],
          after: [{ selector: 'champion', version: 2, percent: 100, artifactUri: '/state/runs/mpg-mlp/2' }],
        },
      ],
      dependsOn: ['RegisteredModel/mpg/aliases/champion'],
    });
  });

  it('a run above gate.max is not registered: a noop that says why', async () => {
    const p = await withNewRun({ metrics: { val_mae: 4.31 } });
    expect(hasChanges(p)).toBe(false);
    expect(change(p, 'RegisteredModel/mpg/versions/mpg-mlp#2')).toMatchObject({
      action: 'noop',
      notice: true,
      reason: 'mpg-mlp#2 failed the gate: val_mae 4.31 > 4',
    });
  });

  it('beatBaseline: a run no better than the naive baseline is not registered', async () => {
    const p = await withNewRun({ metrics: { val_mae: 3.5 }, baseline: { val_mae: 3.2 } });
    expect(change(p, 'RegisteredModel/mpg/versions/mpg-mlp#2').reason).toBe(
      'mpg-mlp#2 failed the gate: val_mae 3.5 does not beat the baseline 3.2',
    );
  });

  it('a worse version is registered but the best-policy alias stays', async () => {
    const p = await withNewRun({ metrics: { val_mae: 3.9 } });
    expect(actions(p)).toEqual(['register RegisteredModel/mpg/versions/mpg-mlp#2']);
  });

  it('evaluates min, max and beatBaseline in the direction of the metric', () => {
    const gate = { metric: 'val_accuracy', min: 0.8, beatBaseline: true };
    expect(evaluateGate(gate, { val_accuracy: 0.9 }, { val_accuracy: 0.34 })).toEqual({
      passed: true,
      detail: 'val_accuracy 0.9 >= 0.8, beats the baseline 0.34',
    });
    expect(evaluateGate(gate, { val_accuracy: 0.7 }, { val_accuracy: 0.34 })).toEqual({
      passed: false,
      detail: 'val_accuracy 0.7 < 0.8',
    });
    expect(evaluateGate({ ...gate, min: undefined }, { val_accuracy: 0.3 }, { val_accuracy: 0.34 })).toEqual({
      passed: false,
      detail: 'val_accuracy 0.3 does not beat the baseline 0.34',
    });
    expect(evaluateGate(gate, {}, {}).detail).toBe('the run reports no val_accuracy');
    expect(evaluateGate({ ...gate, min: undefined }, { val_accuracy: 0.9 }, {}).detail).toBe(
      'the run reports no baseline val_accuracy',
    );
    expect(evaluateGate(undefined, undefined, undefined).passed).toBe(true);
  });
});

describe('aliases', () => {
  const versions: VersionFacts[] = [
    { version: 1, metrics: { val_mae: 3, val_accuracy: 0.9 } },
    { version: 2, metrics: { val_mae: 2.5, val_accuracy: 0.8 } },
    { version: 3, metrics: { val_mae: 2.5 } },
    { version: 4, metrics: {} },
  ];

  it('best by metric and goal (ties keep the older version), latest, pinned', () => {
    expect(aliasTarget({ policy: 'best', metric: 'val_mae' }, versions)).toBe(2);
    expect(aliasTarget({ policy: 'best', metric: 'val_accuracy' }, versions)).toBe(1);
    expect(aliasTarget({ policy: 'best', metric: 'val_mae', goal: 'maximize' }, versions)).toBe(1);
    expect(aliasTarget({ policy: 'best', metric: 'val_f1' }, versions)).toBeNull();
    expect(aliasTarget({ policy: 'latest' }, versions)).toBe(4);
    expect(aliasTarget({ version: 3 }, versions)).toBe(3);
    expect(aliasTarget({ version: 7 }, versions)).toBeNull();
    expect(aliasTarget({ policy: 'latest' }, [])).toBeNull();
  });

  it('moves a pinned alias and a latest alias; a pinned version that does not exist is an error', async () => {
    const desired = await loadTrees('canary');
    const iris = (versions: number[], aliases: Record<string, number>): ObservedState =>
      converged(desired, {
        versions: { iris: versions.map((n) => version(n, { run: { name: 'iris-mlp', number: n } })) },
        aliases: { iris: aliases },
        traffic: { 'iris-canary': [{ version: 1, percent: 100 }] },
      });
    const p = plan(desired, iris([1, 2], {}), { now: NOW });
    expect(change(p, 'RegisteredModel/iris/aliases/stable')).toMatchObject({
      action: 'promote',
      before: { version: null },
      after: { version: 1, deferred: false },
    });
    expect(change(p, 'RegisteredModel/iris/aliases/newest')).toMatchObject({ after: { version: 2 } });

    const missing = plan(desired, iris([2, 3], { stable: 1, newest: 3 }), { now: NOW });
    expect(missing.diagnostics.filter((d) => d.severity === 'error')).toMatchObject([
      {
        severity: 'error',
        code: 'alias-version',
        message: 'alias "stable" is pinned to version 1, but RegisteredModel/iris has no version 1',
        path: ['spec', 'aliases', 'stable', 'version'],
        file: 'test/engine/fixtures/canary/canary.yaml',
        hint: 'existing versions: v2, v3',
      },
    ]);
  });
});

describe('retention', () => {
  it('deletes versions beyond keepVersions, oldest first, unless an alias or an endpoint uses them', async () => {
    const desired = await loadTrees('core', 'runs');
    const h = hashOf(desired, 'TrainingRun/mpg-mlp');
    const observed = converged(desired, {
      runs: [run({ number: 5, specHash: h, metrics: { val_mae: 3.3 } })],
      versions: {
        mpg: [
          version(1, { val_mae: 3.0 }),
          version(2, { val_mae: 2.5 }),
          version(3, { val_mae: 3.1 }),
          version(4, { val_mae: 3.2 }),
        ],
      },
      aliases: { mpg: { champion: 2 } },
      traffic: { 'mpg-api': [{ version: 2, percent: 100 }] },
    });
    const p = plan(desired, observed, { now: NOW });
    // v5 is registered: v5, v4, v3 are the newest three; v2 is the champion; v1 goes.
    expect(actions(p)).toEqual([
      'register RegisteredModel/mpg/versions/mpg-mlp#5',
      'delete RegisteredModel/mpg/versions/v1',
    ]);
    expect(change(p, 'RegisteredModel/mpg/versions/v1')).toMatchObject({
      target: 'version',
      before: { model: 'mpg', version: 1, run: { name: 'mpg-mlp', number: 1 } },
      reason: 'beyond retention.keepVersions (3) and used by no alias or endpoint',
      dependsOn: ['RegisteredModel/mpg/versions/mpg-mlp#5'],
    });

    // Live traffic on v1 keeps it until the endpoint has moved away.
    observed.endpoints[0].traffic = [{ version: 1, percent: 100 }];
    expect(actions(plan(desired, observed, { now: NOW }))).toEqual([
      'register RegisteredModel/mpg/versions/mpg-mlp#5',
      'update DeployedEndpoint/mpg-api',
    ]);
  });

  it('never registers again a run whose version retention deleted', async () => {
    const desired = await loadTrees('core', 'runs', 'schedule');
    const h = hashOf(desired, 'TrainingRun/mpg-mlp');
    const scheduled = (n: number) => run({ number: n, specHash: h, schedule: 'mpg-weekly' });
    const observed = converged(desired, {
      runs: [run({ number: 1, specHash: h }), ...[2, 3, 4, 5].map(scheduled)],
      // v1 (run #1) and v2 (run #2) were deleted by retention.
      versions: { mpg: [3, 4, 5].map((n) => version(n, { specHash: h })) },
      aliases: { mpg: { champion: 3 } },
      traffic: { 'mpg-api': [{ version: 3, percent: 100 }] },
    });
    expect(hasChanges(plan(desired, observed, { now: NOW }))).toBe(false);

    observed.runs.push(scheduled(6));
    // v3 falls beyond keepVersions but stays: it is the champion (an equal val_mae does not move it).
    expect(actions(plan(desired, observed, { now: NOW }))).toEqual([
      'register RegisteredModel/mpg/versions/mpg-mlp#6',
    ]);
  });
});

describe('the model object', () => {
  it('updates in place with field diffs when the spec changed', async () => {
    const desired = await loadTrees('core', 'runs');
    const observed = converged(desired);
    const mpg = observed.models[0];
    observed.models[0] = {
      ...mpg,
      specHash: 'previous',
      spec: { ...mpg.spec, gate: { metric: 'val_mae', max: 5, beatBaseline: true }, description: undefined },
    };
    expect(change(plan(desired, observed, { now: NOW }), 'RegisteredModel/mpg')).toMatchObject({
      action: 'update',
      reason: 'spec changed',
      fields: [
        { path: 'spec.description', before: null, after: 'MPG regressor' },
        { path: 'spec.gate.max', before: 5, after: 4 },
      ],
      before: { specHash: 'previous' },
      after: { specHash: hashOf(desired, 'RegisteredModel/mpg') },
    });
  });

  it('updates when only the annotations changed (so removing prevent-destroy takes effect)', async () => {
    const desired = await loadTrees('core', 'runs');
    const observed = converged(desired);
    observed.models[0].annotations = { 'mlform/prevent-destroy': 'true' };
    expect(change(plan(desired, observed, { now: NOW }), 'RegisteredModel/mpg')).toMatchObject({
      action: 'update',
      reason: 'annotations changed',
      fields: [{ path: 'metadata.annotations["mlform/prevent-destroy"]', before: 'true', after: null }],
    });
  });
});
