/**
 * `spec.tuning` on gcp: the trainer's own search (trials as processes, the best promoted) runs
 * inside the one CustomJob, gs:// all the way, with the real trainer (`dist/`, `npm run build`).
 */
import { it, expect } from 'vitest';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { harness, waitFor } from './helpers.js';
import type { FakeContainerRun } from '../../fakes/gcp/index.js';
import type { TrainingRunSpec } from '../../../resources/training-run.js';

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

it("runs the search inside one CustomJob and promotes the best trial to the run's artifact", async () => {
  // The in-job search is the fallback mode (`settings.tuning: 'in-job'`); hpt.test.ts covers the default.
  const h = await harness(
    { runContainer: real },
    { settings: { pollMs: 20, revisionReadyTimeoutMs: 10_000, tuning: 'in-job' } },
  );
  const spec = {
    trainer: {
      builtin: {
        task: 'regression',
        data: {
          uri: 'file://examples/data/cars.json',
          target: 'Miles_per_Gallon',
          features: ['Cylinders', 'Horsepower', 'Weight_in_lbs', 'Origin'],
          validationSplit: 0.2,
        },
        network: { type: 'mlp', layers: [16], activation: 'relu', dropout: 0 },
        hyperparameters: { epochs: 4, batchSize: 32, learningRate: 0.003, optimizer: 'adam' },
        seed: 1,
      },
    },
    resources: { machineType: 'n1-standard-4', spot: false },
    tuning: {
      trials: 2,
      parallel: 1,
      metric: 'val_loss',
      goal: 'minimize',
      algorithm: 'random',
      space: { learningRate: { logUniform: [0.001, 0.01] } },
    },
  } as unknown as TrainingRunSpec;
  const { loadResourceValue } = await import('../../../manifests/load.js');
  const loaded = loadResourceValue(
    { apiVersion: 'mlform/v1', kind: 'TrainingRun', metadata: { name: 'tuned' }, spec },
    'x.json',
  );
  const full = (loaded.resource?.manifest as { spec: TrainingRunSpec }).spec;
  expect(loaded.diagnostics).toEqual([]);
  const created = await h.provider.trainingRuns.create(
    { ...h.ctx, projectDir: resolve('.') },
    {
      name: 'tuned',
      number: 1,
      spec: full,
      specHash: 'a'.repeat(64),
      attempt: 1,
      manifestPath: resolve('x.yaml'),
      labels: {},
      annotations: {},
    },
  );
  expect(created.diagnostics).toEqual([]);
  const done = await waitFor(async () => {
    const l = await h.provider.trainingRuns.list(h.ctx);
    const r = l.items[0];
    return r && r.state !== 'queued' && r.state !== 'running' ? r : undefined;
  }, 120_000);
  expect(done).toMatchObject({ state: 'succeeded', artifactUri: 'gs://mlform-test/state/demo/runs/tuned/1' });
  const objects = new Map(h.fake.objects('mlform-test').map((o) => [o.name, o.data]));
  const object = (name: string): Buffer => {
    const data = objects.get(`state/demo/runs/tuned/1/${name}`);
    if (!data) throw new Error(`no object ${name}; have ${[...objects.keys()].join(', ')}`);
    return data;
  };
  // Every trial's own reported objective, read from its artifact; the best is chosen here.
  const trials = [1, 2].map((trial) => ({
    trial,
    valLoss: (
      JSON.parse(object(`trials/${trial}/metrics.json`).toString()) as { metrics: { val_loss: number } }
    ).metrics.val_loss,
    weights: object(`trials/${trial}/weights.bin`),
  }));
  expect(trials[0].valLoss).not.toBe(trials[1].valLoss);
  expect(trials[0].weights.equals(trials[1].weights)).toBe(false);
  const best = trials.reduce((a, b) => (b.valLoss < a.valLoss ? b : a));
  // The run's artifact is the best trial's, byte for byte, and reports its objective.
  expect(object('weights.bin').equals(best.weights)).toBe(true);
  expect(object('model.json').equals(object(`trials/${best.trial}/model.json`))).toBe(true);
  expect(done.metrics?.val_loss).toBe(best.valLoss);
  const tuning = JSON.parse(object('tuning.json').toString()) as { best?: { trial: number; metric: number } };
  expect(tuning.best).toMatchObject({ trial: best.trial, metric: best.valLoss });
  const names = [...objects.keys()];
  expect(names).toEqual(
    expect.arrayContaining([
      'state/demo/runs/tuned/1/tuning.json',
      'state/demo/runs/tuned/1/trials/2/metrics.json',
      'state/demo/runs/tuned/1/model.json',
    ]),
  );
  await h.close();
}, 150_000);
