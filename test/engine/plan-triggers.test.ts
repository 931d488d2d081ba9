/**
 * Schedule `triggers` in the plan: a `fire` change when a trigger's condition holds in the
 * endpoint's observed monitoring (crafted `MonitoringStatus`, the contract type), held back by the
 * cooldown (read from the runs a trigger fired) and `concurrencyPolicy`, never while suspended.
 */
import { describe, expect, it } from 'vitest';
import type { Change } from '../../controller/engine/change.js';
import { plan } from '../../controller/engine/plan.js';
import { resourceStatus } from '../../controller/engine/status.js';
import { createPlanTextView } from '../../controller/ui/plan-text.js';
import { planJsonView } from '../../controller/ui/plan-json.js';
import { renderPlanMarkdown } from '../../controller/ui/plan-markdown.js';
import { createStyle } from '../../controller/ui/style.js';
import type { DesiredState } from '../../manifests/load.js';
import type { MonitoringStatus } from '../../monitoring/status.js';
import { firedByTriggerAnnotations } from '../../monitoring/trigger.js';
import type { ObservedState } from '../../providers/provider.js';
import type { ScheduleSpec } from '../../resources/schedule.js';
import { converged, hashOf, loadTrees, NOW, run, version } from './helpers.js';

const FIRE = 'Schedule/mpg-retrain/fire';
const DRIFT_REASON =
  'drift on DeployedEndpoint/mpg-watch: Horsepower psi 0.41 > 0.2, 1 more feature (window 2026-11-20 10:00-11:00 UTC)';

const drifted = (over: Partial<MonitoringStatus> = {}): MonitoringStatus => ({
  windowStart: '2026-11-20T10:00:00Z',
  windowEnd: '2026-11-20T11:00:00Z',
  count: 500,
  drift: 'drifted',
  features: [
    { name: 'Cylinders', metric: 'psi', score: 0.05, threshold: 0.2, drifted: false },
    { name: 'Weight_in_lbs', metric: 'psi', score: 0.25, threshold: 0.2, drifted: true },
    { name: 'Horsepower', metric: 'psi', score: 0.4123, threshold: 0.2, drifted: true },
  ],
  ...over,
});

const calm = (): MonitoringStatus => ({
  ...drifted(),
  drift: 'ok',
  features: drifted().features.map((f) => ({ ...f, score: 0.01, drifted: false })),
});

async function stack(spec: Partial<ScheduleSpec> = {}, monitoring: MonitoringStatus | null = drifted()) {
  const desired = await loadTrees('core', 'runs', 'triggers');
  const schedule = desired.resources.find((r) => r.address === 'Schedule/mpg-retrain');
  if (schedule?.manifest.kind !== 'Schedule') throw new Error('no schedule');
  Object.assign(schedule.manifest.spec, spec);
  const h = hashOf(desired, 'TrainingRun/mpg-mlp');
  const observed = converged(desired, {
    runs: [run({ number: 1, specHash: h })],
    versions: { mpg: [version(1, { specHash: h })] },
    aliases: { mpg: { champion: 1 } },
    traffic: { 'mpg-api': [{ version: 1, percent: 100 }], 'mpg-watch': [{ version: 1, percent: 100 }] },
  });
  const endpoint = observed.endpoints.find((e) => e.name === 'mpg-watch');
  if (endpoint && monitoring) endpoint.monitoring = monitoring;
  return { desired, observed, h };
}

const fireOf = (desired: DesiredState, observed: ObservedState, now = NOW): Change | undefined =>
  plan(desired, observed, { now }).changes.find((c) => c.address === FIRE);

/** A run of the schedule that a trigger fired at `createdAt`. */
const firedRun = (h: string, number: number, createdAt: string, state: 'running' | 'succeeded') =>
  run({
    number,
    specHash: h,
    schedule: 'mpg-retrain',
    createdAt,
    state,
    annotations: firedByTriggerAnnotations(
      'drift on DeployedEndpoint/mpg-watch: earlier',
      new Date(createdAt),
    ),
  });

