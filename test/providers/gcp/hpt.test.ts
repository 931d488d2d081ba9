/**
 * `spec.tuning` on gcp as a Vertex AI HyperparameterTuningJob (providers/gcp/README.md "Tuning"):
 * the job body (checked by the fake against the SDK's protos), and a search with the real trainer
 * (`dist/`, `npm run build`) whose trials the fake runs through `runContainer`, reading each
 * trial's hypertune metric line; the best trial's artifact is the run's and gets registered.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { harness, waitFor } from './helpers.js';
import type { FakeContainerRun } from '../../fakes/gcp/index.js';
import type { TrainingRunSpec } from '../../../resources/training-run.js';
import type { RegisteredModelSpec } from '../../../resources/registered-model.js';
import type { CreateRunRequest } from '../../../providers/provider.js';

const real = (job: FakeContainerRun, signal: AbortSignal) =>
  new Promise<{ exitCode: number; message?: string }>((done) => {
    const child = spawn(process.execPath, [resolve('bin/mlform.js'), 'train', ...job.containerSpec.args], {
      env: { ...process.env, ...job.env, MLFORM_BACKEND: 'wasm' },
      signal,
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', () => undefined);
    child.on('close', (code) =>
      done(code === 0 ? { exitCode: 0 } : { exitCode: code ?? 1, message: out.slice(-800) }),
    );
  });

async function loadSpec(spec: unknown): Promise<TrainingRunSpec> {
  const { loadResourceValue } = await import('../../../manifests/load.js');
  const loaded = loadResourceValue(
    { apiVersion: 'mlform/v1', kind: 'TrainingRun', metadata: { name: 'tuned' }, spec },
    'x.json',
  );
  expect(loaded.diagnostics).toEqual([]);
  return (loaded.resource?.manifest as { spec: TrainingRunSpec }).spec;
}

const request = (spec: TrainingRunSpec): CreateRunRequest => ({
  name: 'tuned',
  number: 1,
  spec,
  specHash: 'a'.repeat(64),
  attempt: 1,
  manifestPath: resolve('x.yaml'),
  labels: { team: 'ml' },
  annotations: {},
});

const data = {
  uri: 'file://examples/data/cars.json',
  target: 'Miles_per_Gallon',
  features: ['Cylinders', 'Horsepower', 'Weight_in_lbs', 'Origin'],
  validationSplit: 0.2,
};

describe('tuning as a HyperparameterTuningJob', () => {
  it('maps tuning.space to the study spec and the trial job spec to the CustomJob one', async () => {
    const h = await harness({
      jobTiming: { queuedMs: 5, pendingMs: 5, runningMs: 20 },
      runContainer: () => Promise.resolve({ exitCode: 0 }),
    });
    const spec = await loadSpec({
      trainer: {
        builtin: {
          task: 'regression',
          data,
          network: { type: 'mlp', layers: [16], activation: 'relu', dropout: 0 },
          hyperparameters: { epochs: 4, batchSize: 32, learningRate: 0.003, optimizer: 'adam' },
        },
      },
      resources: { machineType: 'n1-standard-4', spot: true },
      tuning: {
        trials: 6,
        parallel: 2,
        metric: 'val_mae',
        goal: 'minimize',
        // Vizier's default search; the manifest default (halving) is a plan error on Vertex (vizier.ts).
        sampler: { type: 'bayesian' },
        pruner: { type: 'none' },
        space: {
          learningRate: { logUniform: [0.0001, 0.1] },
          'network.dropout': { uniform: [0, 0.5] },
          epochs: { int: [2, 8] },
          batchSize: { choice: [64, 16, 32] },
          'network.layers': { choice: [[32], [64, 64]] },
          'network.activation': { choice: ['relu', 'tanh'] },
        },
      },
    });
    const created = await h.provider.trainingRuns.create(
      { ...h.ctx, projectDir: resolve('.') },
      request(spec),
    );
    expect(created.diagnostics).toEqual([]);
    expect(h.fake.customJobs()).toEqual([]);
    const [job] = h.fake.hyperparameterTuningJobs();
    expect(job).toMatchObject({
      displayName: 'mlform-demo_tuned-1',
      labels: {
        'mlform-stack': 'demo',
        'mlform-kind': 'trainingrun',
        'mlform-name': 'tuned',
        'mlform-run': '1',
        'mlform-attempt': '1',
        'mlform-machine': 'primary',
        team: 'ml',
      },
      maxTrialCount: 6,
      parallelTrialCount: 2,
      studySpec: {
        metrics: [{ metricId: 'val_mae', goal: 'MINIMIZE' }],
        algorithm: 'ALGORITHM_UNSPECIFIED',
        parameters: [
          { parameterId: 'batchSize', discreteValueSpec: { values: [16, 32, 64] } },
          { parameterId: 'epochs', integerValueSpec: { minValue: '2', maxValue: '8' } },
          {
            parameterId: 'learningRate',
            doubleValueSpec: { minValue: 0.0001, maxValue: 0.1 },
            scaleType: 'UNIT_LOG_SCALE',
          },
          { parameterId: 'network.activation', categoricalValueSpec: { values: ['relu', 'tanh'] } },
          {
            parameterId: 'network.dropout',
            doubleValueSpec: { minValue: 0, maxValue: 0.5 },
            scaleType: 'UNIT_LINEAR_SCALE',
          },
          { parameterId: 'network.layers', categoricalValueSpec: { values: ['[32]', '[64,64]'] } },
        ],
      },
      trialJobSpec: {
        workerPoolSpecs: [
          {
            machineSpec: { machineType: 'n1-standard-4' },
            containerSpec: {
              imageUri: 'europe-docker.pkg.dev/demo-proj/mlform/trainer:1',
              args: ['--json'],
            },
          },
        ],
        scheduling: { strategy: 'SPOT' },
        serviceAccount: 'mlform-runner@demo-proj.iam.gserviceaccount.com',
        baseOutputDirectory: { outputUriPrefix: 'gs://mlform-test/state/demo/runs/tuned/1' },
      },
    });
    const env = (job.trialJobSpec as { workerPoolSpecs: { containerSpec: { env: { name: string }[] } }[] })
      .workerPoolSpecs[0].containerSpec.env;
    expect(env.map((e) => e.name)).toEqual(expect.arrayContaining(['MLFORM_SPEC_JSON', 'MLFORM_SPEC_HASH']));

    // Idempotent by (name, number): the HPT job is found by its labels, not created twice.
    const again = await h.provider.trainingRuns.create({ ...h.ctx, projectDir: resolve('.') }, request(spec));
    expect(again.diagnostics).toEqual([]);
    expect(h.fake.hyperparameterTuningJobs()).toHaveLength(1);
    const listed = await h.provider.trainingRuns.list(h.ctx);
    expect(listed.items).toMatchObject([{ name: 'tuned', number: 1, specHash: 'a'.repeat(64) }]);

    // random search, maximize
    const random = await loadSpec({
      ...spec,
      tuning: { ...spec.tuning, goal: 'maximize', sampler: { type: 'random' }, metric: 'val_r2' },
    });
    await h.provider.trainingRuns.create(
      { ...h.ctx, projectDir: resolve('.') },
      { ...request(random), number: 2, specHash: 'b'.repeat(64) },
    );
    const second = h.fake.hyperparameterTuningJobs().find((j) => j.displayName === 'mlform-demo_tuned-2');
    expect(second?.studySpec).toMatchObject({
      metrics: [{ metricId: 'val_r2', goal: 'MAXIMIZE' }],
      algorithm: 'RANDOM_SEARCH',
    });
    // cancel goes to CancelHyperparameterTuningJob
    expect((await h.provider.trainingRuns.cancel(h.ctx, { name: 'tuned', number: 2 })).diagnostics).toEqual(
      [],
    );
    expect(h.fake.count({ rpc: 'CancelHyperparameterTuningJob' })).toBe(1);
    await h.close();
  });

  it('runs trials with the real trainer, takes the best trial as the artifact and registers it', async () => {
    const h = await harness({ runContainer: real });
    const spec = await loadSpec({
      trainer: {
        builtin: {
          task: 'regression',
          data,
          network: { type: 'mlp', layers: [16], activation: 'relu', dropout: 0 },
          hyperparameters: { epochs: 3, batchSize: 32, learningRate: 0.003, optimizer: 'adam' },
          seed: 1,
        },
      },
      resources: { machineType: 'n1-standard-4', spot: false },
      tuning: {
        trials: 3,
        parallel: 2,
        metric: 'val_loss',
        goal: 'minimize',
        space: {
          learningRate: { logUniform: [0.001, 0.03] },
          'network.layers': { choice: [[8], [16, 8]] },
        },
      },
    });
    const created = await h.provider.trainingRuns.create(
      { ...h.ctx, projectDir: resolve('.') },
      request(spec),
    );
    expect(created.diagnostics).toEqual([]);
    const progress: { done: number; of: number }[] = [];
    const done = await waitFor(async () => {
      const l = await h.provider.trainingRuns.list(h.ctx);
      const r = l.items[0];
      if (r?.progress?.trial) progress.push(r.progress.trial);
      return r && r.state !== 'queued' && r.state !== 'running' ? r : undefined;
    }, 150_000);
    const [job] = h.fake.hyperparameterTuningJobs();
    const trials = job.trials as {
      id: string;
      state: string;
      parameters: { parameterId: string; value: unknown }[];
      finalMeasurement?: { metrics: { metricId: string; value: number }[] };
    }[];
    expect(
      trials.map((t) => t.state),
      JSON.stringify(trials),
    ).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    expect(trials[0].parameters.map((p) => p.parameterId)).toEqual(['learningRate', 'network.layers']);
    const values = trials.map((t) => t.finalMeasurement?.metrics[0]?.value ?? NaN);
    const best = trials[values.indexOf(Math.min(...values))];
    expect(done).toMatchObject({
      state: 'succeeded',
      artifactUri: `gs://mlform-test/state/demo/runs/tuned/1/${best.id}/model`,
      progress: { trial: { done: 3, of: 3 } },
    });
    expect(progress.every((p) => p.of === 3)).toBe(true);
    // metrics.json of the best trial, cached as the run's outcome; equal to what Vertex measured.
    expect(done.metrics?.val_loss).toBeCloseTo(Math.min(...values), 6);
    const names = h.fake.objects('mlform-test').map((o) => String(o.name));
    for (const t of trials) expect(names).toContain(`state/demo/runs/tuned/1/${t.id}/model/model.json`);
    expect(names).toContain('state/demo/outcomes/tuned/1.json');
    // The trial trained its parameters, not the base spec, and without a search of its own.
    const runJson = JSON.parse(
      (await h.provider.artifacts.read(h.ctx, `${done.artifactUri}/run.json`)).toString('utf8'),
    ) as { spec: TrainingRunSpec };
    expect(runJson.spec.tuning).toBeUndefined();
    const layers = best.parameters.find((p) => p.parameterId === 'network.layers')?.value;
    expect(JSON.stringify(runJson.spec.trainer.builtin?.network.layers)).toBe(layers);

    await h.provider.registeredModels.put(h.ctx, {
      name: 'mpg',
      spec: {
        description: 'mpg',
        aliases: {},
        retention: { keepVersions: 10 },
      } as unknown as RegisteredModelSpec,
      specHash: '2'.repeat(64),
      labels: {},
      annotations: {},
    });
    const v1 = await h.provider.registeredModels.registerVersion(h.ctx, { model: 'mpg', run: done });
    expect(v1.diagnostics).toEqual([]);
    expect(v1.version).toMatchObject({ version: 1, run: { name: 'tuned', number: 1 } });
    expect(h.fake.models()[0]).toMatchObject({ artifactUri: done.artifactUri });
    await h.close();
  }, 200_000);
});
