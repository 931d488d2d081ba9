/**
 * Schedule `triggers`: a Schedule fires on a signal as well as on time. When a trigger's condition
 * holds in the observed `MonitoringStatus` of its endpoint (monitoring/trigger.ts), the cooldown
 * has passed since the last run the schedule fired on a signal, the schedule is not suspended and
 * its `concurrencyPolicy` allows it, the plan has a `fire` change; apply calls `schedules.trigger`
 * with the signal and the run goes the usual way (gate, register, alias, rollout). A signal held
 * back (cooldown, Forbid) is a noop with a notice, so the plan says why nothing fires.
 *
 * The cooldown is read from the runs: the newest run of the schedule annotated
 * `mlform.dev/fired-by: trigger`. No clock but `ctx.now` is read.
 */
import { runRef } from '../../resources/address.js';
import { DEFAULT_TRIGGER_COOLDOWN } from '../../resources/monitoring.js';
import { parseDuration } from '../../resources/training-run.js';
import type { ObservedRun } from '../../providers/provider.js';
import { triggerReasonOf, triggerSignal } from '../../monitoring/trigger.js';
import { triggerTarget } from '../../resources/schedule.js';
import { PHASE, activeRun, addChange, isActive, type Desired, type PlanContext } from './plan-context.js';

/** Address of a schedule's fire change: below the schedule, whose own change keeps its address. */
export const fireAddress = (scheduleAddress: string): string => `${scheduleAddress}/fire`;

export function planTriggers(ctx: PlanContext): void {
  for (const s of ctx.desired.schedules) planTrigger(ctx, s);
}

/** The runs of a schedule that a trigger fired, newest first. */
export function runsFiredBySignal(runs: readonly ObservedRun[], schedule: string): ObservedRun[] {
  return runs
    .filter((r) => r.schedule === schedule && triggerReasonOf(r) !== undefined)
    .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || b.number - a.number);
}

function planTrigger(ctx: PlanContext, s: Desired<'Schedule'>): void {
  const spec = s.manifest.spec;
  // A schedule not there yet is created first; the next pass (or plan) fires it.
  if (!spec.triggers || spec.suspend || !ctx.observed.schedules.has(s.name)) return;
  const signals = spec.triggers.flatMap((trigger, index) => {
    const { endpoint } = triggerTarget(trigger);
    const status = ctx.observed.endpoints.get(endpoint)?.monitoring;
    const signal = status && triggerSignal(trigger, status);
    return signal ? [{ index, endpoint, signal }] : [];
  });
  const first = signals[0];
  if (!first) return;
  const others =
    signals.length > 1 ? ` (and ${signals.length - 1} more signal${signals.length > 2 ? 's' : ''})` : '';
  const base = {
    kind: 'Schedule' as const,
    address: fireAddress(s.address),
    resource: s.address,
    // After the schedule's own update (a new template fires the new spec).
    dependsOn: [s.address],
    fields: [],
  };
  const held = (why: string) =>
    addChange(ctx, PHASE.schedule, {
      ...base,
      action: 'noop',
      reason: `${first.signal}${others}: not fired, ${why}`,
      before: null,
      after: null,
      notice: true,
    });

  const runs = (ctx.observed.runsByName.get(spec.trainingRun) ?? []).filter((r) => r.schedule === s.name);
  const last = runsFiredBySignal(runs, s.name)[0];
  const cooldown = spec.cooldown ?? DEFAULT_TRIGGER_COOLDOWN;
  if (last) {
    const until = Date.parse(last.createdAt) + parseDuration(cooldown) * 1000;
    if (ctx.now.getTime() < until) {
      held(`cooldown ${cooldown} after ${runRef(last)} until ${new Date(until).toISOString()}`);
      return;
    }
  }
  const active = runs.filter(isActive);
  const policy = spec.concurrencyPolicy;
  if (active.length > 0 && policy === 'Forbid') {
    held(`${active.map(runRef).join(', ')} still running (concurrencyPolicy Forbid)`);
    return;
  }
  const replaces = policy === 'Replace' ? active : [];
  const replacing = replaces.length > 0 ? `; replaces ${replaces.map(runRef).join(', ')}` : '';
  addChange(ctx, PHASE.schedule, {
    ...base,
    action: 'fire',
    reason: `${first.signal}${others}${replacing}`,
    before: null,
    after: {
      name: s.name,
      trigger: first.index,
      endpoint: first.endpoint,
      signal: first.signal,
      replaces: replaces.map(activeRun),
    },
  });
}
