import { describe, expect, it } from 'vitest';
import type { Plan } from '../../controller/engine/change.js';
import { isApplicable } from '../../controller/engine/change.js';
import { plan } from '../../controller/engine/plan.js';
import type { ObservedState } from '../../providers/provider.js';
import { NOW, converged, hashOf, loadTrees, run, version } from './helpers.js';

const actions = (p: Plan) =>
  p.changes.filter((c) => c.action !== 'noop').map((c) => `${c.action} ${c.address}`);

/** The converged mpg stack plus a model, endpoint, schedule and runs whose manifests are gone. */
async function withLeftovers(annotations: { model?: boolean; endpoint?: boolean } = {}) {
  const desired = await loadTrees('core', 'runs');
  const h = hashOf(desired, 'TrainingRun/mpg-mlp');
  const observed: ObservedState = converged(desired, {
    runs: [
      run({ number: 1, specHash: h }),
      run({ name: 'old-mlp', number: 1, specHash: 'o' }),
      run({ name: 'old-mlp', number: 2, specHash: 'o', state: 'running' }),
      run({ name: 'old-mlp', number: 3, specHash: 'o', state: 'queued', schedule: 'old-weekly' }),
    ],
    versions: { mpg: [version(1, { specHash: h })] },
    aliases: { mpg: { champion: 1 } },
    traffic: { 'mpg-api': [{ version: 1, percent: 100 }] },
  });
  const guard = (on?: boolean): Record<string, string> => (on ? { 'mlform/prevent-destroy': 'true' } : {});
  observed.models.push({
    name: 'old',
    specHash: 'm',
    spec: { aliases: {}, retention: { keepVersions: 20 } },
    annotations: guard(annotations.model),
    versions: [version(1)],
    aliases: {},
  });
  observed.endpoints.push({
    ...observed.endpoints[0],
    name: 'old-api',
    model: 'old',
    annotations: guard(annotations.endpoint),
  });
  observed.schedules.push({
    name: 'old-weekly',
    specHash: 's',
    spec: {
      trainingRun: 'old-mlp',
      cron: '0 6 * * 1',
      timeZone: 'UTC',
      suspend: false,
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 3600,
      history: { successful: 5, failed: 3 },
    },
    annotations: {},
    paused: false,
  });
  return { desired, observed };
}

describe('prune', () => {
  it('deletes what the manifests no longer name, endpoints before models; cancels runs in flight', async () => {
    const { desired, observed } = await withLeftovers();
    const p = plan(desired, observed, { now: NOW });
    expect(actions(p)).toEqual([
      'delete DeployedEndpoint/old-api',
      'delete Schedule/old-weekly',
      'cancel TrainingRun/old-mlp#2',
      'cancel TrainingRun/old-mlp#3',
      'delete RegisteredModel/old',
    ]);
    const byAddress = new Map(p.changes.map((c) => [c.address, c]));
    expect(byAddress.get('RegisteredModel/old')).toMatchObject({
      target: 'model',
      reason: 'no longer in the manifests; deletes its 1 version',
      dependsOn: ['DeployedEndpoint/old-api'],
    });
    // The scheduled run goes once its schedule cannot fire again.
    expect(byAddress.get('TrainingRun/old-mlp#3')?.dependsOn).toEqual(['Schedule/old-weekly']);
    // Finished runs are history: nothing is planned for old-mlp#1.
    expect(byAddress.has('TrainingRun/old-mlp#1')).toBe(false);
    expect(p.summary).toMatchObject({ delete: 3, cancel: 2 });
  });

  it('prune: false leaves them alone', async () => {
    const { desired, observed } = await withLeftovers();
    expect(actions(plan(desired, observed, { now: NOW, prune: false }))).toEqual([]);
  });

  it('prevent-destroy fails the plan with an error per object and plans no delete for it', async () => {
    const { desired, observed } = await withLeftovers({ model: true });
    const p = plan(desired, observed, { now: NOW });
    expect(isApplicable(p)).toBe(false);
    expect(p.diagnostics).toEqual([
      {
        severity: 'error',
        code: 'prevent-destroy',
        message:
          'RegisteredModel/old has mlform/prevent-destroy: remove the annotation (and apply) before deleting it',
        address: 'RegisteredModel/old',
      },
    ]);
    expect(actions(p)).not.toContain('delete RegisteredModel/old');
    expect(actions(p)).toContain('delete DeployedEndpoint/old-api');
  });

  it('a protected endpoint also keeps the model it serves', async () => {
    const { desired, observed } = await withLeftovers({ endpoint: true });
    const p = plan(desired, observed, { now: NOW });
    expect(p.diagnostics.map((d) => d.message)).toEqual([
      'DeployedEndpoint/old-api has mlform/prevent-destroy: remove the annotation (and apply) before deleting it',
      'RegisteredModel/old cannot be deleted: DeployedEndpoint/old-api serves it and has mlform/prevent-destroy',
    ]);
    expect(actions(p).some((a) => a.startsWith('delete'))).toBe(true);
    expect(actions(p).filter((a) => a.includes('old-api') || a.endsWith('RegisteredModel/old'))).toEqual([]);
  });
});

describe('destroy', () => {
  it('plans deleting everything of the stack, in reverse order; prevent-destroy in the manifest protects', async () => {
    const desired = await loadTrees('protected', 'core/endpoint.yaml', 'runs', 'schedule');
    const h = hashOf(desired, 'TrainingRun/mpg-mlp');
    const observed = converged(desired, {
      runs: [
        run({ number: 1, specHash: h }),
        run({ number: 2, specHash: h, state: 'running', schedule: 'mpg-weekly' }),
      ],
      versions: { mpg: [version(1, { specHash: h })] },
      aliases: { mpg: { champion: 1 } },
      traffic: { 'mpg-api': [{ version: 1, percent: 100 }] },
    });
    const p = plan(desired, observed, { now: NOW, destroy: true });
    expect(actions(p)).toEqual([
      'delete DeployedEndpoint/mpg-api',
      'delete Schedule/mpg-weekly',
      'cancel TrainingRun/mpg-mlp#2',
    ]);
    expect(p.changes.every((c) => c.action !== 'noop')).toBe(true);
    expect(p.diagnostics).toMatchObject([
      {
        severity: 'error',
        code: 'prevent-destroy',
        message:
          'RegisteredModel/mpg has mlform/prevent-destroy: remove the annotation (and apply) before deleting it',
        file: 'test/engine/fixtures/protected/model.yaml',
        path: ['metadata', 'annotations', 'mlform/prevent-destroy'],
      },
    ]);
    expect(p.options).toEqual({ destroy: true, prune: true });
  });
});
