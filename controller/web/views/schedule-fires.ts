/**
 * The fire times of a schedule within a window, as the controller's clock and Cloud Scheduler
 * fire it: its cron (or `every`) in its own time zone, or its one `at` instant, each also as the
 * wall-clock time in that zone.
 *
 * Each step is `nextCronFire` (resources/cron-fires.ts: croner on the zone's fixed offset where
 * that gives the same answer, ~100 times faster than its `timezone` option).
 */
import { nextCronFire } from '../../../resources/cron-fires.js';
import { atInstant, normalizeScheduleSpec, type ScheduleSpec } from '../../../resources/schedule.js';
import { formatInZone } from '../../engine/status.js';

/** Per schedule and window: an every-minute cron over 31 days would otherwise be 44,640 entries. */
export const MAX_FIRES = 200;

/** Fire instants of a cron in a zone, after `after` and before `to`, at most `max`. */
export function cronFires(cron: string, timeZone: string, after: Date, to: Date, max: number): Date[] {
  const out: Date[] = [];
  let cursor = after;
  while (out.length < max) {
    const next = nextCronFire(cron, timeZone, cursor);
    if (!next || next.getTime() >= to.getTime()) break;
    out.push(next);
    cursor = next;
  }
  return out;
}

export function firesBetween(spec: ScheduleSpec, from: Date, to: Date): { at: string; local: string }[] {
  let instants: Date[] = [];
  if (spec.at !== undefined) {
    const at = atInstant(spec);
    if (at && at.getTime() >= from.getTime() && at.getTime() < to.getTime()) instants.push(at);
  } else {
    const cron = normalizeScheduleSpec(spec).cron;
    try {
      // croner's "after" is exclusive: a millisecond early so that a fire at `from` counts.
      if (cron !== undefined)
        instants = cronFires(cron, spec.timeZone, new Date(from.getTime() - 1), to, MAX_FIRES);
    } catch {
      // An expression or zone the manifest check let through but croner or Intl refuses: no fires shown.
    }
  }
  return instants.map((d) => ({ at: d.toISOString(), local: formatInZone(d, spec.timeZone) }));
}

/** The next fire after `now` (the overview card): like `nextFireTime`, on the fast path. */
export function nextFire(spec: ScheduleSpec, now: Date): Date | undefined {
  if (spec.suspend) return undefined;
  if (spec.at !== undefined) {
    const at = atInstant(spec);
    return at && at.getTime() > now.getTime() ? at : undefined;
  }
  const cron = normalizeScheduleSpec(spec).cron;
  if (cron === undefined) return undefined;
  try {
    // A year ahead is enough for any cron that fires at all (30 February never does).
    return cronFires(cron, spec.timeZone, now, new Date(now.getTime() + 366 * 86_400_000), 1)[0];
  } catch {
    return undefined;
  }
}
