/**
 * A `fire` change at execution: `schedules.trigger` with the signal as the reason, and the guard
 * that re-reads the manifests and the observed monitoring (never the change's own claim).
 */
import { describe, expect, it } from 'vitest';
import { executeChange } from '../../controller/engine/apply-executor.js';
import type { ChangeOf } from '../../controller/engine/change.js';
import { plan } from '../../controller/engine/plan.js';
import type { MonitoringStatus } from '../../monitoring/status.js';
import type { ObservedState, Provider, TriggerScheduleRequest } from '../../providers/provider.js';
import { PREVENT_DESTROY_ANNOTATION } from '../../resources/metadata.js';
import { converged, hashOf, loadTrees, NOW, run } from './helpers.js';

const DRIFTED: MonitoringStatus = {
  windowStart: '2026-11-20T10:00:00Z',
  windowEnd: '2026-11-20T11:00:00Z',
  count: 300,
  drift: 'drifted',
  features: [{ name: 'Horsepower', metric: 'psi', score: 0.5, threshold: 0.2, drifted: true }],
};

async function setUp() {
  const desired = await loadTrees('core', 'runs', 'triggers');
  const observed = converged(desired, { runs: [] });
  const watch = observed.endpoints.find((e) => e.name === 'mpg-watch');
  if (watch) watch.monitoring = DRIFTED;
  const fire = plan(desired, observed, { now: NOW }).changes.find((c) => c.action === 'fire');
  if (fire?.action !== 'fire') throw new Error('no fire planned');
  return { desired, observed, fire: fire as ChangeOf<'fire'> };
}

function triggering() {
  const requests: TriggerScheduleRequest[] = [];
  const provider = {
    schedules: {
      trigger: (_ctx: unknown, req: TriggerScheduleRequest) => {
        requests.push(req);
        return Promise.resolve({ diagnostics: [] });
      },
    },
  } as unknown as Provider;
  return { provider, requests };
}

const execute = (
  fire: ChangeOf<'fire'>,
  state: ObservedState,
  desired: Awaited<ReturnType<typeof setUp>>['desired'],
  provider: Provider,
) =>
  executeChange(fire, {
    provider,
    ctx: { stack: 'test', projectDir: '/nonexistent' },
    desired,
    state,
    destroy: false,
  });

describe('executing a fire', () => {
  it('calls schedules.trigger with the signal as the reason', async () => {
    const { desired, observed, fire } = await setUp();
    const { provider, requests } = triggering();
    expect(await execute(fire, observed, desired, provider)).toEqual({ failed: false, diagnostics: [] });
    expect(requests).toEqual([
      {
        name: 'mpg-retrain',
        reason:
          'drift on DeployedEndpoint/mpg-watch: Horsepower psi 0.5 > 0.2 (window 2026-11-20 10:00-11:00 UTC)',
      },
    ]);
  });

  it('is refused when the observed monitoring no longer holds the signal, or the schedule is suspended', async () => {
    const { desired, observed, fire } = await setUp();
    const { provider, requests } = triggering();
    const calm = structuredClone(observed);
    const watch = calm.endpoints.find((e) => e.name === 'mpg-watch');
    if (watch) watch.monitoring = { ...DRIFTED, drift: 'unknown' };
    const refused = await execute(fire, calm, desired, provider);
    expect(refused.diagnostics.map((d) => d.code)).toEqual(['no-signal']);
    const schedule = desired.resources.find((r) => r.address === 'Schedule/mpg-retrain');
    if (schedule?.manifest.kind !== 'Schedule') throw new Error('no schedule');
    schedule.manifest.spec.suspend = true;
    const suspended = await execute(fire, observed, desired, provider);
    expect(suspended.diagnostics.map((d) => d.code)).toEqual(['suspended']);
    expect(requests).toEqual([]);
  });

  it('Replace never cancels a protected run', async () => {
    const { desired, observed, fire } = await setUp();
    const schedule = desired.resources.find((r) => r.address === 'Schedule/mpg-retrain');
    if (schedule?.manifest.kind !== 'Schedule') throw new Error('no schedule');
    schedule.manifest.spec.concurrencyPolicy = 'Replace';
    observed.runs.push(
      run({
        number: 2,
        specHash: hashOf(desired, 'TrainingRun/mpg-mlp'),
        schedule: 'mpg-retrain',
        state: 'running',
        annotations: { [PREVENT_DESTROY_ANNOTATION]: 'true' },
      }),
    );
    const { provider, requests } = triggering();
    const refused = await execute(fire, observed, desired, provider);
    expect(refused.diagnostics.map((d) => d.code)).toEqual(['prevent-destroy']);
    expect(requests).toEqual([]);
  });
});
