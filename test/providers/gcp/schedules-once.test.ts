/**
 * A one-off schedule on gcp: a Cloud Scheduler job with the yearly cron of its local time, in its
 * zone, paused by the next put once its instant has passed (fired, or created too late); a date
 * more than a year ahead is refused by the offline checks. Against the fake, with the provider's
 * clock set by the test (the fake stamps fires with the real time).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateGcp } from '../../../providers/gcp/validate.js';
import type { PutScheduleRequest, ValidateResource } from '../../../providers/provider.js';
import type { ScheduleSpec } from '../../../resources/schedule.js';
import { harness, type Harness } from './helpers.js';
import { gcsRunSpec } from './run-fixtures.js';

let h: Harness;
let now = new Date();
beforeAll(async () => {
  h = await harness({}, { settings: { pollMs: 20, revisionReadyTimeoutMs: 10_000, now: () => now } });
});
afterAll(async () => {
  await h?.close();
});

const spec = (at: string): ScheduleSpec => ({
  trainingRun: 'mpg-mlp',
  at,
  timeZone: 'UTC',
  suspend: false,
  concurrencyPolicy: 'Forbid',
  startingDeadlineSeconds: 3600,
  history: { successful: 5, failed: 3 },
});

const request = (name: string, at: string): PutScheduleRequest => ({
  name,
  spec: spec(at),
  specHash: '5'.repeat(64),
  template: { spec: gcsRunSpec, specHash: '6'.repeat(64), manifestPath: 'training.yaml' },
  labels: {},
  annotations: {},
});

/** `2026-12-05T00:16` for a UTC instant: the local date-time of the zone the specs use. */
const localMinute = (d: Date) => d.toISOString().slice(0, 16);

const listed = async (name: string) => {
  const found = (await h.provider.schedules.list(h.ctx)).items.find((s) => s.name === name);
  if (!found) throw new Error(`no schedule ${name}`);
  return found;
};

describe('a one-off schedule on Cloud Scheduler', () => {
  it('is a yearly cron job, live until its fire, then paused by the next put', async () => {
    // The instant is the start of the current real minute, so the fake's fire stamp is after it.
    const instant = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    const at = localMinute(instant);
    now = new Date(instant.getTime() - 86_400_000);
    expect((await h.provider.schedules.put(h.ctx, request('once', at))).diagnostics).toEqual([]);
    const job = h.fake.schedulerJobs().find((j) => String(j.name).endsWith('/mlform-demo_once'));
    expect(job).toMatchObject({
      schedule: `${instant.getUTCMinutes()} ${instant.getUTCHours()} ${instant.getUTCDate()} ${instant.getUTCMonth() + 1} *`,
      timeZone: 'UTC',
      state: 'ENABLED',
    });
    expect(await listed('once')).toMatchObject({ paused: false, spec: { at } });

    // Cloud Scheduler fires it at its instant; the provider reports the fire.
    await h.fake.fireJob(String(job?.name));
    now = new Date();
    const fired = await listed('once');
    expect(fired.paused).toBe(false);
    expect(Date.parse(fired.lastFireTime ?? '')).toBeGreaterThanOrEqual(instant.getTime());

    // The apply that follows (plan: `fired once: pause`) puts it again: paused, never to fire again.
    expect((await h.provider.schedules.put(h.ctx, request('once', at))).diagnostics).toEqual([]);
    expect(await listed('once')).toMatchObject({ paused: true });
    expect(h.fake.schedulerJobs().find((j) => j.name === job?.name)?.state).toBe('PAUSED');
  });

  it('is created paused when its instant has already passed (Cloud Scheduler fires nothing late)', async () => {
    now = new Date('2026-06-01T00:00:00Z');
    expect((await h.provider.schedules.put(h.ctx, request('late', '2026-05-31T23:00'))).diagnostics).toEqual(
      [],
    );
    expect(await listed('late')).toMatchObject({ paused: true });
  });

  it('validate refuses a date more than a year ahead: the cron has no year', () => {
    const resource = (at: string): ValidateResource => ({
      kind: 'Schedule',
      name: 'far',
      address: 'Schedule/far',
      manifest: { spec: spec(at), metadata: {} },
      source: { file: 'schedule.yaml', line: 1, col: 1 },
    });
    const settings = {
      trainingRegion: 'us-central1',
      region: 'us-central1',
      now: () => new Date('2026-12-05T00:00:00Z'),
    };
    const far = validateGcp(settings, [resource('2028-03-01T06:00')], {});
    expect(far.map((d) => [d.code, d.path, d.message, d.hint])).toEqual([
      [
        'gcp-schedule-at-year',
        ['spec', 'at'],
        "spec.at: Cloud Scheduler's cron has no year: the job for 2028-03-01T06:00 would first fire at 2027-03-01T06:00",
        'apply it less than a year before its date',
      ],
    ]);
    expect(validateGcp(settings, [resource('2027-03-01T06:00'), resource('2020-01-01T00:00')], {})).toEqual(
      [],
    );
  });
});
