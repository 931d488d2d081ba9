import { describe, expect, it } from 'vitest';
import { instantOf, parseLocalDateTime } from '../../resources/local-date-time.js';
import {
  atInstant,
  checkScheduleSpec,
  nextFireTime,
  onceState,
  type ScheduleSpec,
} from '../../resources/schedule.js';
import { specHash } from '../../resources/spec-hash.js';
import { firesPerHour } from '../../controller/engine/policy.js';

const once = (at: string, timeZone = 'Europe/Warsaw', extra: Partial<ScheduleSpec> = {}): ScheduleSpec => ({
  trainingRun: 'train',
  at,
  timeZone,
  suspend: false,
  concurrencyPolicy: 'Forbid',
  startingDeadlineSeconds: 3600,
  history: { successful: 5, failed: 3 },
  ...extra,
});

describe('Schedule.spec.at', () => {
  it('reads the local date-time in its zone, winter and summer offsets alike', () => {
    expect(atInstant(once('2026-12-24T06:00'))?.toISOString()).toBe('2026-12-24T05:00:00.000Z');
    expect(atInstant(once('2027-07-01T06:00:30'))?.toISOString()).toBe('2027-07-01T04:00:30.000Z');
    expect(atInstant(once('2026-12-24T06:00', 'America/New_York'))?.toISOString()).toBe(
      '2026-12-24T11:00:00.000Z',
    );
    expect(atInstant(once('2026-12-24T06:00', 'UTC'))?.toISOString()).toBe('2026-12-24T06:00:00.000Z');
  });

  it('has no instant in a spring-forward gap, and the first of a fall-back repeat', () => {
    const gap = parseLocalDateTime('2027-03-28T02:30');
    expect(gap.status === 'ok' && instantOf(gap.value, 'Europe/Warsaw')).toBeUndefined();
    // 02:30 happens twice on 2026-10-25 in Warsaw (CEST, then CET): the first is 00:30Z.
    expect(atInstant(once('2026-10-25T02:30'))?.toISOString()).toBe('2026-10-25T00:30:00.000Z');
  });

  it('fires once: nextFireTime is the instant while it is ahead, then undefined', () => {
    const spec = once('2026-12-24T06:00');
    expect(nextFireTime(spec, new Date('2026-12-01T00:00:00Z'))?.toISOString()).toBe(
      '2026-12-24T05:00:00.000Z',
    );
    expect(nextFireTime(spec, new Date('2026-12-24T05:00:00Z'))).toBeUndefined();
    expect(nextFireTime(spec, new Date('2027-01-01T00:00:00Z'))).toBeUndefined();
    expect(nextFireTime({ ...spec, suspend: true }, new Date('2026-12-01T00:00:00Z'))).toBeUndefined();
  });

  it('is pending, due within the starting deadline, then done if it fired or missed if not', () => {
    const spec = once('2026-12-24T06:00');
    const at = Date.parse('2026-12-24T05:00:00Z');
    const state = (lastFire: string | undefined, nowMs: number) =>
      onceState(spec, lastFire, new Date(nowMs))?.state;
    expect(state(undefined, at - 1)).toBe('pending');
    expect(state(undefined, at + 3600_000)).toBe('due');
    expect(state(undefined, at + 3600_001)).toBe('missed');
    expect(state('2026-12-24T05:00:01.000Z', at + 10)).toBe('done');
    // A manual trigger before the instant does not count as the one fire.
    expect(state('2026-12-20T00:00:00.000Z', at - 1)).toBe('pending');
    expect(onceState({ ...spec, at: undefined }, undefined, new Date())).toBeUndefined();
  });

  it('accepts a past instant and hashes `at` as written', () => {
    expect(checkScheduleSpec(once('2020-01-01T00:00'))).toEqual([]);
    expect(checkScheduleSpec(once('2026-12-24T06:00:00'))).toEqual([]);
    expect(specHash(once('2026-12-24T06:00'))).not.toBe(specHash(once('2026-12-24T06:00:00')));
  });

  it('rejects seconds off the minute, and does not report a gap for an unknown zone twice', () => {
    expect(checkScheduleSpec(once('2026-12-24T06:00:30')).map((d) => d.message)).toEqual([
      '"2026-12-24T06:00:30" has seconds; schedules fire on the minute',
    ]);
    expect(checkScheduleSpec(once('2027-03-28T02:30', 'Europe/Warsw')).map((d) => d.code)).toEqual([
      'time-zone',
    ]);
    expect(checkScheduleSpec(once('2026-12-24 06:00')).map((d) => d.message)).toEqual([
      '"2026-12-24 06:00" is not a valid local date-time',
    ]);
    expect(checkScheduleSpec(once('2026-12-24T06:00Z')).map((d) => d.hint)).toEqual([
      'write local time, the zone is `timeZone`: e.g. "2026-12-24T06:00"',
    ]);
  });
});

describe('policies count a one-off', () => {
  it('as one fire an hour while it is ahead, none once past', () => {
    expect(firesPerHour(once('2999-12-24T06:00'))).toBe(1);
    expect(firesPerHour(once('2020-12-24T06:00'))).toBe(0);
  });
});
