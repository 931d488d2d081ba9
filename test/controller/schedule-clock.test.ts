import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ObservedSchedule } from '../../providers/provider.js';
import type { ScheduleSpec } from '../../resources/schedule.js';
import {
  alreadyFired,
  missedFire,
  skippedFire,
  previousFireTime,
  ScheduleClock,
} from '../../controller/loop/schedule-clock.js';

const spec = (over: Partial<ScheduleSpec> = {}): ScheduleSpec => ({
  trainingRun: 'mpg-mlp',
  cron: '0 6 * * 1', // Mondays 06:00 Warsaw = 05:00 UTC in winter
  timeZone: 'Europe/Warsaw',
  suspend: false,
  concurrencyPolicy: 'Forbid',
  startingDeadlineSeconds: 3600,
  history: { successful: 5, failed: 3 },
  ...over,
});

const schedule = (
  over: Partial<ObservedSchedule> = {},
  specOver: Partial<ScheduleSpec> = {},
): ObservedSchedule => ({
  name: 'weekly',
  specHash: 'h',
  spec: spec(specOver),
  annotations: {},
  paused: false,
  ...over,
});

afterEach(() => {
  vi.useRealTimers();
});

describe('fire times', () => {
  it('previousFireTime is the latest fire at or before now, in the schedule zone', () => {
    expect(previousFireTime(spec(), new Date('2026-11-16T05:00:00Z'))?.toISOString()).toBe(
      '2026-11-16T05:00:00.000Z',
    );
    expect(previousFireTime(spec(), new Date('2026-11-16T04:59:59Z'))?.toISOString()).toBe(
      '2026-11-09T05:00:00.000Z',
    );
    expect(
      previousFireTime(
        spec({ timeZone: 'America/New_York' }),
        new Date('2026-11-16T12:00:00Z'),
      )?.toISOString(),
    ).toBe('2026-11-16T11:00:00.000Z');
  });

  it('fires at most one missed run, the latest, within startingDeadlineSeconds', () => {
    const lastFireTime = '2026-11-02T05:00:01Z';
    // Down over two Mondays, back 20 min after the second: only the latest is fired late.
    expect(missedFire(schedule({ lastFireTime }), new Date('2026-11-16T05:20:00Z'))?.toISOString()).toBe(
      '2026-11-16T05:00:00.000Z',
    );
    // Back two hours later: past the one-hour deadline, skipped.
    expect(missedFire(schedule({ lastFireTime }), new Date('2026-11-16T07:00:00Z'))).toBeUndefined();
    // Nothing missed.
    expect(
      missedFire(schedule({ lastFireTime: '2026-11-16T05:00:00Z' }), new Date('2026-11-16T05:20:00Z')),
    ).toBeUndefined();
    // Never fired: nothing to catch up on; suspended: never.
    expect(missedFire(schedule(), new Date('2026-11-16T05:20:00Z'))).toBeUndefined();
    expect(
      missedFire(schedule({ lastFireTime }, { suspend: true }), new Date('2026-11-16T05:20:00Z')),
    ).toBeUndefined();
  });

  it('a fire is done once per due time', () => {
    const due = new Date('2026-11-16T05:00:00Z');
    expect(alreadyFired({ lastFireTime: '2026-11-16T05:00:00.120Z' }, due)).toBe(true);
    expect(alreadyFired({ lastFireTime: '2026-11-09T05:00:00.120Z' }, due)).toBe(false);
    expect(alreadyFired({}, due)).toBe(false);
  });
});

describe('ScheduleClock', () => {
  it('wakes at the next fire time and re-arms for the following one', () => {
    vi.useFakeTimers({ now: new Date('2026-11-16T04:59:00Z') });
    const due: string[] = [];
    const clock = new ScheduleClock({ onDue: (name, at) => due.push(`${name}@${at.toISOString()}`) });
    clock.update([schedule({ lastFireTime: '2026-11-09T05:00:00Z' })]);
    expect(clock.nextFires()).toEqual({ weekly: '2026-11-16T05:00:00.000Z' });
    vi.advanceTimersByTime(59_000);
    expect(due).toEqual([]);
    vi.advanceTimersByTime(1_000);
    expect(due).toEqual(['weekly@2026-11-16T05:00:00.000Z']);
    expect(clock.nextFires()).toEqual({ weekly: '2026-11-23T05:00:00.000Z' });
    clock.stop();
  });

  it('reports a missed fire on update; drops deleted and suspended schedules', () => {
    vi.useFakeTimers({ now: new Date('2026-11-16T05:10:00Z') });
    const due: string[] = [];
    const clock = new ScheduleClock({ onDue: (name, at) => due.push(`${name}@${at.toISOString()}`) });
    clock.update([
      schedule({ lastFireTime: '2026-11-09T05:00:00Z' }),
      schedule({ name: 'paused' }, { suspend: true }),
    ]);
    expect(due).toEqual(['weekly@2026-11-16T05:00:00.000Z']);
    expect(Object.keys(clock.nextFires())).toEqual(['weekly']);
    clock.update([]);
    expect(clock.nextFires()).toEqual({});
    clock.stop();
  });
});

