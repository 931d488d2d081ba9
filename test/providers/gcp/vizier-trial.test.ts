/**
 * The trainer's side of a Vizier trial (trainer/tuning/hypertune.ts, trial-report.ts): a `layers`
 * dimension rebuilt from its count and per-layer units, conditional parameters left out, and the
 * measurement it reports: every epoch's metric, then the score (penalties applied by `scoreTrial`)
 * and each further objective under the study's metric ids.
 */
import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MetricsFile } from '../../../artifact/files.js';
import type { TrainingRunSpec } from '../../../resources/training-run.js';
import { lastReported, parseParameterArgs } from '../../../trainer/tuning/hypertune.js';
import { epochReporter } from '../../../trainer/tuning/trial-report.js';
import { scoreTrial } from '../../../trainer/tuning/objectives/index.js';
import { reportTrialMetric, resolveTraining } from '../../../trainer/main.js';
import { runCli } from '../../e2e/cli.js';

type Space = NonNullable<TrainingRunSpec['tuning']>['space'];
const space: Space = {
  'network.layers': { layers: { count: [1, 3], units: [8, 64] } },
  optimizer: { choice: ['adam', 'sgd'] },
  learningRate: { logUniform: [0.001, 0.1], when: { key: 'optimizer', in: ['adam'] } },
};

describe('a Vizier trial in the trainer', () => {
  it('rebuilds the layer list from the count and the units of each existing layer', () => {
    expect(
      parseParameterArgs(
        ['--network.layers=2', '--network.layers.2=16', '--network.layers.1=48', '--optimizer=sgd'],
        space,
      ),
    ).toEqual({ ok: true, params: { 'network.layers': [48, 16], optimizer: 'sgd' } });
    const bad = (args: string[]) => {
      const r = parseParameterArgs(args, space);
      return r.ok ? 'ok' : r.message;
    };
    expect(bad(['--network.layers=2', '--network.layers.1=8'])).toBe(
      '--network.layers=2: the units of layer 2 (--network.layers.2) are missing',
    );
    expect(bad(['--network.layers=1', '--network.layers.1=8', '--network.layers.3=8'])).toBe(
      '--network.layers.3: layer 3 does not exist with --network.layers=1',
    );
    expect(bad(['--network.layers.1=8'])).toBe(
      '--network.layers.1: the layer count --network.layers=<n> is missing',
    );
    expect(bad(['--network.layers=1', '--network.layers.1=8.5'])).toBe(
      '--network.layers.1=8.5: not an integer',
    );
    expect(bad(['--network.layers=2.0', '--network.layers.1=8', '--network.layers.2=9.0'])).toBe('ok');
  });

  it('trains the trial spec Vizier asked for: layers as a list, an absent conditional parameter keeps the spec value', async () => {
    const builtin = {
      task: 'classification',
      data: { uri: 'gs://b/iris.csv', target: 'species', validationSplit: 0.3 },
      hyperparameters: { epochs: 5, learningRate: 0.003 },
    };
    const spec = {
      trainer: { builtin },
      tuning: {
        trials: 6,
        metric: 'val_mae',
        sampler: { type: 'random' },
        pruner: { type: 'median' },
        objectives: [{ metric: 'val_loss', goal: 'minimize' }],
        space,
      },
    };
    const dir = await mkdtemp(join(tmpdir(), 'vizier-trial-'));
    const env = {
      MLFORM_SPEC_JSON: JSON.stringify({
        apiVersion: 'mlform/v1',
        kind: 'TrainingRun',
        metadata: { name: 'r' },
        spec,
      }),
      CLOUD_ML_TRIAL_ID: '3',
      AIP_MODEL_DIR: 'gs://b/runs/r/1/3/model/',
      CLOUD_ML_HP_METRIC_FILE: join(dir, 'output.metrics'),
    };
    const resolved = await resolveTraining(
      {
        parameterArgs: [
          '--network.layers=3',
          '--network.layers.1=64',
          '--network.layers.2=32',
          '--network.layers.3=8',
          '--optimizer=sgd',
        ],
      },
      env,
    );
    if (!resolved.ok) throw new Error(JSON.stringify(resolved.diagnostics));
    const trained = (resolved.value.resource.manifest as { spec: TrainingRunSpec }).spec;
    expect(trained.trainer.builtin?.network.layers).toEqual([64, 32, 8]);
    expect(trained.trainer.builtin?.hyperparameters).toMatchObject({ optimizer: 'sgd', learningRate: 0.003 });

    // Epochs as intermediate measurements, in order, then the final measurement of both objectives.
    const epochs = epochReporter('val_mae', env);
    for (const [epoch, value] of [
      [1, 4],
      [2, 3],
      [3, 2.5],
    ])
      epochs.onEvent({
        type: 'epoch',
        epoch,
        epochs: 3,
        loss: 1,
        metrics: { val_mae: value },
        etaSeconds: 0,
        elapsedSeconds: 1,
      });
    epochs.onEvent({ type: 'step', epoch: 3, step: 1, loss: 1 });
    await epochs.flush();
    const metrics = {
      metrics: { val_mae: 2.4, val_loss: 0.1 },
      training: { epochs: 3 },
    } as unknown as MetricsFile;
    await reportTrialMetric(resolved.value, metrics, env);
    const text = await readFile(env.CLOUD_ML_HP_METRIC_FILE, 'utf8');
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>);
    const expected = await scoreTrial(spec.tuning as never, metrics, resolved.value.outDir);
    expect(lines.map((l) => [l.global_step, l.val_mae ?? `val_loss=${l.val_loss}`])).toEqual([
      ['1', '4'],
      ['2', '3'],
      ['3', '2.5'],
      ['3', String(expected.score)],
      ['3', `val_loss=${expected.values[1]}`],
    ]);
    expect(lines.every((l) => l.trial === '3')).toBe(true);
    expect(lastReported(text, 'val_mae')).toEqual({ value: expected.score, globalStep: 3 });

    // A missing objective fails the trial (objectives/: ObjectiveError) rather than letting Vizier rank it on nothing.
    const without = { ...metrics, metrics: { val_mae: 2.4 } } as unknown as MetricsFile;
    await expect(reportTrialMetric(resolved.value, without, env)).rejects.toThrow(
      /objectives\[0\]\.metric "val_loss"/,
    );
    await rm(dir, { recursive: true, force: true });
  });
});

