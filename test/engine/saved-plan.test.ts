/**
 * A saved plan is a claim that apply verifies (fingerprint.ts `checkPlanClaim`, plan-file.ts
 * `checkPlanPaths`), and apply refuses at execution what the plan's rules forbid, whatever plan the
 * change came from (apply-guards.ts).
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardChange, type GuardFacts } from '../../controller/engine/apply-guards.js';
import type { Change, Plan } from '../../controller/engine/change.js';
import { checkPlanClaim } from '../../controller/engine/fingerprint.js';
import { checkPlanPaths } from '../../controller/engine/plan-file.js';
import { plan } from '../../controller/engine/plan.js';
import type { DesiredState } from '../../manifests/load.js';
import type { ObservedState } from '../../providers/provider.js';
import { NOW, converged, hashOf, loadTrees, run, version } from './helpers.js';

let desired: DesiredState;
let protectedModel: DesiredState;
let scheduled: DesiredState;

beforeAll(async () => {
  desired = await loadTrees('core', 'runs');
  protectedModel = await loadTrees('protected', 'runs');
  scheduled = await loadTrees('core', 'runs', 'schedule');
});

const clone = <T>(value: T): T => structuredClone(value);
const codes = (ds: { code?: string }[]) => ds.map((d) => d.code);

function facts(d: DesiredState, state: ObservedState, destroy = false): GuardFacts {
  return {
    desired: d,
    state,
    destroy,
    registry: async () => state.models,
    endpoints: async () => state.endpoints,
  };
}

describe('checkPlanClaim', () => {
  const observedWith = () => {
    const hash = hashOf(desired, 'TrainingRun/mpg-mlp');
    return converged(desired, {
      runs: [run({ number: 1, specHash: hash }), run({ number: 2, specHash: hash, metrics: { val_mae: 2 } })],
      versions: { mpg: [version(1)] },
      aliases: { mpg: { champion: 1 } },
      traffic: { 'mpg-api': [{ version: 1, percent: 100 }] },
    });
  };

  it('accepts the same plan made later: reasons, progress and fire times are display only', () => {
    const state = observedWith();
    const saved = plan(scheduled, state, { now: NOW });
    const later = plan(scheduled, state, { now: new Date(NOW.getTime() + 8 * 86_400_000) });
    expect(later.changes).not.toEqual(saved.changes); // the next fire time moved
    expect(checkPlanClaim(saved, later)).toEqual([]);
    const edited = clone(saved);
    edited.changes[0].reason = 'looks harmless';
    expect(checkPlanClaim(edited, later)).toEqual([]);
  });

  it('names the first edited field, an appended change, a dropped change', () => {
    const state = observedWith();
    const saved = plan(desired, state, { now: NOW });
    const register = saved.changes.findIndex((c) => c.action === 'register');
    expect(register).toBeGreaterThanOrEqual(0);

    const edited = clone(saved);
    const change = edited.changes[register];
    if (change.action !== 'register' || change.after.deferred) throw new Error('expected a register');
    change.after.artifactUri = '/elsewhere/model';
    expect(checkPlanClaim(edited, saved)[0].message).toBe(
      `the saved plan does not match the plan computed now: change ${register + 1}, register ${change.address}, differs at after.artifactUri`,
    );

    const appended = clone(saved);
    appended.changes.push({ ...clone(saved.changes[register]), address: 'RegisteredModel/mpg/versions/x#9' });
    expect(checkPlanClaim(appended, saved)[0].message).toContain(
      `change ${saved.changes.length + 1}, register RegisteredModel/mpg/versions/x#9, is not planned`,
    );

    const dropped: Plan = { ...clone(saved), changes: saved.changes.filter((_, i) => i !== register) };
    expect(checkPlanClaim(dropped, saved)[0].code).toBe('plan-tampered');
    expect(checkPlanClaim({ ...clone(saved), stack: 'other' }, saved)[0].message).toContain('stack "other"');
  });
});

describe('checkPlanPaths', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'mlform-plan-paths-'));
    await mkdir(join(root, 'tree'));
    await mkdir(join(root, 'outside'));
    await writeFile(join(root, 'outside', 'run.yaml'), 'x');
    await symlink(join(root, 'outside'), join(root, 'tree', 'link'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const withPath = (path: string): Plan => {
    const p = plan(desired, converged(desired), { now: NOW });
    const create = p.changes.find((c) => c.action === 'create' && c.kind === 'TrainingRun');
    if (create?.action !== 'create' || create.kind !== 'TrainingRun')
      throw new Error('expected a run create');
    create.after.manifestPath = path;
    return p;
  };

  it('accepts a path inside the tree; refuses relative, outside and symlinked-out paths', async () => {
    const tree = join(root, 'tree');
    expect(await checkPlanPaths(withPath(join(tree, 'run.yaml')), tree, 'p.json')).toEqual([]);
    for (const path of [
      'run.yaml',
      join(root, 'outside', 'run.yaml'),
      join(tree, '..', 'outside', 'run.yaml'),
      join(tree, 'link', 'run.yaml'),
    ]) {
      const found = await checkPlanPaths(withPath(path), tree, 'p.json');
      expect(codes(found), path).toEqual(['plan-path-outside-tree']);
      expect(found[0].message).toContain(`TrainingRun/mpg-mlp after.manifestPath is ${JSON.stringify(path)}`);
    }
  });
});

describe('guardChange: apply refuses at execution what the plan must never contain', () => {
  const hash = () => hashOf(desired, 'TrainingRun/mpg-mlp');

  it('a registration of a run that fails the gate, or of a run of another spec', async () => {
    const state = converged(desired, {
      runs: [
        run({ number: 1, specHash: hash(), metrics: { val_mae: 9 } }),
        run({ number: 2, specHash: 'older' }),
      ],
    });
    const register = (n: number): Change => ({
      action: 'register',
      kind: 'RegisteredModel',
      address: `RegisteredModel/mpg/versions/mpg-mlp#${n}`,
      resource: 'RegisteredModel/mpg',
      reason: '',
      fields: [],
      dependsOn: [],
      before: null,
      after: {
        model: 'mpg',
        run: { name: 'mpg-mlp', number: n },
        deferred: false,
        version: 1,
        specHash: hash(),
        artifactUri: `/state/runs/mpg-mlp/${n}`,
        metrics: { val_mae: 1 },
        baseline: { val_mae: 6 },
        gate: 'forged',
      },
    });
    const gate = await guardChange(register(1), facts(desired, state));
    expect(codes(gate)).toEqual(['gate-failed']);
    expect(gate[0].message).toBe(
      'refused to register RegisteredModel/mpg/versions/mpg-mlp#1: mpg-mlp#1 failed the gate: val_mae 9 > 4',
    );
    expect(codes(await guardChange(register(2), facts(desired, state)))).toEqual(['run-not-feeding']);
    expect(codes(await guardChange(register(3), facts(desired, state)))).toEqual(['run-not-succeeded']);
    // The same run with good metrics passes.
    const good = converged(desired, { runs: [run({ number: 1, specHash: hash() })] });
    expect(await guardChange(register(1), facts(desired, good))).toEqual([]);
  });

  it('an alias moved off its rule, and a version delete still in use', async () => {
    const state = converged(desired, {
      versions: { mpg: [version(1, { val_mae: 2 }), version(2, { val_mae: 3 })] },
      aliases: { mpg: { champion: 1 } },
      traffic: { 'mpg-api': [{ version: 2, percent: 100 }] },
    });
    const promote = (to: number): Change => ({
      action: 'promote',
      kind: 'RegisteredModel',
      address: 'RegisteredModel/mpg/aliases/champion',
      resource: 'RegisteredModel/mpg',
      reason: '',
      fields: [],
      dependsOn: [],
      before: { model: 'mpg', alias: 'champion', version: 1 },
      after: {
        model: 'mpg',
        alias: 'champion',
        rule: { policy: 'best', metric: 'val_mae' },
        deferred: false,
        version: to,
      },
    });
    expect(codes(await guardChange(promote(2), facts(desired, state)))).toEqual(['alias-target']);
    expect(await guardChange(promote(1), facts(desired, state))).toEqual([]);
    const deleteVersion = (n: number): Change => ({
      action: 'delete',
      kind: 'RegisteredModel',
      target: 'version',
      address: `RegisteredModel/mpg/versions/v${n}`,
      resource: 'RegisteredModel/mpg',
      reason: '',
      fields: [],
      dependsOn: [],
      before: { model: 'mpg', version: n, run: { name: 'mpg-mlp', number: n } },
      after: null,
    });
    expect(codes(await guardChange(deleteVersion(1), facts(desired, state)))).toEqual(['version-in-use']);
    expect(codes(await guardChange(deleteVersion(2), facts(desired, state)))).toEqual(['version-in-use']);
  });

  it('a delete of a prevent-destroy model, of a model still in the manifests, of another stack’s model', async () => {
    const deleteModel = (name: string): Change => ({
      action: 'delete',
      kind: 'RegisteredModel',
      target: 'model',
      address: `RegisteredModel/${name}`,
      resource: `RegisteredModel/${name}`,
      reason: '',
      fields: [],
      dependsOn: [],
      before: { name, specHash: 'x', versions: [] },
      after: null,
    });
    const protectedState = converged(protectedModel);
    expect(codes(await guardChange(deleteModel('mpg'), facts(protectedModel, protectedState, true)))).toEqual(
      ['prevent-destroy'],
    );
    const state = converged(desired);
    expect(codes(await guardChange(deleteModel('mpg'), facts(desired, state)))).toEqual(['not-in-manifests']);
    expect(await guardChange(deleteModel('mpg'), facts(desired, state, true))).toEqual([]);
    expect(codes(await guardChange(deleteModel('theirs'), facts(desired, state, true)))).toEqual([
      'not-owned',
    ]);
  });

  it("an endpoint serving an artifact that is not the registry's for that version", async () => {
    const state = converged(desired, {
      runs: [run({ number: 1, specHash: hash() })],
      versions: { mpg: [version(1)] },
      aliases: { mpg: { champion: 1 } },
    });
    const fresh = plan(desired, { ...state, endpoints: [] }, { now: NOW });
    const create = fresh.changes.find((c) => c.address === 'DeployedEndpoint/mpg-api');
    if (create?.action !== 'create' || create.kind !== 'DeployedEndpoint')
      throw new Error('expected a create');
    expect(await guardChange(create, facts(desired, { ...state, endpoints: [] }))).toEqual([]);
    const foreign = clone(create);
    foreign.after.traffic[0].artifactUri = '/other-project/state/registry/mpg/versions/1';
    const refused = await guardChange(foreign, facts(desired, { ...state, endpoints: [] }));
    expect(codes(refused)).toEqual(['artifact-not-registered']);
    expect(refused[0].message).toContain("is not the artifact of mpg v1 in this stack's registry");
  });

  it('a run launched from another manifest path', async () => {
    const p = plan(desired, converged(desired), { now: NOW });
    const create = p.changes.find((c) => c.action === 'create' && c.kind === 'TrainingRun');
    if (create?.action !== 'create' || create.kind !== 'TrainingRun')
      throw new Error('expected a run create');
    expect(await guardChange(create, facts(desired, converged(desired)))).toEqual([]);
    const moved = clone(create);
    moved.after.manifestPath = '/tmp/evil/training.yaml';
    expect(codes(await guardChange(moved, facts(desired, converged(desired))))).toEqual([
      'manifest-path-mismatch',
    ]);
  });
});