describe('a one-off schedule (spec.at)', () => {
  // 2026-12-24 06:00 in Warsaw (CET) is 05:00 UTC.
  const once = (over: Partial<ObservedSchedule> = {}, specOver: Partial<ScheduleSpec> = {}) =>
    schedule({ name: 'xmas', ...over }, { cron: undefined, at: '2026-12-24T06:00', ...specOver });
  const AT = '2026-12-24T05:00:00.000Z';

  it('fires at its instant and never again, across a restart', () => {
    vi.useFakeTimers({ now: new Date('2026-12-24T04:00:00Z') });
    const due: string[] = [];
    const onDue = (name: string, at: Date) => due.push(`${name}@${at.toISOString()}`);
    const clock = new ScheduleClock({ onDue });
    clock.update([once()]);
    expect(clock.nextFires()).toEqual({ xmas: AT });
    vi.advanceTimersByTime(3_599_999);
    expect(due).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(due).toEqual([`xmas@${AT}`]);
    expect(clock.nextFires()).toEqual({ xmas: undefined });
    // The fire is recorded; a year of timers and syncs later, nothing more.
    const fired = once({ lastFireTime: '2026-12-24T05:00:00.200Z' });
    clock.update([fired]);
    vi.advanceTimersByTime(366 * 86_400_000);
    clock.update([fired]);
    expect(due).toHaveLength(1);
    clock.stop();
    // A new leader (or a restart) right after the fire: done, nothing due, no timer.
    vi.setSystemTime(new Date('2026-12-24T05:10:00Z'));
    const restarted = new ScheduleClock({ onDue });
    restarted.update([fired]);
    expect(restarted.nextFires()).toEqual({ xmas: undefined });
    expect(due).toHaveLength(1);
    expect(alreadyFired(fired, new Date(AT))).toBe(true);
    restarted.stop();
  });

  it('a missed instant is fired late within startingDeadlineSeconds, even never having fired', () => {
    expect(missedFire(once(), new Date('2026-12-24T05:20:00Z'))?.toISOString()).toBe(AT);
    expect(missedFire(once(), new Date('2026-12-24T06:00:01Z'))).toBeUndefined();
    expect(missedFire(once({}, { suspend: true }), new Date('2026-12-24T05:20:00Z'))).toBeUndefined();
    expect(
      missedFire(once({ lastFireTime: '2026-12-24T05:00:01Z' }), new Date('2026-12-24T05:20:00Z')),
    ).toBeUndefined();
    expect(previousFireTime(once().spec, new Date('2027-06-01T00:00:00Z'))?.toISOString()).toBe(AT);
    expect(previousFireTime(once().spec, new Date('2026-12-24T04:59:59Z'))).toBeUndefined();
  });
});

describe('missed fires reported (schedule.missed)', () => {
  it('reports a fire run late and one skipped past its deadline, each once', () => {
    const lastFireTime = '2026-11-02T05:00:01Z';
    expect(skippedFire(schedule({ lastFireTime }), new Date('2026-11-16T05:20:00Z'))).toBeUndefined();
    expect(skippedFire(schedule({ lastFireTime }), new Date('2026-11-16T07:00:00Z'))?.toISOString()).toBe(
      '2026-11-16T05:00:00.000Z',
    );
    expect(
      skippedFire(schedule({ lastFireTime: '2026-11-16T05:00:00Z' }), new Date('2026-11-16T07:00:00Z')),
    ).toBeUndefined();

    vi.useFakeTimers({ now: new Date('2026-11-16T07:00:00Z') });
    const missed: string[] = [];
    const clock = new ScheduleClock({
      onDue: () => {},
      onMissed: (name, at, late) => missed.push(`${name}@${at.toISOString()} ${late ? 'late' : 'skipped'}`),
    });
    clock.update([schedule({ lastFireTime })]);
    clock.update([schedule({ lastFireTime })]);
    expect(missed).toEqual(['weekly@2026-11-16T05:00:00.000Z skipped']);
    clock.stop();

    vi.setSystemTime(new Date('2026-11-16T05:20:00Z'));
    const late: string[] = [];
    const again = new ScheduleClock({
      onDue: () => {},
      onMissed: (name, at, l) => late.push(`${name} ${String(l)}`),
    });
    again.update([schedule({ lastFireTime })]);
    expect(late).toEqual(['weekly true']);
    again.stop();
  });
});
