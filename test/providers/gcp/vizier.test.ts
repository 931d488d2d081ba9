/**
 * `spec.tuning` as Vertex AI Vizier receives it (providers/gcp/vizier.ts): the study spec of each
 * supported sampler/pruner/objective/conditional combination, created through the real SDK against
 * test/fakes/gcp (which checks the body against the protos and study.proto's rules), trials sampled
 * with their conditional parameters, the run's trial chosen by `selectBest`, and a Schedule of a
 * tuned run posting the same study.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { FakeContainerRun } from '../../fakes/gcp/index.js';
import type { CreateRunRequest } from '../../../providers/provider.js';
import type { TrainingRunSpec } from '../../../resources/training-run.js';
import { studySpecOf } from '../../../providers/gcp/vizier.js';
import { selectBest } from '../../../trainer/tuning/objectives/index.js';
import { harness, syntheticTrainer, waitFor, type Harness } from './helpers.js';
import { gcsRunSpec, scheduleRequest, weeklySchedule } from './run-fixtures.js';

type Tuning = NonNullable<TrainingRunSpec['tuning']>;

const tuned = (tuning: Partial<Tuning>): TrainingRunSpec =>
  ({
    ...gcsRunSpec,
    tuning: {
      trials: 4,
      parallel: 2,
      metric: 'val_mae',
      goal: 'minimize',
      algorithm: 'random',
      space: { learningRate: { logUniform: [0.001, 0.1] } },
      ...tuning,
    },
  }) as unknown as TrainingRunSpec;

const request = (spec: TrainingRunSpec, number: number): CreateRunRequest => ({
  name: 'tuned',
  number,
  spec,
  specHash: String(number).repeat(64),
  attempt: 1,
  manifestPath: resolve('x.yaml'),
  labels: {},
  annotations: {},
});

/** Trials report val_mae = |log10(lr) + 2| (best at 0.01) and modelBytes = the layer count x 1000. */
const trials: FakeContainerRun[] = [];
async function trial(run: FakeContainerRun): Promise<{ exitCode: number }> {
  trials.push(run);
  const arg = (id: string) => run.containerSpec.args.find((a) => a.startsWith(`--${id}=`))?.split('=')[1];
  const valMae = Math.abs(Math.log10(Number(arg('learningRate') ?? 1)) + 2);
  const modelBytes = Number(arg('network.layers') ?? 1) * 1000;
  // A trial writes to Vertex's AIP_MODEL_DIR (its args carry only the parameters).
  const out = run.env.AIP_MODEL_DIR.replace(/\/+$/, '');
  const written = await syntheticTrainer({ val_mae: valMae, modelBytes })({
    ...run,
    containerSpec: { ...run.containerSpec, args: ['--out', out] },
  });
  const file = run.env.CLOUD_ML_HP_METRIC_FILE;
  await mkdir(dirname(file), { recursive: true });
  const line = (metric: string, value: number) =>
    JSON.stringify({ global_step: '3', trial: run.env.CLOUD_ML_TRIAL_ID, [metric]: String(value) });
  await writeFile(file, `${line('val_mae', valMae)}\n${line('modelBytes', modelBytes)}\n`);
  return written;
}

const h: Harness = await harness({
  runContainer: trial,
  jobTiming: { queuedMs: 2, pendingMs: 2, runningMs: 2 },
});
afterAll(() => h.close());

const created = async (spec: TrainingRunSpec, number: number) => {
  const result = await h.provider.trainingRuns.create(h.ctx, request(spec, number));
  expect(result.diagnostics).toEqual([]);
  const job = h.fake.hyperparameterTuningJobs().find((j) => j.displayName === `mlform-demo_tuned-${number}`);
  if (!job) throw new Error(`no job for run ${number}`);
  return job;
};

