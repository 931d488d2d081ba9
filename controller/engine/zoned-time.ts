/** Fire times in the zone a schedule's cron is written in: what its author expects to read. */

/** Creating a formatter is far dearer than using one; zones are few. */
const formats = new Map<string, Intl.DateTimeFormat>();

/** `2026-11-23 06:00` in `timeZone`; throws a RangeError for a zone the runtime does not know. */
export function zonedMinute(date: Date, timeZone: string): string {
  let format = formats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formats.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(date).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}`;
}

/** `2025-06-02 06:00 Europe/Warsaw`: a fire time reads best in the zone its cron is written in. */
export function formatInZone(date: Date, timeZone: string): string {
  try {
    return `${zonedMinute(date, timeZone)} ${timeZone}`;
  } catch {
    return date.toISOString();
  }
}
