/**
 * A local one-off schedule reads as paused once its fire is over (missed here; done is the same
 * test of `lastFireTime`, see test/resources/schedule-at.test.ts), so the clock arms nothing for it
 * and a plan sees no drift.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PutScheduleRequest } from '../../../providers/provider.js';
import { IRIS_MANIFEST, irisSpec, tempProject, type Project } from './helpers.js';

let project: Project;
let now = new Date('2026-12-24T04:00:00Z');

beforeAll(async () => {
  project = await tempProject({ now: () => now });
});

afterAll(async () => {
  await project?.cleanup();
});

const request: PutScheduleRequest = {
  name: 'xmas',
  spec: {
    trainingRun: 'iris',
    at: '2026-12-24T06:00',
    timeZone: 'Europe/Warsaw',
    suspend: false,
    concurrencyPolicy: 'Forbid',
    startingDeadlineSeconds: 600,
    history: { successful: 5, failed: 3 },
  },
  specHash: 'once',
  template: { spec: irisSpec(1), specHash: 'template-hash', manifestPath: IRIS_MANIFEST },
  labels: {},
  annotations: {},
};

describe('a local one-off schedule', () => {
  it('is live until its instant and deadline pass unfired, then paused (missed)', async () => {
    const { provider, ctx } = project;
    expect((await provider.schedules.put(ctx, request)).diagnostics).toEqual([]);
    const paused = async () => (await provider.schedules.list(ctx)).items.map((s) => s.paused);
    expect(await paused()).toEqual([false]);
    now = new Date('2026-12-24T05:10:00Z'); // at the deadline: still due, fired late
    expect(await paused()).toEqual([false]);
    now = new Date('2026-12-24T05:10:01Z');
    expect(await paused()).toEqual([true]);
  });
});
