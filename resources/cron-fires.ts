/**
 * The next fire of a cron in an IANA zone, as croner's `timezone` option finds it, at a fraction
 * of its cost.
 *
 * Why not croner's `timezone` option for every step: it costs ~0.5-1 ms per search (a zone lookup
 * per candidate), so a plan of 1,000 resources spent ~100 ms finding next runs, and an hourly
 * schedule over a week in the dashboard ~80 ms. Between two offset changes a zone is a fixed UTC
 * offset, for which croner is ~100 times faster. So a step asks croner with the zone's offset at
 * the step's start, and keeps the answer only if the zone keeps that offset at the fire and for
 * hours around it; near a change (DST) the step is asked with the zone itself, so gaps and
 * repeated hours fire exactly as the controller fires them. An earlier fire in a period of another
 * offset would show up as a match under the start's offset inside or next to that period, so it
 * too goes to the zoned path.
 */
import { Cron } from 'croner';
import { wallClock } from './local-date-time.js';

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

/**
 * The first fire of `cron` in `timeZone` strictly after `after` (croner's `nextRun`), undefined
 * when it never fires. Throws what croner or Intl throws for a bad pattern or zone.
 */
export function nextCronFire(cron: string, timeZone: string, after: Date): Date | undefined {
  const offset = offsetMinutes(after, timeZone);
  const next = job(cron, { utcOffset: offset }).nextRun(after);
  // No match on a fixed offset, where every local time exists: none in the zone either.
  if (!next) return undefined;
  if (steadyAround(next, offset, timeZone)) return next;
  return job(cron, { timezone: timeZone }).nextRun(after) ?? undefined;
}
