/**
 * `import:` in the plan (controller/engine/plan-adopt.ts) and its guards in apply: an unmanaged
 * object is planned `<= adopt` and diffed as already adopted; a missing or foreign object is a
 * positioned error; an adopted object is never deleted by the apply that adopts it.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadManifests, type DesiredState } from '../../manifests/load.js';
import { IMPORTED_RUN, type ObservedState, type UnmanagedObject } from '../../providers/provider.js';
import { guardChange, type GuardFacts } from '../../controller/engine/apply-guards.js';
import { hasChanges, type Change } from '../../controller/engine/change.js';
import { planAdoption } from '../../controller/engine/plan-adopt.js';
import { checkPolicy } from '../../controller/engine/policy.js';
import { plan } from '../../controller/engine/plan.js';
import { renderPlanText } from '../../controller/ui/plan-text.js';
import { createStyle } from '../../controller/ui/style.js';
import { planJson } from '../../controller/ui/plan-json.js';
import { renderPlanMarkdown } from '../../controller/ui/plan-markdown.js';
import { buildPlan } from '../../controller/web/views/plan.js';
import { snapshotOf } from '../web/views/fixture.js';
import { empty, NOW } from './helpers.js';

const MODEL_ID = 'projects/p/locations/europe-west4/models/123';
const SERVICE_ID = 'projects/p/locations/europe-west4/services/churn-api';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-adopt-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function tree(opts: { imports: string; keep?: number; traffic?: string }): Promise<DesiredState> {
  await writeFile(join(dir, 'mlform.yaml'), `stack: demo\nprovider: local\n${opts.imports}`);
  await writeFile(
    join(dir, 'model.yaml'),
    `apiVersion: mlform/v1
kind: RegisteredModel
metadata: {name: churn}
spec:
  aliases: {champion: {version: 1}}
  retention: {keepVersions: ${opts.keep ?? 20}}
`,
  );
  await writeFile(
    join(dir, 'endpoint.yaml'),
    `apiVersion: mlform/v1
kind: DeployedEndpoint
metadata: {name: churn-api}
spec:
  model: churn
  traffic: ${opts.traffic ?? '[{version: 1, percent: 90}, {version: 2, percent: 10}]'}
  scaling: {minInstances: 1, maxInstances: 4}
  resources: {memory: 4Gi, cpu: "2"}
  timeoutSeconds: 120
`,
  );
  const { desired, diagnostics } = await loadManifests([dir]);
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return desired;
}

const BOTH = `import:
  - {to: RegisteredModel/churn, id: ${MODEL_ID}}
  - {to: DeployedEndpoint/churn-api, id: ${SERVICE_ID}}
`;

const versionAt = (n: number) => ({
  version: n,
  run: { name: IMPORTED_RUN, number: n },
  specHash: '',
  artifactUri: `gs://legacy/churn/v${n}`,
  metrics: {},
  baseline: {},
  createdAt: `2026-11-0${n}T00:00:00.000Z`,
});

const unmanaged = (): UnmanagedObject[] => [
  {
    kind: 'RegisteredModel',
    id: MODEL_ID,
    name: 'churn',
    model: { versions: [versionAt(1), versionAt(2)], aliases: { champion: 1 } },
    notes: [],
  },
  {
    kind: 'DeployedEndpoint',
    id: SERVICE_ID,
    name: 'churn-api',
    endpoint: {
      traffic: [
        { revision: 'churn-api-00001', percent: 90, artifactUri: 'gs://legacy/churn/v1' },
        { revision: 'churn-api-00002', percent: 10, artifactUri: 'gs://legacy/churn/v2' },
      ],
      live: {
        scaling: { minInstances: 1, maxInstances: 4 },
        resources: { memory: '4Gi', cpu: '2' },
        batching: { enabled: true, maxBatchSize: 64, batchTimeoutMicros: 10_000 },
        timeoutSeconds: 120,
      },
      healthy: true,
    },
    notes: [],
  },
];

const observedWith = (items: UnmanagedObject[]): ObservedState => ({ ...empty(), unmanaged: items });
const actionable = (changes: Change[]) => changes.filter((c) => c.action !== 'noop');

describe('import: in the plan', () => {
  it('plans <= adopt for each entry and nothing else when the objects match their manifests', async () => {
    const desired = await tree({ imports: BOTH });
    const p = plan(desired, observedWith(unmanaged()), { now: NOW });
    expect(p.diagnostics).toEqual([]);
    expect(actionable(p.changes).map((c) => `${c.action} ${c.address}`)).toEqual([
      'adopt RegisteredModel/churn/adopt',
      'adopt DeployedEndpoint/churn-api/adopt',
    ]);
    const endpoint = p.changes.find((c) => c.address === 'DeployedEndpoint/churn-api/adopt');
    expect(endpoint?.action === 'adopt' && endpoint.after.revisions).toEqual({
      'churn-api-00001': 1,
      'churn-api-00002': 2,
    });
    expect(endpoint?.dependsOn).toEqual(['RegisteredModel/churn/adopt']);
    expect(p.summary.adopt).toBe(2);
    const text = renderPlanText(p, { style: createStyle(false) });
    expect(text).toContain(` <= adopt RegisteredModel/churn (${MODEL_ID})`);
    expect(text).toContain('Plan: 0 to add, 0 to change, 0 to destroy, 2 to adopt.');
  });

  it('every view shows the adoption and counts it: JSON, Markdown, the dashboard', async () => {
    const desired = await tree({ imports: BOTH });
    const observed = observedWith(unmanaged());
    const p = plan(desired, observed, { now: NOW });
    expect(planJson(p).summary.adopt).toBe(2);
    expect(planJson(p).hasChanges).toBe(true);
    const markdown = renderPlanMarkdown(p);
    expect(markdown).toContain('**Plan: 0 to add, 0 to change, 0 to destroy, 2 to adopt.**');
    expect(markdown).toContain(`<= adopt RegisteredModel/churn (${MODEL_ID})`);
    const doc = buildPlan(snapshotOf(desired, observed));
    expect(doc.changes.map((c) => `${c.symbol} ${c.action} ${c.address}`)).toEqual([
      '<= adopt RegisteredModel/churn/adopt',
      '<= adopt DeployedEndpoint/churn-api/adopt',
    ]);
    expect(doc.summary.adopt).toBe(2);
  });

  it('shows what the manifest changes as an update after the adoption', async () => {
    const desired = await tree({ imports: BOTH, traffic: '[{version: 2, percent: 100}]' });
    const p = plan(desired, observedWith(unmanaged()), { now: NOW });
    const update = p.changes.find((c) => c.action === 'update' && c.kind === 'DeployedEndpoint');
    expect(update?.dependsOn).toContain('DeployedEndpoint/churn-api/adopt');
    expect(update?.fields.map((f) => f.path)).toEqual(['traffic']);
    expect(p.changes.findIndex((c) => c === update)).toBeGreaterThan(
      p.changes.findIndex((c) => c.address === 'DeployedEndpoint/churn-api/adopt'),
    );
  });

  it('defers what retention would delete to the next plan, with a warning', async () => {
    const desired = await tree({ imports: BOTH, keep: 1, traffic: '[{version: 1, percent: 100}]' });
    const [model, service] = unmanaged();
    // v2 is not the newest, aliased or served: retention (keepVersions 1) would delete it.
    model.model?.versions.push(versionAt(3));
    if (service.endpoint) service.endpoint.traffic = [{ ...service.endpoint.traffic[0], percent: 100 }];
    const p = plan(desired, observedWith([model, service]), { now: NOW });
    expect(p.diagnostics.find((d) => d.code === 'import-delete-deferred')?.message).toContain('versions/v2');
    expect(p.changes.some((c) => c.action === 'delete')).toBe(false);
    expect(p.diagnostics.map((d) => d.code)).toContain('import-delete-deferred');
  });

  it('the plan after adoption has no changes, and the entries then do nothing', async () => {
    const desired = await tree({ imports: BOTH });
    // The state as the stack observes it once adopted (the planner's picture), no listing.
    const { unmanaged: _listed, ...after } = planAdoption(desired, observedWith(unmanaged()), false).observed;
    const p = plan(desired, after, { now: NOW });
    expect(p.diagnostics).toEqual([]);
    expect(hasChanges(p)).toBe(false);
    // Without the provider's listing, an entry not adopted yet could not be planned.
    const none = plan(desired, empty(), { now: NOW });
    expect(none.diagnostics.map((d) => d.code)).toContain('import-unsupported');
  });

  it('a missing object, another stack’s object and an address without manifest are positioned errors with a fix', async () => {
    const desired = await tree({
      imports: `import:
  - {to: RegisteredModel/churn, id: projects/p/locations/europe-west4/models/999}
  - {to: DeployedEndpoint/churn-api, id: ${SERVICE_ID}}
  - {to: Schedule/nightly, id: projects/p/locations/europe-west4/jobs/x}
`,
    });
    const items = unmanaged();
    items[1] = { ...items[1], owner: { stack: 'other', kind: 'deployedendpoint', name: 'churn-api' } };
    const p = plan(desired, observedWith(items), { now: NOW });
    // (The manifests' own errors about versions that do not exist follow; not the point here.)
    const errors = p.diagnostics.filter((d) => d.severity === 'error' && d.code.startsWith('import-'));
    expect(errors.map((d) => [d.code, d.path])).toEqual([
      ['import-not-found', ['import', 0, 'id']],
      ['import-owned', ['import', 1, 'id']],
      ['import-no-manifest', ['import', 2, 'to']],
    ]);
    expect(errors.every((d) => d.file === desired.project?.file && d.hint)).toBe(true);
    expect(errors[1].message).toContain('belongs to stack other');
    expect(actionable(p.changes).filter((c) => c.action === 'adopt')).toEqual([]);
    const text = renderPlanText(p, { style: createStyle(false) });
    // Pointed at the entry in mlform.yaml.
    expect(text).toMatch(/mlform\.yaml:4:\d+ error \[import-not-found\]/);
  });
});

describe('the operator policy on adoption', () => {
  it('allowImport: false refuses a commit whose mlform.yaml imports, at the import key', async () => {
    const desired = await tree({ imports: BOTH });
    const refused = checkPolicy(desired, { policy: { allowImport: false }, file: '/etc/policy.yaml' });
    expect(refused.map((d) => [d.code, d.path, d.file])).toEqual([
      ['policy', ['import'], desired.project?.file],
    ]);
    expect(refused[0].message).toContain('allowImport is false');
    expect(checkPolicy(desired, { policy: {}, file: '/etc/policy.yaml' })).toEqual([]);
    const none = await tree({ imports: '' });
    expect(checkPolicy(none, { policy: { allowImport: false }, file: '/etc/policy.yaml' })).toEqual([]);
  });
});

describe('apply guards of adoption', () => {
  const facts = (desired: DesiredState, state: ObservedState, adopting: string[] = []): GuardFacts => ({
    desired,
    state,
    destroy: false,
    adopting: new Set(adopting),
    registry: async () => state.models,
    endpoints: async () => state.endpoints,
  });

  it('an adoption needs its import entry and an unowned object', async () => {
    const desired = await tree({ imports: BOTH });
    const observed = observedWith(unmanaged());
    const adopt = plan(desired, observed, { now: NOW }).changes.find((c) => c.action === 'adopt') as Change;
    expect(await guardChange(adopt, facts(desired, observed))).toEqual([]);
    const without = await tree({ imports: '' });
    expect((await guardChange(adopt, facts(without, observed))).map((d) => d.code)).toEqual(['not-imported']);
    const owned = observedWith(
      unmanaged().map((u) => ({ ...u, owner: { stack: 'x', kind: 'k', name: 'n' } })),
    );
    expect((await guardChange(adopt, facts(desired, owned))).map((d) => d.code)).toEqual(['not-adoptable']);
  });

  it('nothing of an object adopted by this apply is deleted', async () => {
    const desired = await tree({ imports: BOTH });
    const model = {
      name: 'churn',
      specHash: 'x',
      spec: { aliases: {}, retention: { keepVersions: 1 } },
      annotations: {},
      versions: [versionAt(1), versionAt(2)],
      aliases: {},
    } as unknown as ObservedState['models'][number];
    const state: ObservedState = { ...empty(), models: [model] };
    const deleteV1: Change = {
      action: 'delete',
      kind: 'RegisteredModel',
      target: 'version',
      address: 'RegisteredModel/churn/versions/1',
      resource: 'RegisteredModel/churn',
      reason: 'retention',
      fields: [],
      dependsOn: [],
      before: { model: 'churn', version: 1, run: { name: IMPORTED_RUN, number: 1 } },
      after: null,
    };
    expect(await guardChange(deleteV1, facts(desired, state))).toEqual([]);
    const refused = await guardChange(deleteV1, facts(desired, state, ['RegisteredModel/churn']));
    expect(refused.map((d) => d.code)).toEqual(['adopted-first-apply']);
  });
});