describe('the Vizier study of spec.tuning', () => {
  it('random search without stopping, two objectives, maxFailedTrialCount half the trials', async () => {
    const job = await created(
      tuned({
        trials: 5,
        sampler: { type: 'random' },
        pruner: { type: 'none' },
        objectives: [{ metric: 'modelBytes', goal: 'minimize' }],
        selection: 'primary',
      }),
      1,
    );
    expect(job).toMatchObject({ maxTrialCount: 5, parallelTrialCount: 2, maxFailedTrialCount: 3 });
    expect(job.studySpec).toEqual({
      metrics: [
        { metricId: 'val_mae', goal: 'MINIMIZE' },
        { metricId: 'modelBytes', goal: 'MINIMIZE' },
      ],
      parameters: [
        {
          parameterId: 'learningRate',
          doubleValueSpec: { minValue: 0.001, maxValue: 0.1 },
          scaleType: 'UNIT_LOG_SCALE',
        },
      ],
      algorithm: 'RANDOM_SEARCH',
    });
  });

  it('grid search: points become DISCRETE values (log-spaced for logUniform), ints and choices as they are', async () => {
    const job = await created(
      tuned({
        sampler: { type: 'grid' },
        pruner: { type: 'none' },
        space: {
          learningRate: { logUniform: [0.001, 0.1], points: 3 },
          'network.dropout': { uniform: [0, 0.3], points: 4 },
          epochs: { int: [2, 4] },
          'network.activation': { choice: ['relu', 'tanh'] },
        },
      }),
      2,
    );
    expect(job.studySpec).toMatchObject({
      algorithm: 'GRID_SEARCH',
      parameters: [
        { parameterId: 'epochs', integerValueSpec: { minValue: '2', maxValue: '4' } },
        { parameterId: 'learningRate', discreteValueSpec: { values: [0.001, 0.01, 0.1] } },
        { parameterId: 'network.activation', categoricalValueSpec: { values: ['relu', 'tanh'] } },
        { parameterId: 'network.dropout', discreteValueSpec: { values: [0, 0.1, 0.2, 0.3] } },
      ],
    });
    // Vizier's own rule, enforced by the fake: a grid over a DOUBLE parameter is refused (REST, as the SDK sends it).
    const double = studySpecOf(tuned({}).tuning as Tuning).parameters ?? [];
    const response = await fetch(
      `${h.fake.url}/v1/projects/demo-proj/locations/europe-west4/hyperparameterTuningJobs`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer fake-token' },
        body: JSON.stringify({
          displayName: 'by-hand',
          maxTrialCount: 1,
          trialJobSpec: job.trialJobSpec,
          studySpec: {
            metrics: [{ metricId: 'val_mae', goal: 'MINIMIZE' }],
            algorithm: 'GRID_SEARCH',
            parameters: double,
          },
        }),
      },
    );
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(
      /study_spec.parameters\[0\]; Message: Grid search requires INTEGER, CATEGORICAL or DISCRETE parameters; .*learningRate.* is DOUBLE/,
    );
  });

  it("bayesian with the median rule: Vizier's default algorithm, medianAutomatedStoppingSpec, the last measurement", async () => {
    const job = await created(tuned({ sampler: { type: 'bayesian' }, pruner: { type: 'median' } }), 3);
    expect(job.studySpec).toMatchObject({
      algorithm: 'ALGORITHM_UNSPECIFIED',
      medianAutomatedStoppingSpec: {},
      measurementSelectionType: 'LAST_MEASUREMENT',
    });
  });

  it('conditional parameters: `when` under categorical, discrete and integer parents, `layers` as a count with per-layer units', async () => {
    const spec = tuned({
      trials: 12,
      parallel: 3,
      sampler: { type: 'random' },
      pruner: { type: 'none' },
      objectives: [{ metric: 'modelBytes', goal: 'minimize' }],
      space: {
        learningRate: { logUniform: [0.001, 0.1] },
        optimizer: { choice: ['adam', 'sgd'] },
        'network.dropout': { uniform: [0, 0.5], when: { key: 'optimizer', in: ['adam'] } },
        batchSize: { choice: [16, 32, 64] },
        epochs: { int: [2, 6], when: { key: 'batchSize', in: [32, 64] } },
        'hyperparameters.earlyStopping.patience': { int: [1, 2], when: { key: 'epochs', in: [5, 6] } },
        'network.layers': { layers: { count: [1, 3], units: [8, 64] } },
      },
    });
    const job = await created(spec, 4);
    const units = { integerValueSpec: { minValue: '8', maxValue: '64' }, scaleType: 'UNIT_LOG_SCALE' };
    expect(job.studySpec).toMatchObject({
      parameters: [
        {
          parameterId: 'batchSize',
          discreteValueSpec: { values: [16, 32, 64] },
          conditionalParameterSpecs: [
            {
              parentDiscreteValues: { values: [32, 64] },
              parameterSpec: {
                parameterId: 'epochs',
                integerValueSpec: { minValue: '2', maxValue: '6' },
                conditionalParameterSpecs: [
                  {
                    parentIntValues: { values: ['5', '6'] },
                    parameterSpec: {
                      parameterId: 'hyperparameters.earlyStopping.patience',
                      integerValueSpec: { minValue: '1', maxValue: '2' },
                    },
                  },
                ],
              },
            },
          ],
        },
        { parameterId: 'learningRate' },
        {
          parameterId: 'network.layers',
          integerValueSpec: { minValue: '1', maxValue: '3' },
          conditionalParameterSpecs: [
            {
              parentIntValues: { values: ['1', '2', '3'] },
              parameterSpec: { parameterId: 'network.layers.1', ...units },
            },
            {
              parentIntValues: { values: ['2', '3'] },
              parameterSpec: { parameterId: 'network.layers.2', ...units },
            },
            {
              parentIntValues: { values: ['3'] },
              parameterSpec: { parameterId: 'network.layers.3', ...units },
            },
          ],
        },
        {
          parameterId: 'optimizer',
          categoricalValueSpec: { values: ['adam', 'sgd'] },
          conditionalParameterSpecs: [
            {
              parentCategoricalValues: { values: ['adam'] },
              parameterSpec: {
                parameterId: 'network.dropout',
                doubleValueSpec: { minValue: 0, maxValue: 0.5 },
              },
            },
          ],
        },
      ],
    });

    // Each trial gets a parameter only when its condition holds: one units value per existing layer.
    const done = await waitFor(async () => {
      const r = (await h.provider.trainingRuns.list(h.ctx)).items.find((x) => x.number === 4);
      return r && r.state !== 'queued' && r.state !== 'running' ? r : undefined;
    }, 20_000);
    const mine = trials.filter((t) =>
      t.jobName.startsWith(String(job.name).replace('hyperparameterTuningJobs', 'customJobs')),
    );
    expect(
      mine.length,
      JSON.stringify(h.fake.hyperparameterTuningJobs().find((j) => j.name === job.name)?.trials),
    ).toBe(12);
    for (const t of mine) {
      const args = Object.fromEntries(
        t.containerSpec.args
          .filter((a) => a.startsWith('--') && a.includes('='))
          .map((a) => a.slice(2).split('=')),
      );
      const count = Number(args['network.layers']);
      expect(
        Object.keys(args)
          .filter((k) => k.startsWith('network.layers.'))
          .sort(),
      ).toEqual(Array.from({ length: count }, (_, i) => `network.layers.${i + 1}`));
      expect('network.dropout' in args).toBe(args.optimizer === 'adam');
      expect('epochs' in args).toBe(args.batchSize !== '16');
      expect('hyperparameters.earlyStopping.patience' in args).toBe(['5', '6'].includes(args.epochs ?? ''));
    }

    // The run's trial: selectBest over every measured trial, both objectives as Vizier measured them.
    const measured = (h.fake.hyperparameterTuningJobs().find((j) => j.name === job.name)?.trials ?? []) as {
      id: string;
      state: string;
      finalMeasurement?: { metrics: { metricId: string; value: number }[] };
    }[];
    const scored = measured
      .filter((t) => t.state === 'SUCCEEDED')
      .map((t) => {
        const values = ['val_mae', 'modelBytes'].map(
          (id) => t.finalMeasurement?.metrics.find((m) => m.metricId === id)?.value ?? null,
        );
        return { trial: Number(t.id), values, score: values[0] };
      });
    expect(scored).toHaveLength(12);
    const best = selectBest(spec.tuning as Tuning, scored).best;
    expect(done).toMatchObject({
      state: 'succeeded',
      artifactUri: `gs://mlform-test/state/demo/runs/tuned/4/${best}/model`,
    });
  });
});

