/** Fire times in the zone a schedule's cron is written in: what its author expects to read. */
import { wallClock } from '../../resources/local-date-time.js';

/** `2026-11-23 06:00` in `timeZone`; throws a RangeError for a zone the runtime does not know. */
export function zonedMinute(date: Date, timeZone: string): string {
  const w = wallClock(date, timeZone);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${String(w.year).padStart(4, '0')}-${two(w.month)}-${two(w.day)} ${two(w.hour)}:${two(w.minute)}`;
}

/** `2025-06-02 06:00 Europe/Warsaw`: a fire time reads best in the zone its cron is written in. */
export function formatInZone(date: Date, timeZone: string): string {
  try {
    return `${zonedMinute(date, timeZone)} ${timeZone}`;
  } catch {
    return date.toISOString();
  }
}