describe('Schedule triggers in the plan', () => {
  it('fires on drift, naming the worst feature, its score, the threshold and the window', async () => {
    const { desired, observed } = await stack();
    const p = plan(desired, observed, { now: NOW });
    const fire = p.changes.find((c) => c.address === FIRE);
    expect(fire).toEqual({
      action: 'fire',
      kind: 'Schedule',
      address: FIRE,
      resource: 'Schedule/mpg-retrain',
      reason: DRIFT_REASON,
      fields: [],
      dependsOn: [],
      before: null,
      after: { name: 'mpg-retrain', trigger: 0, endpoint: 'mpg-watch', signal: DRIFT_REASON, replaces: [] },
    });
    expect(p.summary.fire).toBe(1);
    const text = createPlanTextView({ style: createStyle(false) }).render(p);
    expect(text).toContain(`  # ${DRIFT_REASON}\n  ! fire Schedule/mpg-retrain on a signal\n`);
    expect(text).toContain('Plan: 0 to add, 0 to change, 0 to destroy, 1 to fire.');
    const json = JSON.parse(planJsonView.render(p)) as { changes: Change[]; summary: { fire: number } };
    expect(json.summary.fire).toBe(1);
    expect(json.changes.find((c) => c.address === FIRE)?.action).toBe('fire');
    expect(renderPlanMarkdown(p)).toContain('fire Schedule/mpg-retrain on a signal');
  });

  it('unknown or ok drift, or no monitoring observed, fires nothing', async () => {
    for (const status of [drifted({ drift: 'unknown' }), calm(), null]) {
      const { desired, observed } = await stack({}, status);
      expect(fireOf(desired, observed)).toBeUndefined();
    }
  });

  it("a trigger's own threshold replaces the endpoint's: fires only above it", async () => {
    const below = await stack({ triggers: [{ drift: { endpoint: 'mpg-watch', threshold: 0.5 } }] });
    expect(fireOf(below.desired, below.observed)).toBeUndefined();
    const above = await stack({ triggers: [{ drift: { endpoint: 'mpg-watch', threshold: 0.3 } }] });
    expect(fireOf(above.desired, above.observed)?.reason).toBe(
      'drift on DeployedEndpoint/mpg-watch: Horsepower psi 0.41 > 0.3 (window 2026-11-20 10:00-11:00 UTC)',
    );
  });

  it('waits out the cooldown after a run a trigger fired, then fires again', async () => {
    const { desired, observed, h } = await stack();
    observed.runs.push(firedRun(h, 2, '2026-11-20T08:00:00Z', 'succeeded'));
    const held = fireOf(desired, observed);
    expect(held).toMatchObject({
      action: 'noop',
      notice: true,
      reason: `${DRIFT_REASON}: not fired, cooldown 6h after mpg-mlp#2 until 2026-11-20T14:00:00.000Z`,
    });
    expect(
      createPlanTextView({ style: createStyle(false) }).render(plan(desired, observed, { now: NOW })),
    ).toContain(`  # Schedule/mpg-retrain: ${DRIFT_REASON}: not fired, cooldown 6h`);
    expect(fireOf(desired, observed, new Date('2026-11-20T14:00:00Z'))?.action).toBe('fire');
  });

  it('the fired run in flight is waited for, saying why it was fired', async () => {
    const { desired, observed, h } = await stack();
    observed.runs.push(firedRun(h, 2, '2026-11-20T11:30:00Z', 'running'));
    const wait = plan(desired, observed, { now: NOW }).changes.find(
      (c) => c.address === 'TrainingRun/mpg-mlp#2',
    );
    expect(wait).toMatchObject({ action: 'wait' });
    expect(wait?.reason).toBe(
      'mpg-mlp#2 (fired by Schedule/mpg-retrain on a signal: drift on DeployedEndpoint/mpg-watch: earlier) is running',
    );
  });

  it('the default cooldown is 24h', async () => {
    const { desired, observed, h } = await stack({ cooldown: undefined });
    observed.runs.push(firedRun(h, 2, '2026-11-19T13:00:00Z', 'succeeded'));
    expect(fireOf(desired, observed)?.action).toBe('noop');
    expect(fireOf(desired, observed, new Date('2026-11-20T13:00:00Z'))?.action).toBe('fire');
  });

  it('a run fired on time or by hand starts no cooldown', async () => {
    const { desired, observed, h } = await stack();
    observed.runs.push(
      run({ number: 2, specHash: h, schedule: 'mpg-retrain', createdAt: '2026-11-20T11:30:00Z' }),
    );
    expect(fireOf(desired, observed)?.action).toBe('fire');
  });

  it('honours concurrencyPolicy: Forbid holds, Replace cancels, Allow runs both', async () => {
    const active = (h: string) =>
      run({
        number: 2,
        specHash: h,
        schedule: 'mpg-retrain',
        createdAt: '2026-11-20T11:30:00Z',
        state: 'running',
      });
    const forbid = await stack({ concurrencyPolicy: 'Forbid' });
    forbid.observed.runs.push(active(forbid.h));
    expect(fireOf(forbid.desired, forbid.observed)).toMatchObject({
      action: 'noop',
      notice: true,
      reason: `${DRIFT_REASON}: not fired, mpg-mlp#2 still running (concurrencyPolicy Forbid)`,
    });
    const replace = await stack({ concurrencyPolicy: 'Replace' });
    replace.observed.runs.push(active(replace.h));
    const replacing = fireOf(replace.desired, replace.observed);
    expect(replacing).toMatchObject({ action: 'fire', reason: `${DRIFT_REASON}; replaces mpg-mlp#2` });
    expect(replacing?.action === 'fire' && replacing.after.replaces.map((r) => r.number)).toEqual([2]);
    expect(
      createPlanTextView({ style: createStyle(false) }).render(
        plan(replace.desired, replace.observed, { now: NOW }),
      ),
    ).toContain('! fire Schedule/mpg-retrain on a signal (cancels mpg-mlp#2)');
    const allow = await stack({ concurrencyPolicy: 'Allow' });
    allow.observed.runs.push(active(allow.h));
    const allowed = fireOf(allow.desired, allow.observed);
    expect(allowed?.action === 'fire' && allowed.after.replaces).toEqual([]);
  });

  it('a suspended schedule, or one not created yet, fires nothing', async () => {
    const suspended = await stack({ suspend: true });
    expect(fireOf(suspended.desired, suspended.observed)).toBeUndefined();
    const fresh = await stack();
    fresh.observed.schedules = [];
    const p = plan(fresh.desired, fresh.observed, { now: NOW });
    expect(p.changes.find((c) => c.address === 'Schedule/mpg-retrain')?.action).toBe('create');
    expect(p.changes.find((c) => c.address === FIRE)).toBeUndefined();
  });

  it('a signal-only schedule is healthy without a next fire; its paused job (gcp) is not drift', async () => {
    const { desired, observed } = await stack({}, calm());
    observed.schedules[0] = { ...observed.schedules[0], paused: true };
    const p = plan(desired, observed, { now: NOW });
    expect(p.changes.find((c) => c.address === 'Schedule/mpg-retrain')).toMatchObject({
      action: 'noop',
      reason: 'fires on a signal only',
    });
    expect(
      resourceStatus(desired, observed, p, { now: NOW }).find((s) => s.address === 'Schedule/mpg-retrain'),
    ).toMatchObject({ health: 'Healthy', details: 'fires on a signal only' });
  });

  it('fires after an update of the schedule itself', async () => {
    const { desired, observed } = await stack();
    observed.schedules[0] = { ...observed.schedules[0], specHash: 'older' };
    const p = plan(desired, observed, { now: NOW });
    expect(p.changes.map((c) => [c.action, c.address]).filter(([, a]) => a.startsWith('Schedule/'))).toEqual([
      ['update', 'Schedule/mpg-retrain'],
      ['fire', FIRE],
    ]);
    expect(p.changes.find((c) => c.address === FIRE)?.dependsOn).toEqual(['Schedule/mpg-retrain']);
  });

  it('fires on live quality past its bound, with enough feedback', async () => {
    const quality = (value: number, count: number, metric = 'mae') =>
      ({
        ...calm(),
        quality: { metric, value, count, validation: 3, degraded: value > 5 },
      }) satisfies MonitoringStatus;
    const past = await stack({}, quality(4.5, 120));
    expect(fireOf(past.desired, past.observed)).toMatchObject({
      action: 'fire',
      reason:
        'quality on DeployedEndpoint/mpg-watch: mae 4.5 > 4 over 120 feedback (window 2026-11-20 10:00-11:00 UTC)',
      after: { trigger: 1 },
    });
    for (const [value, count, metric] of [
      [3.9, 120, 'mae'],
      [4.5, 9, 'mae'],
      [4.5, 120, 'rmse'],
    ] as const) {
      const { desired, observed } = await stack({}, quality(value, count, metric));
      expect(fireOf(desired, observed)).toBeUndefined();
    }
    const accuracy = await stack(
      { triggers: [{ quality: { endpoint: 'mpg-watch', metric: 'accuracy', min: 0.8 } }] },
      quality(0.7, 50, 'accuracy'),
    );
    expect(fireOf(accuracy.desired, accuracy.observed)?.reason).toBe(
      'quality on DeployedEndpoint/mpg-watch: accuracy 0.7 < 0.8 over 50 feedback (window 2026-11-20 10:00-11:00 UTC)',
    );
  });

  it('several signals fire once, naming the first and counting the others', async () => {
    const both = await stack(
      {},
      { ...drifted(), quality: { metric: 'mae', value: 9, count: 40, degraded: true } },
    );
    const fire = fireOf(both.desired, both.observed);
    expect(fire).toMatchObject({
      action: 'fire',
      reason: `${DRIFT_REASON} (and 1 more signal)`,
      after: { trigger: 0 },
    });
    expect(
      plan(both.desired, both.observed, { now: NOW }).changes.filter((c) => c.action === 'fire'),
    ).toHaveLength(1);
  });
});
