/**
 * The fire times of a schedule within a window, as the controller's clock and Cloud Scheduler
 * fire it: its cron (or `every`) in its own time zone, or its one `at` instant, each also as the
 * wall-clock time in that zone.
 *
 * Why not croner's `timezone` option for every step: it costs ~0.5 ms per fire (a zone lookup per
 * candidate), so an hourly schedule over a week is ~80 ms and a page of them seconds. Between two
 * offset changes a zone is a fixed UTC offset, for which croner is ~100 times faster. So each step
 * asks croner with the zone's offset at the step's start, and keeps the answer only if the zone
 * keeps that offset at the fire and for hours around it; near a change (DST) the step is asked
 * with the zone itself, so gaps and repeated hours fire exactly as the controller fires them.
 */
import { Cron } from 'croner';
import { wallClock } from '../../../resources/local-date-time.js';
import { atInstant, normalizeScheduleSpec, type ScheduleSpec } from '../../../resources/schedule.js';
import { formatInZone } from '../../engine/status.js';

/** Per schedule and window: an every-minute cron over 31 days would otherwise be 44,640 entries. */
export const MAX_FIRES = 200;

/** The zone's UTC offset at an instant, in whole minutes. */
function offsetMinutes(at: Date, timeZone: string): number {
  const w = wallClock(at, timeZone);
  const local = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return Math.round((local - Math.floor(at.getTime() / 1000) * 1000) / 60_000);
}

/** Hours around a fire in which an offset change sends the step to the zoned path. */
const NEAR_CHANGE_MS = 3 * 3_600_000;

/**
 * The zone has `offset` at the fire and for hours around it: no change near enough for croner's
 * zoned handling of skipped and repeated local times (including half-hour changes) to differ.
 */
const steadyAround = (at: Date, offset: number, timeZone: string): boolean =>
  [0, -NEAR_CHANGE_MS, NEAR_CHANGE_MS].every(
    (d) => offsetMinutes(new Date(at.getTime() + d), timeZone) === offset,
  );

/** Parsed patterns (a paused Cron only answers `nextRun`), shared: stacks repeat a few expressions. */
const jobs = new Map<string, Cron>();

function job(cron: string, where: { utcOffset: number } | { timezone: string }): Cron {
  const key = `${cron}\u0000${'timezone' in where ? where.timezone : where.utcOffset}`;
  let found = jobs.get(key);
  if (!found) {
    found = new Cron(cron, { ...where, paused: true });
    if (jobs.size >= 1000) jobs.clear();
    jobs.set(key, found);
  }
  return found;
}

/** Fire instants of a cron in a zone, after `after` and before `to`, at most `max`. */
export function cronFires(cron: string, timeZone: string, after: Date, to: Date, max: number): Date[] {
  const out: Date[] = [];
  let cursor = after;
  while (out.length < max) {
    const offset = offsetMinutes(cursor, timeZone);
    let next = job(cron, { utcOffset: offset }).nextRun(cursor);
    if (next && !steadyAround(next, offset, timeZone))
      next = job(cron, { timezone: timeZone }).nextRun(cursor);
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
