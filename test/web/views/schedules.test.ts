/**
 * The schedules document: fire times in the schedule's own zone across a DST change, a one-off
 * `at`, the cap on fires, suspension, the runs each schedule started, paging and the 404.
 */
import { describe, expect, it } from 'vitest';
import { createViewBuilder, decodeCursor } from '../../../controller/web/views/index.js';
import { MAX_FIRES } from '../../../controller/web/views/schedule-fires.js';
import type { ApiRoute } from '../../../controller/web/api.js';
import { fakeIO, observed, okDoc, quickstart, run, schedule, snapshotOf } from './fixture.js';

type Route = Extract<ApiRoute, { view: 'schedules' }>;
const route = (over: Partial<Route> = {}): Route => ({
  view: 'schedules',
  days: 7,
  limit: 100,
  offset: 0,
  ...over,
});

async function setUp() {
  const desired = await quickstart();
  const base = schedule(desired);
  const state = observed({
    schedules: [
      schedule(desired, { lastFireTime: '2026-03-09T05:00:00.000Z' }),
      {
        ...base,
        name: 'once',
        spec: { ...base.spec, cron: undefined, at: '2026-03-20T06:00', timeZone: 'America/New_York' },
      },
      { ...base, name: 'busy', spec: { ...base.spec, cron: '* * * * *', timeZone: 'UTC', suspend: true } },
    ],
    runs: Array.from({ length: 12 }, (_, i) =>
      run({
        number: i + 1,
        schedule: 'mpg-weekly',
        createdAt: new Date(Date.UTC(2026, 0, 5 + 7 * i, 5)).toISOString(),
      }),
    ),
  });
  return snapshotOf(desired, state);
}

describe('schedules', () => {
  it('computes fire times in the schedule zone across the spring DST change', async () => {
    const doc = okDoc(
      'schedules',
      await createViewBuilder()(
        route({ name: 'mpg-weekly', from: new Date('2026-03-16T00:00:00Z'), days: 28 }),
        await setUp(),
        fakeIO(),
      ),
    );
    expect(doc.window).toEqual({ from: '2026-03-16T00:00:00.000Z', to: '2026-04-13T00:00:00.000Z' });
    const [weekly] = doc.items;
    // Mondays 06:00 in Warsaw: 05:00Z in winter time, 04:00Z from 29 March (summer time).
    expect(weekly.nextFires).toEqual([
      { at: '2026-03-16T05:00:00.000Z', local: '2026-03-16 06:00 Europe/Warsaw' },
      { at: '2026-03-23T05:00:00.000Z', local: '2026-03-23 06:00 Europe/Warsaw' },
      { at: '2026-03-30T04:00:00.000Z', local: '2026-03-30 06:00 Europe/Warsaw' },
      { at: '2026-04-06T04:00:00.000Z', local: '2026-04-06 06:00 Europe/Warsaw' },
    ]);
    expect(weekly).toMatchObject({
      cron: '0 6 * * 1',
      at: null,
      timeZone: 'Europe/Warsaw',
      suspended: false,
      concurrencyPolicy: 'Forbid',
      template: 'mpg-mlp',
      lastFireTime: '2026-03-23T05:00:00.000Z',
    });
    expect(weekly.resource.address).toBe('Schedule/mpg-weekly');
    expect(weekly.runs.map((r) => r.number)).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3]);
    expect(weekly.runs[0].schedule).toBe('mpg-weekly');
  });

  it('fires a one-off once, caps busy schedules and marks suspended ones', async () => {
    const doc = okDoc(
      'schedules',
      await createViewBuilder()(route({ from: new Date('2026-03-16T00:00:00Z') }), await setUp(), fakeIO()),
    );
    expect(doc.items.map((i) => i.resource.name)).toEqual(['busy', 'mpg-weekly', 'once']);
    const byName = Object.fromEntries(doc.items.map((i) => [i.resource.name, i]));
    // 06:00 in New York on 20 March is 10:00Z (EDT since 8 March).
    expect(byName.once.nextFires).toEqual([
      { at: '2026-03-20T10:00:00.000Z', local: '2026-03-20 06:00 America/New_York' },
    ]);
    expect(byName.once).toMatchObject({ cron: null, at: '2026-03-20T06:00' });
    expect(byName.busy.suspended).toBe(true);
    expect(byName.busy.nextFires).toHaveLength(MAX_FIRES);
    expect(byName.busy.nextFires[0].at).toBe('2026-03-16T00:00:00.000Z');
    // Outside the window: nothing.
    const later = okDoc(
      'schedules',
      await createViewBuilder()(
        route({ name: 'once', from: new Date('2026-03-21T00:00:00Z') }),
        await setUp(),
        fakeIO(),
      ),
    );
    expect(later.items[0].nextFires).toEqual([]);
  });

  it('pages by name and answers 404 for an unknown schedule', async () => {
    const snapshot = await setUp();
    const build = createViewBuilder();
    const first = okDoc('schedules', await build(route({ limit: 2 }), snapshot, fakeIO()));
    expect(first.items.map((i) => i.resource.name)).toEqual(['busy', 'mpg-weekly']);
    expect(first.matched).toBe(3);
    const second = okDoc(
      'schedules',
      await build(route({ limit: 2, offset: decodeCursor(first.nextCursor ?? '') }), snapshot, fakeIO()),
    );
    expect(second.items.map((i) => i.resource.name)).toEqual(['once']);
    expect(second.nextCursor).toBeNull();
    expect(await build(route({ name: 'mpg-weekyl' }), snapshot, fakeIO())).toEqual({
      status: 404,
      error: { error: 'Schedule "mpg-weekyl" is not in this stack', hint: 'did you mean "mpg-weekly"?' },
    });
  });
});