describe('a Schedule of a tuned run', () => {
  it('posts the same mapped study the run would get', async () => {
    const spec = tuned({
      sampler: { type: 'grid' },
      pruner: { type: 'median' },
      space: { epochs: { int: [2, 3] } },
    });
    const put = await h.provider.schedules.put(
      h.ctx,
      scheduleRequest('nightly', weeklySchedule('tuned'), spec),
    );
    expect(put.diagnostics).toEqual([]);
    const target = h.fake.schedulerJobs()[0].httpTarget as { body: string };
    const posted = JSON.parse(Buffer.from(target.body, 'base64').toString('utf8')) as Record<string, unknown>;
    expect(posted).toMatchObject({
      maxTrialCount: 4,
      maxFailedTrialCount: 2,
      studySpec: {
        algorithm: 'GRID_SEARCH',
        medianAutomatedStoppingSpec: {},
        measurementSelectionType: 'LAST_MEASUREMENT',
        parameters: [{ parameterId: 'epochs', integerValueSpec: { minValue: '2', maxValue: '3' } }],
      },
    });
    // Firing it creates the HyperparameterTuningJob (the fake checks the posted body like a direct call).
    const fired = await h.provider.schedules.trigger(h.ctx, { name: 'nightly' });
    expect(fired.diagnostics).toEqual([]);
    const job = h.fake
      .hyperparameterTuningJobs()
      .find((j) => (j.labels as Record<string, string>)['mlform-schedule'] === 'nightly');
    expect(job?.studySpec).toMatchObject(posted.studySpec as object);
  });
});
