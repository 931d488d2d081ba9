/**
 * A Schedule on gcp with `gcp.tensorboard`: the body Cloud Scheduler posts carries the same
 * `tensorboard` field as apply's launches (the CustomJob's `jobSpec`, a tuned template's
 * `trialJobSpec`), read from what the fake received; the stack's own instance (`{create: true}`)
 * is created once, when apply writes the job, and a fired run links its TensorBoard page.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CONFIG, harness, waitFor, type Harness } from './helpers.js';
import { gcsRunSpec, scheduleRequest, tunedRunSpec, weeklySchedule } from './run-fixtures.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const spec = weeklySchedule('mpg-mlp');
const tunedSpec = tunedRunSpec(2, 1);

/** The JSON body the fake's Cloud Scheduler job `index` posts when it fires. */
function postedBody(target: Harness, index = 0): Record<string, unknown> {
  const http = target.fake.schedulerJobs()[index]?.httpTarget as { body: string };
  return JSON.parse(Buffer.from(http.body, 'base64').toString('utf8')) as Record<string, unknown>;
}

describe('scheduled runs stream into the managed TensorBoard', () => {
  it('an instance by name: the posted CustomJob carries it, and the fired run links its page', async () => {
    h = await harness();
    const name = String(
      h.fake.seed.tensorboard({ project: 'demo-proj', location: 'europe-west4', displayName: 'team' }).name,
    );
    await h.close();
    h = await harness({}, { config: { ...CONFIG, tensorboard: name } });
    h.fake.seed.tensorboard({ project: 'demo-proj', location: 'europe-west4', displayName: 'team' });
    const put = await h.provider.schedules.put(h.ctx, scheduleRequest('weekly', spec, gcsRunSpec));
    expect(put.diagnostics).toEqual([]);
    expect(postedBody(h)).toMatchObject({
      jobSpec: {
        tensorboard: name,
        // The output directory Vertex streams `logs/` from is the scheduled one, as without it.
        baseOutputDirectory: { outputUriPrefix: 'gs://mlform-test/state/demo/runs/mpg-mlp/scheduled' },
      },
    });

    // Fired: the fake creates the CustomJob from the posted body (checked against the protos).
    const fired = await h.provider.schedules.trigger(h.ctx, { name: 'weekly' });
    expect(fired.diagnostics).toEqual([]);
    const [job] = h.fake.customJobs();
    expect(job?.jobSpec).toMatchObject({ tensorboard: name });
    const id = String(job?.name).split('/').pop();
    const run = await waitFor(async () =>
      (await h?.provider.trainingRuns.list(h.ctx))?.items.find((r) => r.schedule === 'weekly'),
    );
    expect(run.tensorboardUrl).toBe(
      `https://europe-west4.tensorboard.googleusercontent.com/experiment/${`${name}/experiments/${id}`.replaceAll('/', '+')}`,
    );
  });

  it("{create: true}: a tuned template's trials stream into the stack's instance, created once by apply", async () => {
    h = await harness({}, { config: { ...CONFIG, tensorboard: { create: true } } });
    // Listing schedules is what a plan does: no instance is looked up or created.
    expect((await h.provider.schedules.list(h.ctx)).diagnostics).toEqual([]);
    expect(h.fake.count({ rpc: 'CreateTensorboard' }) + h.fake.count({ rpc: 'ListTensorboards' })).toBe(0);

    const put = await h.provider.schedules.put(h.ctx, scheduleRequest('nightly', spec, tunedSpec));
    expect(put.diagnostics).toEqual([]);
    const boards = h.fake.tensorboards();
    expect(boards.map((b) => b.displayName)).toEqual(['mlform-demo_tensorboard']);
    expect(postedBody(h)).toMatchObject({ trialJobSpec: { tensorboard: boards[0]?.name } });

    // A second put (a changed cron) finds the same instance; a plain template's CustomJob too.
    const again = await h.provider.schedules.put(h.ctx, scheduleRequest('weekly', spec, gcsRunSpec));
    expect(again.diagnostics).toEqual([]);
    expect(h.fake.tensorboards()).toHaveLength(1);
    const weekly = h.fake.schedulerJobs().findIndex((j) => String(j.name).endsWith('_weekly'));
    expect(postedBody(h, weekly)).toMatchObject({ jobSpec: { tensorboard: boards[0]?.name } });
  });

  it('without gcp.tensorboard the posted body has no tensorboard field', async () => {
    h = await harness();
    expect(
      (await h.provider.schedules.put(h.ctx, scheduleRequest('weekly', spec, gcsRunSpec))).diagnostics,
    ).toEqual([]);
    expect(postedBody(h).jobSpec).not.toHaveProperty('tensorboard');
  });
});
