import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../controller/engine/change.js';
import { checkPlanFresh } from '../../controller/engine/fingerprint.js';
import { loadPlanFile, parsePlan, savePlanFile, serializePlan } from '../../controller/engine/plan-file.js';
import { plan } from '../../controller/engine/plan.js';
import type { ObservedState } from '../../providers/provider.js';
import { NOW, converged, empty, hashOf, loadTrees, run, version } from './helpers.js';

/** A plan with most kinds of change in it: replace, deferred registration, retention, drift, prune. */
async function busyPlan(shuffle = false): Promise<{ plan: Plan; observed: ObservedState }> {
  const before = await loadTrees('core', 'runs', 'schedule', 'canary');
  const desired = await loadTrees('core', 'runs-v2', 'schedule', 'canary');
  const old = hashOf(before, 'TrainingRun/mpg-mlp');
  const observed = converged(desired, {
    runs: [run({ number: 1, specHash: old }), run({ number: 2, specHash: old, state: 'running' })],
    versions: {
      mpg: [version(1, { specHash: old })],
      iris: [1, 2, 3, 4].map((n) => version(n, { run: { name: 'iris-mlp', number: n } })),
    },
    aliases: { mpg: { champion: 1 }, iris: { stable: 1 } },
    traffic: { 'mpg-api': [{ version: 1, percent: 100 }], 'iris-canary': [{ version: 1, percent: 100 }] },
  });
  observed.endpoints[0].healthy = false;
  // The schedule was applied with the previous template.
  observed.schedules = converged(before).schedules;
  observed.models.push({ ...observed.models[0], name: 'gone', annotations: {} });
  if (shuffle) {
    observed.runs.reverse();
    observed.models.reverse();
    observed.endpoints.reverse();
    for (const m of observed.models) m.versions.reverse();
  }
  return { plan: plan(desired, observed, { now: NOW }), observed };
}

describe('order', () => {
  it('puts every change after the changes it depends on, in the documented phase order', async () => {
    const { plan: p } = await busyPlan();
    const index = new Map(p.changes.map((c, i) => [c.address, i]));
    for (const [i, c] of p.changes.entries()) {
      for (const dep of c.dependsOn) {
        expect(index.get(dep), `${c.address} depends on ${dep}`).toBeLessThan(i);
        expect(p.changes[index.get(dep) ?? 0].action).not.toBe('noop');
      }
    }
    expect(p.changes.filter((c) => c.action !== 'noop').map((c) => `${c.action} ${c.address}`)).toEqual([
      'replace TrainingRun/mpg-mlp',
      'register RegisteredModel/mpg/versions/mpg-mlp#3',
      'promote RegisteredModel/iris/aliases/newest',
      'promote RegisteredModel/mpg/aliases/champion',
      'update DeployedEndpoint/iris-canary',
      'update DeployedEndpoint/mpg-api',
      'update Schedule/mpg-weekly',
      'delete RegisteredModel/iris/versions/v2',
      'delete RegisteredModel/gone',
    ]);
  });

  it('is deterministic: same input, byte-identical plan, whatever order the provider listed things in', async () => {
    const a = await busyPlan();
    const b = await busyPlan();
    const shuffled = await busyPlan(true);
    expect(JSON.stringify(a.plan)).toBe(JSON.stringify(b.plan));
    expect(JSON.stringify(shuffled.plan)).toBe(JSON.stringify(a.plan));
  });
});

describe('fingerprint', () => {
  it('changes with the observed state the plan depends on, not with training progress', async () => {
    const desired = await loadTrees('core', 'runs');
    const h = hashOf(desired, 'TrainingRun/mpg-mlp');
    const observed = converged(desired, { runs: [run({ number: 1, specHash: h, state: 'running' })] });
    const first = plan(desired, observed, { now: NOW });

    observed.runs[0].progress = { epoch: 40, epochs: 100 };
    observed.endpoints[0].url = 'http://127.0.0.1:9000';
    expect(plan(desired, observed, { now: new Date() }).fingerprint).toBe(first.fingerprint);
    expect(checkPlanFresh(first, desired, observed)).toEqual([]);

    observed.runs[0] = run({ number: 1, specHash: h });
    const after = plan(desired, observed, { now: NOW });
    expect(after.fingerprint).not.toBe(first.fingerprint);
    expect(after.basis.desired).toBe(first.basis.desired);
    expect(checkPlanFresh(first, desired, observed)).toMatchObject([
      {
        severity: 'error',
        code: 'stale-plan',
        message:
          'the actual state changed since the saved plan was made (another apply, a finished training, or a change by hand)',
      },
    ]);
  });

  it('changes with the manifests and with the plan options', async () => {
    const desired = await loadTrees('core', 'runs');
    const changed = await loadTrees('core', 'runs-v2');
    const p = plan(desired, empty(), { now: NOW });
    expect(plan(changed, empty(), { now: NOW }).basis.observed).toBe(p.basis.observed);
    expect(plan(changed, empty(), { now: NOW }).fingerprint).not.toBe(p.fingerprint);
    expect(plan(desired, empty(), { now: NOW, destroy: true }).fingerprint).not.toBe(p.fingerprint);
    expect(checkPlanFresh(p, changed, empty()).map((d) => d.message)).toEqual([
      'the manifests changed since the saved plan was made',
    ]);
  });
});

describe('plan files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mlform-plan-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trip through -out FILE, validated against the schema', async () => {
    const { plan: p } = await busyPlan();
    const file = join(dir, 'busy.plan');
    await savePlanFile(file, p);
    const loaded = await loadPlanFile(file);
    expect(loaded.diagnostics).toEqual([]);
    expect(loaded.plan).toEqual(p);
  });

  it('every kind of plan in the tests validates (destroy, prune, fresh)', async () => {
    const desired = await loadTrees('core', 'runs', 'schedule');
    for (const p of [
      plan(desired, empty(), { now: NOW }),
      plan(desired, converged(desired, { runs: [run({ number: 1, specHash: 'x', state: 'running' })] }), {
        now: NOW,
        destroy: true,
      }),
    ]) {
      expect(parsePlan(serializePlan(p), 'p.json').diagnostics).toEqual([]);
    }
  });

  it('refuses files that are not plans, of another format version, or edited', async () => {
    const { plan: p } = await busyPlan();
    expect(parsePlan('{"formatVersion": 1,', 'x.plan').diagnostics[0]).toMatchObject({
      code: 'plan-file-invalid',
      file: 'x.plan',
    });
    expect(parsePlan(JSON.stringify({ ...p, formatVersion: 2 }), 'x.plan').diagnostics[0].message).toBe(
      'x.plan has plan format 2; this mlform reads format 1',
    );
    const edited = JSON.parse(serializePlan(p)) as { changes: { action: string; after: unknown }[] };
    edited.changes[0].action = 'explode';
    expect(parsePlan(JSON.stringify(edited), 'x.plan').diagnostics[0].message).toMatch(
      /^x\.plan is not a valid saved plan: /,
    );
    const file = join(dir, 'missing.plan');
    expect((await loadPlanFile(file)).diagnostics[0].message).toBe(`cannot read ${file}: no such file`);
    await writeFile(join(dir, 'ok.plan'), serializePlan(p));
    expect(JSON.parse(await readFile(join(dir, 'ok.plan'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(p)));
  });
});
