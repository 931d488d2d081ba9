/**
 * A Schedule fired on a signal on gcp (issue 15, `triggers`): `trigger` with a reason posts the
 * job's own CustomJob body to Vertex AI with the run's annotations set (not RunJob, which cannot
 * carry them), so the run reads back fired by the trigger and why. A signal-only Schedule's job
 * holds a yearly cron and stays paused, which is neither suspended nor drift.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNAL_ONLY_CRON } from '../../../providers/gcp/schedules.js';
import { FIRED_BY_ANNOTATION, TRIGGER_REASON_ANNOTATION } from '../../../monitoring/trigger.js';
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

const REASON =
  'drift on DeployedEndpoint/mpg-api: Horsepower psi 0.41 > 0.2 (window 2026-12-05 10:00-11:00 UTC)';

const spec = {
  trainingRun: 'mpg-mlp',
  timeZone: 'UTC',
  suspend: false,
  concurrencyPolicy: 'Forbid',
  startingDeadlineSeconds: 3600,
  history: { successful: 5, failed: 3 },
  triggers: [{ drift: { endpoint: 'mpg-api' } }],
  cooldown: '6h',
} as ScheduleSpec;

describe('a Schedule fired on a signal on gcp', () => {
  it('is a paused job on a yearly cron, and a signal fire posts its CustomJob with the reason', async () => {
    expect(
      (await h.provider.schedules.put(h.ctx, scheduleRequest('on-drift', spec, gcsRunSpec))).diagnostics,
    ).toEqual([]);
    const job = h.fake.schedulerJobs()[0];
    expect(job).toMatchObject({ schedule: SIGNAL_ONLY_CRON, state: 'PAUSED' });
    const listed = (await h.provider.schedules.list(h.ctx)).items;
    expect(listed).toEqual([expect.objectContaining({ name: 'on-drift', paused: true })]);

    const calls = h.fake.requests.length;
    const fired = await h.provider.schedules.trigger(h.ctx, { name: 'on-drift', reason: REASON });
    expect(fired.diagnostics).toEqual([]);
    expect(fired.run).toMatchObject({ name: 'mpg-mlp', schedule: 'on-drift', specHash: '4'.repeat(64) });
    expect(fired.run?.annotations).toMatchObject({
      [FIRED_BY_ANNOTATION]: 'trigger',
      [TRIGGER_REASON_ANNOTATION]: REASON,
    });
    // Posted to Vertex AI directly: no RunJob on the paused job.
    const rpcs = h.fake.requests.slice(calls).map((r) => r.rpc);
    expect(rpcs).toContain('CreateCustomJob');
    expect(rpcs).not.toContain('RunJob');
    const done = await waitFor(async () => {
      const runs = (await h.provider.trainingRuns.list(h.ctx)).items;
      return runs.find((r) => r.schedule === 'on-drift' && r.state === 'succeeded');
    });
    expect(done.annotations[TRIGGER_REASON_ANNOTATION]).toBe(REASON);
    expect(done.artifactUri).toMatch(/^gs:\/\/mlform-test\/state\/demo\/runs\/mpg-mlp\/scheduled\/\d+$/);

    // The next signal fire (after the cooldown, which the plan keeps) is a run of its own.
    const second = await h.provider.schedules.trigger(h.ctx, { name: 'on-drift', reason: `${REASON} again` });
    expect(second.diagnostics).toEqual([]);
    expect(second.run?.number).toBe((fired.run?.number ?? 0) + 1);
    expect(second.run?.annotations[TRIGGER_REASON_ANNOTATION]).toBe(`${REASON} again`);
    await waitFor(async () => {
      const runs = (await h.provider.trainingRuns.list(h.ctx)).items;
      return runs.find((r) => r.number === second.run?.number && r.state === 'succeeded');
    });

    // `mlform trigger` by hand: the paused job's body is posted as it is, without the annotations.
    const byHand = await h.provider.schedules.trigger(h.ctx, { name: 'on-drift' });
    expect(byHand.diagnostics).toEqual([]);
    expect(byHand.run).toMatchObject({ schedule: 'on-drift', annotations: {} });
  });
});
