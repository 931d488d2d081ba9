/**
 * A Schedule whose template has `spec.tuning` fires a Vertex AI HyperparameterTuningJob (the body a
 * tuned run gets), and each firing's trials write where the next firing cannot overwrite them:
 * `runs/<name>/scheduled/<the trial's CustomJob id>` (providers/gcp/README.md "Schedules").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FakeContainerRun } from '../../fakes/gcp/index.js';
import { harness, syntheticTrainer, waitFor, type Harness } from './helpers.js';
import { scheduleRequest, tunedRunSpec, weeklySchedule } from './run-fixtures.js';

/** A trial: the synthetic artifact with `val_loss` = 1 / trial id, reported the hypertune way. */
async function trial(run: FakeContainerRun): Promise<{ exitCode: number }> {
  const id = Number(run.env.CLOUD_ML_TRIAL_ID);
  const valLoss = 1 / id;
  const written = await syntheticTrainer({ val_loss: valLoss, trial: id })(run);
  const file = run.env.CLOUD_ML_HP_METRIC_FILE;
  await mkdir(dirname(file), { recursive: true });
  await writeFile(
    file,
    `${JSON.stringify({ global_step: '1', trial: String(id), val_loss: String(valLoss) })}\n`,
  );
  return written;
}

let h: Harness;
beforeAll(async () => {
  h = await harness({ runContainer: trial, jobTiming: { queuedMs: 5, pendingMs: 5, runningMs: 5 } });
});
afterAll(async () => {
  await h?.close();
});

const runSpec = tunedRunSpec(3, 3);
const spec = weeklySchedule('tuned');

describe('a Schedule of a tuned TrainingRun on gcp', () => {
  it('posts a HyperparameterTuningJob; each firing is a run whose artifact is its best trial, never overwritten', async () => {
    const put = await h.provider.schedules.put(h.ctx, scheduleRequest('nightly', spec, runSpec));
    expect(put.diagnostics).toEqual([]);
    const target = h.fake.schedulerJobs()[0].httpTarget as { uri: string; body: string };
    expect(target.uri).toBe(
      'https://europe-west4-aiplatform.googleapis.com/v1/projects/demo-proj/locations/europe-west4/hyperparameterTuningJobs',
    );
    const posted = JSON.parse(Buffer.from(target.body, 'base64').toString('utf8')) as Record<string, unknown>;
    expect(posted).toMatchObject({
      labels: { 'mlform-stack': 'demo', 'mlform-name': 'tuned', 'mlform-schedule': 'nightly' },
      maxTrialCount: 3,
      parallelTrialCount: 3,
      studySpec: {
        metrics: [{ metricId: 'val_loss', goal: 'MINIMIZE' }],
        algorithm: 'RANDOM_SEARCH',
        parameters: [{ parameterId: 'learningRate', scaleType: 'UNIT_LOG_SCALE' }],
      },
      trialJobSpec: {
        workerPoolSpecs: [
          {
            containerSpec: {
              args: ['--out-base', 'gs://mlform-test/state/demo/runs/tuned/scheduled', '--json'],
            },
          },
        ],
      },
    });

    const artifacts: string[] = [];
    for (const firing of [1, 2]) {
      const fired = await h.provider.schedules.trigger(h.ctx, { name: 'nightly' });
      expect(fired.diagnostics).toEqual([]);
      expect(fired.run).toMatchObject({ name: 'tuned', schedule: 'nightly', number: firing });
      const done = await waitFor(async () => {
        const runs = (await h.provider.trainingRuns.list(h.ctx)).items;
        return runs.find((r) => r.number === firing && r.state !== 'queued' && r.state !== 'running');
      });
      // The best trial is trial 3 (val_loss 1/3): its metrics are the run's.
      expect(done).toMatchObject({ state: 'succeeded', metrics: { val_loss: 1 / 3, trial: 3 } });
      artifacts.push(done.artifactUri ?? '');
    }
    expect(h.fake.customJobs()).toEqual([]);
    const jobs = h.fake.hyperparameterTuningJobs();
    expect(jobs).toHaveLength(2);
    const ids = jobs.map((j) => String(j.name).split('/').pop());
    expect(artifacts).toEqual(ids.map((id) => `gs://mlform-test/state/demo/runs/tuned/scheduled/${id}003`));
    // The first firing's artifact is still its own after the second.
    const first = (await h.provider.trainingRuns.list(h.ctx)).items.find((r) => r.number === 1);
    expect(first?.artifactUri).toBe(artifacts[0]);
  });
});
