/**
 * Schedules fire runs of their template under the template's name, with `schedule` set, and honour
 * concurrencyPolicy: Forbid skips while a run of the schedule is active, Replace cancels it, Allow
 * runs both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PutScheduleRequest } from '../../../providers/provider.js';
import type { ScheduleSpec } from '../../../resources/schedule.js';
import { IRIS_MANIFEST, irisSpec, tempProject, type Project } from './helpers.js';

let project: Project;

beforeAll(async () => {
  project = await tempProject();
});

afterAll(async () => {
  await project?.cleanup();
});

const schedule = (
  concurrencyPolicy: ScheduleSpec['concurrencyPolicy'],
  suspend = false,
): PutScheduleRequest => ({
  name: 'nightly',
  spec: {
    trainingRun: 'iris',
    cron: '0 3 * * *',
    timeZone: 'Europe/Warsaw',
    suspend,
    concurrencyPolicy,
    startingDeadlineSeconds: 3600,
    history: { successful: 5, failed: 3 },
  },
  specHash: `schedule-${concurrencyPolicy}`,
  // Long enough to still run when the next trigger comes.
  template: { spec: irisSpec(100_000), specHash: 'template-hash', manifestPath: IRIS_MANIFEST },
  labels: {},
  annotations: {},
});

const states = async () =>
  (await project.provider.trainingRuns.list(project.ctx)).items
    .map((r) => `${r.name}#${r.number}:${r.state}:${r.schedule ?? '-'}`)
    .sort();

describe('schedule trigger', () => {
  it('fires a run of the template; Forbid skips while it runs', async () => {
    const { provider, ctx } = project;
    expect((await provider.schedules.put(ctx, schedule('Forbid'))).diagnostics).toEqual([]);
    const fired = await provider.schedules.trigger(ctx, { name: 'nightly' });
    expect(fired.diagnostics).toEqual([]);
    expect(fired.run).toMatchObject({
      name: 'iris',
      number: 1,
      schedule: 'nightly',
      specHash: 'template-hash',
    });

    const skipped = await provider.schedules.trigger(ctx, { name: 'nightly' });
    expect(skipped.run).toBeUndefined();
    expect(skipped.diagnostics).toHaveLength(1);
    expect(skipped.diagnostics[0]).toMatchObject({ severity: 'warning', code: 'schedule-skipped' });
    expect(skipped.diagnostics[0].message).toContain('skipped: previous run still running');
    expect(await states()).toEqual(['iris#1:running:nightly']);

    const listed = await provider.schedules.list(ctx);
    expect(listed.items).toHaveLength(1);
    expect(listed.items[0]).toMatchObject({ name: 'nightly', specHash: 'schedule-Forbid', paused: false });
    expect(listed.items[0].lastFireTime).toBeDefined();
  });

  it('Replace cancels the running one first; Allow runs alongside', async () => {
    const { provider, ctx } = project;
    await provider.schedules.put(ctx, schedule('Replace'));
    const replaced = await provider.schedules.trigger(ctx, { name: 'nightly' });
    expect(replaced.diagnostics).toEqual([]);
    expect(replaced.run?.number).toBe(2);
    expect(await states()).toEqual(['iris#1:cancelled:nightly', 'iris#2:running:nightly']);

    await provider.schedules.put(ctx, schedule('Allow', true));
    // A manual trigger fires even a suspended schedule (kubectl create job --from=cronjob does).
    const allowed = await provider.schedules.trigger(ctx, { name: 'nightly' });
    expect(allowed.run?.number).toBe(3);
    expect(await states()).toEqual([
      'iris#1:cancelled:nightly',
      'iris#2:running:nightly',
      'iris#3:running:nightly',
    ]);
    expect((await provider.schedules.list(ctx)).items[0].paused).toBe(true);

    for (const number of [2, 3]) await provider.trainingRuns.cancel(ctx, { name: 'iris', number });
  });

  it('delete removes the schedule and keeps its runs; an unknown schedule is a diagnostic', async () => {
    const { provider, ctx } = project;
    expect((await provider.schedules.delete(ctx, { name: 'nightly' })).diagnostics).toEqual([]);
    expect((await provider.schedules.list(ctx)).items).toEqual([]);
    expect(await states()).toHaveLength(3);
    const missing = await provider.schedules.trigger(ctx, { name: 'nightly' });
    expect(missing.diagnostics.map((d) => d.code)).toEqual(['local-schedule-not-found']);
  });
});
