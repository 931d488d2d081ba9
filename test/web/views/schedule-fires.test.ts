/**
 * The fast fire-time path (croner with the zone's fixed offset between offset changes) against
 * croner with the zone itself, step by step, across spring and autumn changes, a half-hour DST
 * (Lord Howe), an offset with minutes (Kolkata) and times inside the skipped and repeated hours.
 */
import { Cron } from 'croner';
import { describe, expect, it } from 'vitest';
import { cronFires } from '../../../controller/web/views/schedule-fires.js';

function reference(cron: string, timeZone: string, after: Date, to: Date, max: number): string[] {
  const job = new Cron(cron, { timezone: timeZone, paused: true });
  const out: string[] = [];
  let cursor: Date | null = after;
  while (out.length < max) {
    cursor = job.nextRun(cursor);
    if (!cursor || cursor.getTime() >= to.getTime()) break;
    out.push(cursor.toISOString());
  }
  return out;
}

const CRONS = ['0 6 * * 1', '30 2 * * *', '0 * * * *', '*/20 1-3 * * *', '15 3 * * 0', '0 0 1 * *'];
const ZONES = ['Europe/Warsaw', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'UTC'];
// Two weeks from each start: US spring (8 Mar), EU spring (29 Mar) and Lord Howe autumn (5 Apr),
// Lord Howe spring (4 Oct), EU autumn (25 Oct) and US autumn (1 Nov).
const WINDOWS = [
  '2026-03-01T00:00:00Z',
  '2026-03-25T00:00:00Z',
  '2026-09-28T00:00:00Z',
  '2026-10-20T00:00:00Z',
];

describe('fire times on the fast path', () => {
  for (const zone of ZONES) {
    it(`match croner's zoned fires in ${zone}`, () => {
      for (const cron of CRONS) {
        for (const start of WINDOWS) {
          const after = new Date(start);
          const to = new Date(after.getTime() + 14 * 86_400_000);
          const fast = cronFires(cron, zone, after, to, 200).map((d) => d.toISOString());
          expect({ cron, start, fires: fast }).toEqual({
            cron,
            start,
            fires: reference(cron, zone, after, to, 200),
          });
        }
      }
    });
  }
});
