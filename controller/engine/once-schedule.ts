/**
 * How plans, `get` and `describe` speak of a one-off schedule (`spec.at`): `once at <time> <zone>`
 * ahead of its instant, `fired once at <time>: done` after its fire, `missed` when its deadline
 * passed unfired. A fire is the provider's `lastFireTime` or, where the provider does not record
 * one, a run of the schedule created at or after the instant.
 */
import type { ObservedRun, ObservedSchedule } from '../../providers/provider.js';
import { onceState, type OnceState, type ScheduleSpec } from '../../resources/schedule.js';
import { formatInZone } from './zoned-time.js';
import { triggerReasonOf } from '../../monitoring/trigger.js';

/** The latest fire known: the provider's record, or the newest run the schedule launched on time. */
export function lastFireOf(
  schedule: Pick<ObservedSchedule, 'name' | 'lastFireTime'> | undefined,
  runs: readonly ObservedRun[],
): string | undefined {
  if (!schedule) return undefined;
  const times = [
    ...(schedule.lastFireTime !== undefined ? [schedule.lastFireTime] : []),
    // A run fired on a signal is not a fire of the clock (a one-off's instant stays ahead).
    ...runs
      .filter((r) => r.schedule === schedule.name && triggerReasonOf(r) === undefined)
      .map((r) => r.createdAt),
  ].filter((t) => !Number.isNaN(Date.parse(t)));
  return times.sort((a, b) => Date.parse(b) - Date.parse(a))[0];
}

export interface OnceStatus {
  state: OnceState;
  /** `once at 2026-12-24 06:00 Europe/Warsaw`, `fired once at <fire time>: done`, `once at ...: missed`. */
  text: string;
}

export function onceStatus(
  spec: ScheduleSpec,
  lastFire: string | undefined,
  now: Date,
): OnceStatus | undefined {
  const once = onceState(spec, lastFire, now);
  if (!once) return undefined;
  const at = `once at ${formatInZone(once.at, spec.timeZone)}`;
  switch (once.state) {
    case 'done': {
      const fired = lastFire !== undefined ? new Date(lastFire) : once.at;
      return { state: 'done', text: `fired once at ${formatInZone(fired, spec.timeZone)}: done` };
    }
    case 'missed':
      return { state: 'missed', text: `${at}: missed (not fired within startingDeadlineSeconds)` };
    case 'due':
      return { state: 'due', text: `${at}: due, not fired yet` };
    case 'pending':
      return { state: 'pending', text: at };
  }
}
