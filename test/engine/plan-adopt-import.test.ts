/**
 * `import:` of Scheduler jobs and Vertex AI Endpoints in the plan (controller/engine/plan-adopt.ts):
 * a job is adopted with the hash apply records on a Schedule (its own and its template's), its
 * `mlform/scheduled-only` template starts no run, and the plan once adopted is a no-op; a job
 * without a template is a positioned error with the listing's reason; a Vertex AI Endpoint needs a
 * `platform: vertexEndpoint` manifest, under any name.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadManifests, type DesiredState } from '../../manifests/load.js';
import { IMPORTED_RUN, type ObservedState, type UnmanagedObject } from '../../providers/provider.js';
import { guardChange, type GuardFacts } from '../../controller/engine/apply-guards.js';
import { hasChanges, type Change } from '../../controller/engine/change.js';
import { plan } from '../../controller/engine/plan.js';
import { scheduleAppliedHash } from '../../controller/engine/plan-schedules.js';
import { empty, NOW } from './helpers.js';

const JOB_ID = 'projects/p/locations/europe-west4/jobs/nightly';
const ENDPOINT_ID = 'projects/p/locations/europe-west4/endpoints/4711';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-adopt-import-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function load(files: Record<string, string>, imports: string): Promise<DesiredState> {
  await writeFile(join(dir, 'mlform.yaml'), `stack: demo\nprovider: local\nimport:\n${imports}`);
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  const { desired, diagnostics } = await loadManifests([dir]);
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return desired;
}

const SCHEDULE = `apiVersion: mlform/v1
kind: TrainingRun
metadata:
  name: nightly
  annotations: {mlform/scheduled-only: "true"}
spec:
  trainer: {container: {image: eu.gcr.io/acme/train:2}}
  resources: {machineType: n1-standard-8}
---
apiVersion: mlform/v1
kind: Schedule
metadata: {name: nightly}
spec: {trainingRun: nightly, cron: "0 3 * * *", timeZone: Europe/Warsaw, suspend: true}
`;

const job = (over: Partial<NonNullable<UnmanagedObject['schedule']>> = {}): UnmanagedObject => ({
  kind: 'Schedule',
  id: JOB_ID,
  name: 'nightly',
  schedule: {
    cron: '0 3 * * *',
    timeZone: 'Europe/Warsaw',
    paused: true,
    target: 'https://...',
    template: { trainer: { container: { image: 'eu.gcr.io/acme/train:2' } } },
    ...over,
  },
  notes: [],
});

const actionable = (changes: Change[]) => changes.filter((c) => c.action !== 'noop');

describe('import: of a Cloud Scheduler job', () => {
  it('plans only <= adopt, with the applied hash; the template starts no run; once observed, no changes', async () => {
    const desired = await load({ 'nightly.yaml': SCHEDULE }, `  - {to: Schedule/nightly, id: ${JOB_ID}}\n`);
    const observed: ObservedState = { ...empty(), unmanaged: [job()] };
    const p = plan(desired, observed, { now: NOW });
    expect(p.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(actionable(p.changes).map((c) => `${c.action} ${c.address}`)).toEqual([
      'adopt Schedule/nightly/adopt',
    ]);
    const schedule = desired.resources.find((r) => r.address === 'Schedule/nightly');
    const template = desired.resources.find((r) => r.address === 'TrainingRun/nightly');
    const applied = scheduleAppliedHash(schedule?.specHash ?? '', template?.specHash ?? '');
    const adopt = p.changes.find((c) => c.action === 'adopt') as Change;
    expect(adopt.action === 'adopt' && adopt.after.specHash).toBe(applied);
    expect(p.changes.find((c) => c.address === 'TrainingRun/nightly')?.reason).toContain(
      'a template only its Schedules fire (mlform/scheduled-only)',
    );
    // Apply's guard takes the applied hash for a schedule.
    const facts: GuardFacts = {
      desired,
      state: observed,
      destroy: false,
      adopting: new Set(),
      registry: async () => [],
      endpoints: async () => [],
    };
    expect(await guardChange(adopt, facts)).toEqual([]);

    // After apply, the job is observed with what adoption recorded: nothing to do.
    const after: ObservedState = {
      ...empty(),
      schedules: [
        {
          name: 'nightly',
          specHash: applied,
          spec: schedule?.manifest.spec as never,
          annotations: {},
          paused: true,
        },
      ],
    };
    expect(hasChanges(plan(desired, after, { now: NOW }))).toBe(false);
  });

  it('a job whose target mlform cannot express is an error at its entry, with the reason', async () => {
    const desired = await load({ 'nightly.yaml': SCHEDULE }, `  - {to: Schedule/nightly, id: ${JOB_ID}}\n`);
    const unsupported = job({
      template: undefined,
      unsupported: 'it publishes to Pub/Sub; a Schedule fires a Vertex AI training job',
    });
    const p = plan(desired, { ...empty(), unmanaged: [unsupported] }, { now: NOW });
    const problem = p.diagnostics.find((d) => d.code === 'import-schedule-target');
    expect(problem?.message).toBe(
      `${JOB_ID}: it publishes to Pub/Sub; a Schedule fires a Vertex AI training job`,
    );
    expect(problem?.path).toEqual(['import', 0, 'id']);
    expect(p.changes.some((c) => c.action === 'adopt')).toBe(false);
  });
});

describe('import: of a Vertex AI Endpoint', () => {
  const model = `apiVersion: mlform/v1
kind: RegisteredModel
metadata: {name: fraud}
spec: {aliases: {}}
`;
  const endpoint = (platform: string) => `apiVersion: mlform/v1
kind: DeployedEndpoint
metadata: {name: fraud-api}
spec:
  model: fraud
  ${platform}
  traffic: [{version: 1, percent: 90}, {version: 2, percent: 10}]
  scaling: {minInstances: 1, maxInstances: 3}
`;
  const version = (n: number) => ({
    version: n,
    run: { name: IMPORTED_RUN, number: n },
    specHash: '',
    artifactUri: `gs://legacy/fraud/v${n}`,
    metrics: {},
    baseline: {},
    createdAt: `2026-11-0${n}T00:00:00.000Z`,
  });
  const listing: UnmanagedObject[] = [
    {
      kind: 'RegisteredModel',
      id: 'projects/p/locations/europe-west4/models/fraud',
      name: 'fraud',
      model: { versions: [version(1), version(2)], aliases: {} },
      notes: [],
    },
    {
      kind: 'DeployedEndpoint',
      id: ENDPOINT_ID,
      name: 'fraud-live',
      endpoint: {
        platform: 'vertexEndpoint',
        traffic: [
          { revision: '101', percent: 90, artifactUri: 'gs://legacy/fraud/v1' },
          { revision: '102', percent: 10, artifactUri: 'gs://legacy/fraud/v2' },
        ],
        live: { scaling: { minInstances: 1, maxInstances: 3 }, machine: { machineType: 'n1-standard-4' } },
        healthy: true,
      },
      notes: [],
    },
  ];
  const imports = `  - {to: RegisteredModel/fraud, id: projects/p/locations/europe-west4/models/fraud}
  - {to: DeployedEndpoint/fraud-api, id: ${ENDPOINT_ID}}
`;

  it('adopts it under a manifest name of its own with platform: vertexEndpoint; nothing else to change', async () => {
    const desired = await load(
      {
        'model.yaml': model,
        'endpoint.yaml': endpoint('platform: vertexEndpoint\n  machine: {machineType: n1-standard-4}'),
      },
      imports,
    );
    const p = plan(desired, { ...empty(), unmanaged: listing }, { now: NOW });
    expect(p.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(actionable(p.changes).map((c) => `${c.action} ${c.address}`)).toEqual([
      'adopt RegisteredModel/fraud/adopt',
      'adopt DeployedEndpoint/fraud-api/adopt',
    ]);
  });

  it('a Cloud Run manifest for it is an error at the entry naming the fix', async () => {
    const desired = await load(
      { 'model.yaml': model, 'endpoint.yaml': endpoint('platform: cloudRun') },
      imports,
    );
    const p = plan(desired, { ...empty(), unmanaged: listing }, { now: NOW });
    const problem = p.diagnostics.find((d) => d.code === 'import-platform');
    expect(problem?.message).toBe(
      `${ENDPOINT_ID} is a Vertex AI Endpoint; DeployedEndpoint/fraud-api serves on Cloud Run`,
    );
    expect(problem?.hint).toBe('set `platform: vertexEndpoint` in its spec');
  });
});