describe('a Vizier trial through the built CLI', () => {
  it('trains the asked layers, reports each epoch, then the score and the second objective', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vizier-trial-cli-'));
    const spec = {
      trainer: {
        builtin: {
          task: 'classification',
          data: { uri: 'file://examples/data/iris.csv', target: 'species', validationSplit: 0.3 },
          hyperparameters: { epochs: 3, batchSize: 16 },
          seed: 2,
        },
      },
      tuning: {
        trials: 2,
        metric: 'val_loss',
        pruner: { type: 'median' },
        objectives: [{ metric: 'val_accuracy', goal: 'maximize' }],
        space,
      },
    };
    const metricFile = join(dir, 'output.metrics');
    const r = runCli(
      [
        'train',
        '--json',
        '--out',
        join(dir, 'model'),
        '--network.layers=2',
        '--network.layers.1=12',
        '--network.layers.2=6',
        '--optimizer=adam',
        '--learningRate=0.02',
      ],
      120_000,
      {
        MLFORM_SPEC_JSON: JSON.stringify({
          apiVersion: 'mlform/v1',
          kind: 'TrainingRun',
          metadata: { name: 'iris' },
          spec,
        }),
        CLOUD_ML_TRIAL_ID: '5',
        CLOUD_ML_HP_METRIC_FILE: metricFile,
      },
    );
    expect(r.code, r.out).toBe(0);
    const run = JSON.parse(await readFile(join(dir, 'model', 'run.json'), 'utf8')) as {
      spec: TrainingRunSpec;
    };
    expect(run.spec.trainer.builtin?.network.layers).toEqual([12, 6]);
    expect(run.spec.trainer.builtin?.hyperparameters.learningRate).toBe(0.02);
    const metrics = JSON.parse(await readFile(join(dir, 'model', 'metrics.json'), 'utf8')) as MetricsFile;
    const lines = (await readFile(metricFile, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>);
    const epochs = lines.slice(0, -2);
    expect(epochs.map((l) => l.global_step)).toEqual(['1', '2', '3']);
    expect(epochs.every((l) => Number.isFinite(Number(l.val_loss)) && l.trial === '5')).toBe(true);
    const score = await scoreTrial(spec.tuning as never, metrics, join(dir, 'model'));
    expect(lines.slice(-2)).toMatchObject([
      { global_step: '3', val_loss: String(score.score) },
      { global_step: '3', val_accuracy: String(metrics.metrics.val_accuracy) },
    ]);
    await rm(dir, { recursive: true, force: true });
  }, 120_000);
});
