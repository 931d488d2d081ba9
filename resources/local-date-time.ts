/**
 * Local date-times (`2026-12-24T06:00`, seconds optional, no offset) read in an IANA zone: the
 * instant of a one-off Schedule (`spec.at`). Written without an offset so the zone is said once,
 * in `timeZone`, as for a cron.
 */

export interface LocalDateTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;
/** What an RFC 3339 instant adds to a local date-time: `Z` or an offset. */
const WITH_OFFSET = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$/;

export type ParsedLocal =
  { status: 'ok'; value: LocalDateTime } | { status: 'offset'; local: string } | { status: 'invalid' };

export function parseLocalDateTime(text: string): ParsedLocal {
  const offset = WITH_OFFSET.exec(text);
  if (offset) return { status: 'offset', local: offset[1].replace(/\.\d+$/, '') };
  const m = LOCAL.exec(text);
  if (!m) return { status: 'invalid' };
  const [year, month, day, hour, minute, second] = m.slice(1).map((p) => (p === undefined ? 0 : Number(p)));
  const value = { year, month, day, hour, minute, second };
  // Date.UTC rolls 30 February over into March: a date that does not round-trip does not exist.
  const utc = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  const real =
    utc.getUTCFullYear() === year &&
    utc.getUTCMonth() === month - 1 &&
    utc.getUTCDate() === day &&
    utc.getUTCHours() === hour &&
    utc.getUTCMinutes() === minute &&
    utc.getUTCSeconds() === second;
  return real ? { status: 'ok', value } : { status: 'invalid' };
}

/** Creating a formatter is far dearer than using one; zones are few. */
const formats = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock reading of `date` in `timeZone`; throws a RangeError for an unknown zone. */
export function wallClock(date: Date, timeZone: string): LocalDateTime {
  let format = formats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      hourCycle: 'h23',
    });
    formats.set(timeZone, format);
  }
  const p = Object.fromEntries(format.formatToParts(date).map((x) => [x.type, Number(x.value)]));
  return { year: p.year, month: p.month, day: p.day, hour: p.hour, minute: p.minute, second: p.second };
}

/** The wall-clock reading of `epochMs` in `timeZone`, as if it were UTC (epoch ms). */
function wallClockMs(epochMs: number, timeZone: string): number {
  const w = wallClock(new Date(epochMs), timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
}

/**
 * The instant a local date-time names in `timeZone`; undefined when it falls in a gap (spring
 * forward). A repeated wall-clock time (fall back) is its first occurrence, as cron fires it.
 * Throws a RangeError for a zone the runtime does not know.
 */
export function instantOf(local: LocalDateTime, timeZone: string): Date | undefined {
  const wall = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second);
  // Every offset in use is within ±18 h; the ones around this date are found from the wall time.
  const offsets = new Set<number>();
  for (const probe of [wall - 86_400_000, wall, wall + 86_400_000]) {
    offsets.add(wallClockMs(probe, timeZone) - probe);
  }
  const candidates = [...offsets]
    .map((offset) => wall - offset)
    .filter((instant) => wallClockMs(instant, timeZone) === wall)
    .sort((a, b) => a - b);
  return candidates.length > 0 ? new Date(candidates[0]) : undefined;
}
