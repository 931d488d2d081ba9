import { describe, expect, it } from 'vitest';
import { zonedMinute } from '../../controller/engine/zoned-time.js';
import { formatInZone } from '../../controller/engine/status.js';

describe('fire times in the schedule zone', () => {
  // 05:00 UTC on a November Monday: Warsaw is on CET (UTC+1), Kolkata on IST (UTC+5:30).
  const monday = new Date('2026-11-23T05:00:00Z');

  it("reads the minute in the schedule's own zone, 24-hour clock", () => {
    expect(zonedMinute(monday, 'Europe/Warsaw')).toBe('2026-11-23 06:00');
    expect(zonedMinute(monday, 'Asia/Kolkata')).toBe('2026-11-23 10:30');
    expect(zonedMinute(new Date('2026-11-23T23:59:00Z'), 'UTC')).toBe('2026-11-23 23:59');
    // Midnight is 00, not 24, and the date moves with the zone.
    expect(zonedMinute(new Date('2026-11-23T23:00:00Z'), 'Europe/Warsaw')).toBe('2026-11-24 00:00');
  });

  it('follows daylight saving time', () => {
    expect(zonedMinute(new Date('2026-07-01T05:00:00Z'), 'Europe/Warsaw')).toBe('2026-07-01 07:00');
  });

  it('status names the zone, and falls back to UTC ISO time for a zone the runtime does not know', () => {
    expect(formatInZone(monday, 'Europe/Warsaw')).toBe('2026-11-23 06:00 Europe/Warsaw');
    expect(() => zonedMinute(monday, 'Mars/Olympus_Mons')).toThrow(RangeError);
    expect(formatInZone(monday, 'Mars/Olympus_Mons')).toBe('2026-11-23T05:00:00.000Z');
  });
});
