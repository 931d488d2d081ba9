/**
 * The fire times of a schedule within a window, computed as the controller's clock and Cloud
 * Scheduler fire it: its cron (or `every`) in its own time zone, or its one `at` instant, each
 * also as the wall-clock time in that zone.
 */
import { Cron } from 'croner';
import { atInstant, normalizeScheduleSpec, type ScheduleSpec } from '../../../resources/schedule.js';
import { formatInZone } from '../../engine/status.js';

/** Per schedule and window: an every-minute cron over 31 days would otherwise be 44,640 entries. */
export const MAX_FIRES = 200;

export function firesBetween(spec: ScheduleSpec, from: Date, to: Date): { at: string; local: string }[] {
  const instants: Date[] = [];
  if (spec.at !== undefined) {
    const at = atInstant(spec);
    if (at && at.getTime() >= from.getTime() && at.getTime() < to.getTime()) instants.push(at);
  } else {
    const cron = normalizeScheduleSpec(spec).cron;
    if (cron !== undefined) {
      try {
        const job = new Cron(cron, { timezone: spec.timeZone, paused: true });
        // croner's "after" is exclusive: start a millisecond early so a fire at `from` counts.
        let after = new Date(from.getTime() - 1);
        while (instants.length < MAX_FIRES) {
          const next = job.nextRun(after);
          if (!next || next.getTime() >= to.getTime()) break;
          instants.push(next);
          after = next;
        }
      } catch {
        // An expression the manifest check let through but croner refuses: no fire times to show.
      }
    }
  }
  return instants.map((d) => ({ at: d.toISOString(), local: formatInZone(d, spec.timeZone) }));
}
