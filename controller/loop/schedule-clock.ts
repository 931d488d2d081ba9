/**
 * Fires local schedules on time (on gcp Cloud Scheduler does). Times come from croner in the
 * schedule's zone; the clock keeps one timer per schedule for its next fire time and hands due
 * fires to the loop, which fires them one at a time through `schedules.trigger` (concurrencyPolicy
 * and history are the provider's). A fire is idempotent per due time: the loop skips it when the
 * schedule's `lastFireTime` is already at or past it (fired by a previous leader, or twice queued).
 *
 * Missed fires (controller down): like a Kubernetes CronJob, at most one — the latest missed time —
 * is fired late, and only within `startingDeadlineSeconds` of it; older ones are skipped. A schedule
 * that has never fired has nothing to catch up on. A one-off schedule (`spec.at`) has one fire
 * time: missed, it is fired late within the same deadline whether or not it ever fired before, and
 * once fired (`lastFireTime` at or past it) it is done, across restarts and leaders alike.
 */
import { Cron } from 'croner';
import {
  atInstant,
  normalizeScheduleSpec,
  nextFireTime,
  onceState,
  type ScheduleSpec,
} from '../../resources/schedule.js';
import type { ObservedSchedule } from '../../providers/provider.js';

/** Timers are capped so a far fire time is recomputed (clock changes, setTimeout's 24.8-day limit). */
const MAX_TIMER_MS = 60 * 60 * 1000;

/** The latest fire time at or before `now`, if the schedule has one. */
export function previousFireTime(spec: ScheduleSpec, now: Date): Date | undefined {
  if (spec.at !== undefined) {
    const at = atInstant(spec);
    return at && at.getTime() <= now.getTime() ? at : undefined;
  }
  const cron = normalizeScheduleSpec(spec).cron;
  if (!cron) return undefined;
  // croner's previousRuns is strictly before its reference, at one-second resolution.
  const [previous] = new Cron(cron, { timezone: spec.timeZone, paused: true }).previousRuns(
    1,
    new Date(now.getTime() + 1000),
  );
  return previous && previous.getTime() <= now.getTime() ? previous : undefined;
}

/** The one missed fire to run late, per the rules above. */
export function missedFire(
  schedule: Pick<ObservedSchedule, 'spec' | 'lastFireTime'>,
  now: Date,
): Date | undefined {
  if (schedule.spec.suspend) return undefined;
  const once = onceState(schedule.spec, schedule.lastFireTime, now);
  if (once) return once.state === 'due' ? once.at : undefined;
  if (schedule.lastFireTime === undefined) return undefined;
  const previous = previousFireTime(schedule.spec, now);
  if (!previous) return undefined;
  if (previous.getTime() <= Date.parse(schedule.lastFireTime)) return undefined;
  const deadlineMs = (schedule.spec.startingDeadlineSeconds ?? 3600) * 1000;
  return now.getTime() - previous.getTime() <= deadlineMs ? previous : undefined;
}

/**
 * A fire time that passed without a fire and is too old to run late (past the starting deadline):
 * skipped, and only reported (schedule.missed).
 */
export function skippedFire(
  schedule: Pick<ObservedSchedule, 'spec' | 'lastFireTime'>,
  now: Date,
): Date | undefined {
  if (schedule.spec.suspend || schedule.spec.at !== undefined || schedule.lastFireTime === undefined)
    return undefined;
  const previous = previousFireTime(schedule.spec, now);
  if (!previous || previous.getTime() <= Date.parse(schedule.lastFireTime)) return undefined;
  return missedFire(schedule, now) === undefined ? previous : undefined;
}

/** Already fired for this due time (by us, or by the previous leader before it died). */
export const alreadyFired = (schedule: Pick<ObservedSchedule, 'lastFireTime'>, due: Date): boolean =>
  schedule.lastFireTime !== undefined && Date.parse(schedule.lastFireTime) >= due.getTime();

export interface ScheduleClockOptions {
  /** A fire became due (on time, or a missed one): the loop queues it. */
  onDue: (name: string, due: Date) => void;
  /** A fire time passed while nothing fired: `late` when it is fired now, else it is skipped. */
  onMissed?: (name: string, due: Date, late: boolean) => void;
  now?: () => Date;
}

interface Entry {
  key: string;
  timer?: NodeJS.Timeout;
  next?: Date;
}

export class ScheduleClock {
  private readonly entries = new Map<string, Entry>();
  /** `name@time` of missed fires already reported (bounded by the schedules' fire times seen). */
  private readonly reported = new Set<string>();
  private readonly now: () => Date;

  constructor(private readonly options: ScheduleClockOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /** Keeps one timer per live, unsuspended schedule; reports missed fires. */
  update(schedules: readonly ObservedSchedule[]): void {
    const seen = new Set<string>();
    const now = this.now();
    for (const schedule of schedules) {
      if (schedule.spec.suspend || schedule.paused) continue;
      seen.add(schedule.name);
      const key = JSON.stringify([
        schedule.spec.cron,
        schedule.spec.every,
        schedule.spec.at,
        schedule.spec.timeZone,
      ]);
      const existing = this.entries.get(schedule.name);
      if (!existing || existing.key !== key) {
        if (existing) clearTimeout(existing.timer);
        const entry: Entry = { key };
        this.entries.set(schedule.name, entry);
        this.arm(schedule.name, schedule.spec, entry, now);
      }
      const missed = missedFire(schedule, now);
      const skipped = missed ? undefined : skippedFire(schedule, now);
      const report = missed ?? skipped;
      // Each missed time is reported once per process: a skipped one stays "missed" on every sync.
      if (report && !this.reported.has(`${schedule.name}@${report.toISOString()}`)) {
        this.reported.add(`${schedule.name}@${report.toISOString()}`);
        this.options.onMissed?.(schedule.name, report, missed !== undefined);
      }
      if (missed) this.options.onDue(schedule.name, missed);
    }
    for (const [name, entry] of this.entries) {
      if (!seen.has(name)) {
        clearTimeout(entry.timer);
        this.entries.delete(name);
      }
    }
  }

  /** Next fire times, for logs and tests. */
  nextFires(): Record<string, string | undefined> {
    return Object.fromEntries([...this.entries].map(([name, e]) => [name, e.next?.toISOString()]));
  }

  private arm(name: string, spec: ScheduleSpec, entry: Entry, from: Date): void {
    const next = nextFireTime(spec, from);
    entry.next = next;
    if (!next) return;
    const wake = () => {
      if (this.entries.get(name) !== entry) return;
      const now = this.now();
      if (now.getTime() >= next.getTime()) {
        this.options.onDue(name, next);
        this.arm(name, spec, entry, now);
      } else {
        entry.timer = setTimeout(wake, Math.min(MAX_TIMER_MS, next.getTime() - now.getTime()));
        entry.timer.unref();
      }
    };
    entry.timer = setTimeout(wake, Math.min(MAX_TIMER_MS, Math.max(0, next.getTime() - from.getTime())));
    entry.timer.unref();
  }

  stop(): void {
    for (const entry of this.entries.values()) clearTimeout(entry.timer);
    this.entries.clear();
  }
}
