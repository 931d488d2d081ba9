/**
 * `Schedule.spec.history` on gcp (providers/gcp/history.ts): after a fire, an apply of the schedule
 * or a listing under the apply lock, the schedule's finished runs beyond the limits are dropped
 * from observation (newest kept); a plan's listing (no lock) drops nothing, and run numbers are
 * never reused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Lease, ObservedRun } from '../../../providers/provider.js';
import { beyondHistory } from '../../../providers/gcp/history.js';
import type { ScheduleSpec } from '../../../resources/schedule.js';
import { harness, waitFor, type Harness } from './helpers.js';
import { gcsRunSpec, scheduleRequest } from './run-fixtures.js';

let h: Harness;
beforeAll(async () => {
  h = await harness({ jobTiming: { queuedMs: 5, pendingMs: 5, runningMs: 5 } });
});
afterAll(async () => {
  await h?.close();
});

const runSpec = gcsRunSpec;

const spec = {
  trainingRun: 'mpg-mlp',
  cron: '0 6 * * 1',
  timeZone: 'UTC',
  suspend: false,
  concurrencyPolicy: 'Forbid',
  history: { successful: 1, failed: 1 },
} as unknown as ScheduleSpec;

const numbers = async () =>
  (await h.provider.trainingRuns.list(h.ctx)).items.filter((r) => r.name === 'mpg-mlp').map((r) => r.number);

async function fire(number: number): Promise<void> {
  const fired = await h.provider.schedules.trigger(h.ctx, { name: 'weekly' });
  expect(fired.diagnostics).toEqual([]);
  expect(fired.run?.number).toBe(number);
  await waitFor(async () => {
    const runs = (await h.provider.trainingRuns.list(h.ctx)).items;
    return runs.find((r) => r.number === number && r.state === 'succeeded');
  });
}

describe('Schedule history on gcp', () => {
  it('keeps the newest finished runs of the schedule, under the lock only, and never reuses a number', async () => {
    const put = await h.provider.schedules.put(h.ctx, scheduleRequest('weekly', spec, runSpec));
    expect(put.diagnostics).toEqual([]);
    await fire(1);
    await fire(2);
    expect(await numbers()).toEqual([1, 2]);
    // A plan's listing (no lock) changes nothing, though #1 is beyond history.successful: 1.
    expect((await h.provider.schedules.list(h.ctx)).diagnostics).toEqual([]);
    expect(await numbers()).toEqual([1, 2]);

    // An apply or a controller sync observes under the lock: #1 goes.
    const lease = { holder: 'test', expiresAt: '' } as unknown as Lease;
    expect((await h.provider.schedules.list({ ...h.ctx, applyLock: lease })).diagnostics).toEqual([]);
    expect(await numbers()).toEqual([2]);
    // A fire applies the limits too (#2 goes once #3 has succeeded; the fake is fast, so it may
    // have by the time trigger returns, else the next listing under the lock drops it).
    await fire(3);
    expect((await h.provider.schedules.list({ ...h.ctx, applyLock: lease })).diagnostics).toEqual([]);
    expect(await numbers()).toEqual([3]);
    // The jobs stay in Vertex AI and keep their places in the numbering.
    expect(h.fake.customJobs()).toHaveLength(3);

    // Applying the schedule applies its limits; the name's highest number (#3) stays visible even
    // with successful: 0, so the engine never gives out a hidden number again.
    const zero = await h.provider.schedules.put(
      h.ctx,
      scheduleRequest('weekly', { ...spec, history: { successful: 0, failed: 1 } }, runSpec, '5'.repeat(64)),
    );
    expect(zero.diagnostics).toEqual([]);
    expect(await numbers()).toEqual([3]);
    // The fire drops #3 (no longer the highest) whether #4 is still running or done; #4 stays.
    await fire(4);
    expect(await numbers()).toEqual([4]);
  });

  it('beyondHistory: per state, newest kept, the highest number never', () => {
    const run = (number: number, state: ObservedRun['state'], schedule = 's'): ObservedRun =>
      ({ name: 't', number, state, schedule }) as ObservedRun;
    const runs = [
      run(1, 'failed'),
      run(2, 'succeeded'),
      run(3, 'cancelled'),
      run(4, 'succeeded', 'other'),
      run(5, 'succeeded'),
      run(6, 'running'),
      run(7, 'failed'),
    ];
    expect(beyondHistory(runs, 's', { successful: 1, failed: 1 }).map((r) => r.number)).toEqual([2, 3, 1]);
    expect(beyondHistory(runs, 's', { successful: 0, failed: 0 }).map((r) => r.number)).toEqual([5, 2, 3, 1]);
    // #7 is the name's highest number: kept even with failed: 0.
    expect(beyondHistory(runs.slice(0, 6), 's', { successful: 0, failed: 5 }).map((r) => r.number)).toEqual([
      5, 2,
    ]);
  });
});
