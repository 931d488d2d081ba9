/**
 * `nextCronFire` (croner on the zone's fixed offset, zoned only near an offset change) against
 * croner with the zone itself: the same next fire from many starting instants, for crons whose
 * next fire is minutes, weeks or years away, across DST changes, in zones with half-hour DST
 * (Lord Howe) and minute offsets (Kolkata). The plan's "next run" and the dashboard use it.
 */
import { Cron } from 'croner';
import { describe, expect, it } from 'vitest';
import { nextCronFire } from '../../resources/cron-fires.js';

const reference = (cron: string, timeZone: string, after: Date): string | undefined =>
  new Cron(cron, { timezone: timeZone, paused: true }).nextRun(after)?.toISOString();

const CRONS = [
  '0 6 * * 1',
  '30 2 * * *',
  '*/20 1-3 * * *',
  '0 1 1 7 *', // yearly, in summer time: found from winter across a change
  '30 2 29 3 *', // yearly, inside the EU spring gap some years
  '0 0 29 2 *', // leap day: years away
  '15 1 * 10 0', // October Sundays: around the EU autumn change
];
const ZONES = ['Europe/Warsaw', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'UTC'];

/** Every ~18 days and 7 hours over two years, plus instants next to the 2026 EU and US changes. */
const STARTS = [
  ...Array.from(
    { length: 40 },
    (_, i) => new Date(Date.UTC(2026, 0, 1) + i * (18 * 86_400_000 + 7 * 3_600_000)),
  ),
  new Date('2026-03-29T00:59:59.500Z'),
  new Date('2026-03-29T01:00:00Z'),
  new Date('2026-10-25T00:30:00Z'),
  new Date('2026-10-25T01:30:00Z'),
  new Date('2026-03-08T06:59:00Z'),
  new Date('2026-11-01T05:30:00Z'),
];

describe('nextCronFire', () => {
  for (const zone of ZONES) {
    it(`finds croner's zoned next fire in ${zone}`, () => {
      for (const cron of CRONS) {
        for (const after of STARTS) {
          expect({ cron, after, next: nextCronFire(cron, zone, after)?.toISOString() }).toEqual({
            cron,
            after,
            next: reference(cron, zone, after),
          });
        }
      }
    });
  }

  it('is undefined for a cron that never fires, and throws for an unknown zone', () => {
    expect(nextCronFire('0 0 30 2 *', 'Europe/Warsaw', new Date('2026-01-01T00:00:00Z'))).toBeUndefined();
    expect(() => nextCronFire('0 6 * * 1', 'Mars/Olympus', new Date())).toThrow();
  });
});
