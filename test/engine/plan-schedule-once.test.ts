/**
 * A one-off schedule (`spec.at`) in plans, `get` and `describe`: `once at ...` ahead of its
 * instant, `fired once at ...: done` after its fire (Healthy, not Progressing), `missed` past its
 * deadline unfired; a job still live after that (gcp) is paused by the next apply, not drift.
 */
import { describe, expect, it } from 'vitest';
import type { Change } from '../../controller/engine/change.js';
import { plan } from '../../controller/engine/plan.js';
import { resourceStatus } from '../../controller/engine/status.js';
import { describeModel, renderDescribe } from '../../controller/ui/status-describe.js';
import { createPlanTextView } from '../../controller/ui/plan-text.js';
import { createStyle } from '../../controller/ui/style.js';
import type { DesiredState } from '../../manifests/load.js';
import type { ObservedState } from '../../providers/provider.js';
import { converged, empty, hashOf, loadTrees, NOW, run } from './helpers.js';

const ADDRESS = 'Schedule/mpg-once';
// 2026-11-24 06:00 in Warsaw (CET) is 05:00 UTC; NOW is four days before.
const AFTER = new Date('2026-11-24T05:30:00Z');
const LATE = new Date('2026-11-24T07:00:00Z');
const FIRED = '2026-11-24T05:00:00.300Z';
const text = createPlanTextView({ style: createStyle(false) });

const changeOf = (desired: DesiredState, observed: ObservedState, now: Date): Change => {
  const found = plan(desired, observed, { now }).changes.find((c) => c.resource === ADDRESS);
  if (!found) throw new Error(`no change for ${ADDRESS}`);
  return found;
};

const statusOf = (desired: DesiredState, observed: ObservedState, now: Date) =>
  resourceStatus(desired, observed, undefined, { now }).find((s) => s.address === ADDRESS);

/** Nothing to do, Healthy, and the plan and `get` say the same. */
const settled = (text: string) => ({ action: 'noop', reason: text, health: 'Healthy', details: text });

/** The plan's action and reason, and `get`'s health and details, at `now`. */
const shown = (desired: DesiredState, observed: ObservedState, now: Date) => {
  const change = changeOf(desired, observed, now);
  const status = statusOf(desired, observed, now);
  return { action: change.action, reason: change.reason, health: status?.health, details: status?.details };
};

async function applied() {
  const desired = await loadTrees('core', 'runs', 'schedule-once');
  const h = hashOf(desired, 'TrainingRun/mpg-mlp');
  return { desired, observed: converged(desired, { runs: [run({ number: 1, specHash: h })] }), h };
}

describe('a one-off schedule', () => {
  it('is planned and shown as once at its local time before it fires', async () => {
    const { desired, observed } = await applied();
    const created = changeOf(desired, empty(), NOW);
    expect(created).toMatchObject({ action: 'create', reason: 'once at 2026-11-24 06:00 Europe/Warsaw' });
    expect(created.kind === 'Schedule' && created.action === 'create' && created.after.nextFireTime).toBe(
      '2026-11-24T05:00:00.000Z',
    );
    expect(text.render(plan(desired, empty(), { now: NOW }))).toContain(
      `  # once at 2026-11-24 06:00 Europe/Warsaw\n  + ${ADDRESS}\n`,
    );
    expect(shown(desired, observed, NOW)).toEqual(settled('once at 2026-11-24 06:00 Europe/Warsaw'));
  });

  it('is done after its fire: the provider paused it (local), so nothing to do', async () => {
    const { desired, observed } = await applied();
    Object.assign(observed.schedules[0], { paused: true, lastFireTime: FIRED });
    expect(shown(desired, observed, AFTER)).toEqual(
      settled('fired once at 2026-11-24 06:00 Europe/Warsaw: done'),
    );
    const status = statusOf(desired, observed, AFTER);
    if (!status) throw new Error('no status');
    const described = renderDescribe(describeModel(status, undefined, observed, AFTER), createStyle(false));
    expect(described).toMatch(/Once: +fired once at 2026-11-24 06:00 Europe\/Warsaw: done/);
    expect(described).toMatch(/Suspended: +no/);
    expect(described).toMatch(/Next fire: +never/);
  });

  it('a run it launched counts as its fire, and a job still live is paused by apply', async () => {
    const { desired, observed, h } = await applied();
    // No lastFireTime recorded; the run of the schedule, created after the instant, is the fire.
    observed.runs.push(run({ number: 2, specHash: h, schedule: 'mpg-once', createdAt: FIRED }));
    const pause = changeOf(desired, observed, AFTER);
    expect(pause).toMatchObject({
      action: 'update',
      reason: 'fired once: pause',
      fields: [{ path: 'paused', before: false, after: true }],
    });
    expect(pause.drift).toBeUndefined();
    expect(text.render(plan(desired, observed, { now: AFTER }))).toContain(
      `  # fired once: pause\n  ~ ${ADDRESS}\n      ~ paused: false -> true\n`,
    );
    expect(statusOf(desired, observed, AFTER)?.health).toBe('Healthy');
  });

  it('is missed when its deadline passes unfired: Degraded, and paused too', async () => {
    const { desired, observed } = await applied();
    expect(statusOf(desired, observed, AFTER)).toMatchObject({
      health: 'Healthy',
      details: 'once at 2026-11-24 06:00 Europe/Warsaw: due, not fired yet',
    });
    expect(statusOf(desired, observed, LATE)).toMatchObject({
      health: 'Degraded',
      details: 'once at 2026-11-24 06:00 Europe/Warsaw: missed (not fired within startingDeadlineSeconds)',
    });
    expect(changeOf(desired, observed, LATE)).toMatchObject({ action: 'update', reason: 'missed: pause' });
    observed.schedules[0].paused = true;
    expect(changeOf(desired, observed, LATE).action).toBe('noop');
    // Paused past its instant but within the deadline (gcp fires nothing late): not suspended.
    expect(shown(desired, observed, AFTER)).toEqual(
      settled('once at 2026-11-24 06:00 Europe/Warsaw: due, not fired yet'),
    );
  });

  it('a done one-off given a new date is a spec change, not drift', async () => {
    const { desired, observed } = await applied();
    Object.assign(observed.schedules[0], {
      paused: true,
      lastFireTime: '2026-11-18T05:00:00.300Z',
      spec: { ...observed.schedules[0].spec, at: '2026-11-18T06:00' },
      specHash: 'applied-before',
    });
    const moved = changeOf(desired, observed, NOW);
    expect(moved).toMatchObject({
      action: 'update',
      reason: 'spec changed; once at 2026-11-24 06:00 Europe/Warsaw',
      fields: [{ path: 'spec.at', before: '2026-11-18T06:00', after: '2026-11-24T06:00' }],
    });
    expect(moved.drift).toBeUndefined();
  });
});
