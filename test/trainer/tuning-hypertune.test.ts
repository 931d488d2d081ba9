/** A Vertex AI HyperparameterTuningJob trial: parameter args, the hypertune metric file, resolveTraining. */
import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  HYPERTUNE_DEFAULT_FILE,
  categoryOf,
  hypertuneFile,
  hypertuneLine,
  lastReported,
  parseParameterArgs,
  reportHypertuneMetric,
} from '../../trainer/tuning/hypertune.js';
import { reportTrialMetric, resolveTraining } from '../../trainer/main.js';
import type { MetricsFile } from '../../artifact/files.js';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import type { SearchSpace } from '../../trainer/tuning/search-space.js';

const space: SearchSpace = {
  learningRate: { logUniform: [1e-4, 1e-1] },
  epochs: { int: [2, 8] },
  batchSize: { choice: [16, 32] },
  'network.layers': { choice: [[32], [64, 64]] },
  'network.activation': { choice: ['relu', 'tanh'] },
};

describe('hypertune metric line', () => {
  it("is cloudml-hypertune's: sorted keys, value and step as strings, trial id", () => {
    expect(
      hypertuneLine('val_loss', 0.25, { trialId: '3', globalStep: 12, timestampSeconds: 1700000000.5 }),
    ).toBe(
      '{"checkpoint_path": "", "global_step": "12", "timestamp": 1700000000.5, "trial": "3", "val_loss": "0.25"}',
    );
    const parsed = JSON.parse(hypertuneLine('val_mae', 1.5)) as Record<string, unknown>;
    expect(parsed).toMatchObject({ trial: '0', global_step: '0', val_mae: '1.5' });
    expect(hypertuneFile({})).toBe(HYPERTUNE_DEFAULT_FILE);
    expect(HYPERTUNE_DEFAULT_FILE).toBe('/tmp/hypertune/output.metrics');
    expect(hypertuneFile({ CLOUD_ML_HP_METRIC_FILE: '/x/m' })).toBe('/x/m');
  });

  it('appends to $CLOUD_ML_HP_METRIC_FILE (creating its folder), the newest line last', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hypertune-'));
    const file = join(dir, 'sub', 'output.metrics');
    const env = { CLOUD_ML_HP_METRIC_FILE: file, CLOUD_ML_TRIAL_ID: '7' };
    expect(await reportHypertuneMetric('val_loss', 0.5, { env, globalStep: 3 })).toBe(file);
    await reportHypertuneMetric('val_loss', 0.4, { env, globalStep: 4 });
    const text = await readFile(file, 'utf8');
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1])).toMatchObject({ trial: '7', val_loss: '0.4', global_step: '4' });
    expect(lastReported(text, 'val_loss')).toEqual({ value: 0.4, globalStep: 4 });
    expect(lastReported(text, 'val_mae')).toBeUndefined();
    await rm(dir, { recursive: true, force: true });
  });
});

describe('trial parameter arguments', () => {
  it('decodes --<parameterId>=<value> against the space, and --hp.<path>=<value>', () => {
    expect(
      parseParameterArgs(
        [
          '--learningRate=0.003',
          '--epochs=5.0',
          '--batchSize=32',
          '--network.layers=[64,64]',
          '--network.activation=tanh',
          '--hp.network.dropout=0.2',
          '--hp.optimizer=sgd',
        ],
        space,
      ),
    ).toEqual({
      ok: true,
      params: {
        learningRate: 0.003,
        epochs: 5,
        batchSize: 32,
        'network.layers': [64, 64],
        'network.activation': 'tanh',
        'network.dropout': 0.2,
        optimizer: 'sgd',
      },
    });
    expect(categoryOf([64, 64])).toBe('[64,64]');
    expect(categoryOf('relu')).toBe('relu');
  });

  it('refuses unknown options, values outside a choice, non-integers, bare arguments', () => {
    const bad = (args: string[]) => {
      const r = parseParameterArgs(args, space);
      return r.ok ? '' : r.message;
    };
    expect(bad(['--lr=0.1'])).toMatch(/unknown option "--lr"/);
    expect(bad(['--network.layers=[8]'])).toMatch(/not one of the choices \[32\] \| \[64,64\]/);
    expect(bad(['--epochs=2.5'])).toMatch(/not an integer/);
    expect(bad(['--learningRate=fast'])).toMatch(/not a number/);
    expect(bad(['extra'])).toMatch(/unexpected argument/);
  });
});

describe('resolveTraining for a trial', () => {
  const spec = {
    trainer: {
      builtin: {
        task: 'regression',
        data: { uri: 'gs://b/cars.json', target: 'y', features: ['a'], validationSplit: 0.2 },
        network: { type: 'mlp', layers: [16], activation: 'relu', dropout: 0 },
        hyperparameters: { epochs: 4, batchSize: 32, learningRate: 0.003, optimizer: 'adam' },
      },
    },
    resources: { machineType: 'n1-standard-4' },
    tuning: { trials: 4, parallel: 2, metric: 'val_mae', goal: 'minimize', space },
  };
  const specJson = JSON.stringify({
    apiVersion: 'mlform/v1',
    kind: 'TrainingRun',
    metadata: { name: 'r' },
    spec,
  });

  it('applies the parameters, drops the search, writes to AIP_MODEL_DIR and reports tuning.metric', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hypertune-'));
    const env = {
      MLFORM_SPEC_JSON: specJson,
      CLOUD_ML_TRIAL_ID: '2',
      AIP_MODEL_DIR: 'gs://b/runs/r/1/2/model/',
      CLOUD_ML_HP_METRIC_FILE: join(dir, 'output.metrics'),
    };
    const resolved = await resolveTraining(
      { parameterArgs: ['--learningRate=0.01', '--network.layers=[64,64]'] },
      env,
    );
    if (!resolved.ok) throw new Error(JSON.stringify(resolved.diagnostics));
    const v = resolved.value;
    expect(v.outDir).toBe('gs://b/runs/r/1/2/model');
    expect(v.trial).toEqual({
      id: '2',
      metric: 'val_mae',
      params: { learningRate: 0.01, 'network.layers': [64, 64] },
    });
    const trained = (v.resource.manifest as { spec: TrainingRunSpec }).spec;
    expect(trained.tuning).toBeUndefined();
    expect(trained.trainer.builtin?.hyperparameters.learningRate).toBe(0.01);
    expect(trained.trainer.builtin?.network.layers).toEqual([64, 64]);

    const metrics = {
      metrics: { val_mae: 2.5, val_loss: 0.1 },
      training: { epochs: 4 },
    } as unknown as MetricsFile;
    await reportTrialMetric(v, metrics, env);
    const line = JSON.parse((await readFile(env.CLOUD_ML_HP_METRIC_FILE, 'utf8')).trim()) as Record<
      string,
      unknown
    >;
    expect(line).toMatchObject({ trial: '2', val_mae: '2.5', global_step: '4' });
    await rm(dir, { recursive: true, force: true });
  });

  it('leaves a plain training alone and fails a bad parameter with its message', async () => {
    const plain = await resolveTraining({ out: 'gs://b/out' }, { MLFORM_SPEC_JSON: specJson });
    if (!plain.ok) throw new Error(JSON.stringify(plain.diagnostics));
    expect(plain.value.trial).toBeUndefined();
    expect((plain.value.resource.manifest as { spec: TrainingRunSpec }).spec.tuning).toBeDefined();
    expect(await reportTrialMetric(plain.value, {} as MetricsFile, {})).toBeUndefined();

    const bad = await resolveTraining(
      { out: 'gs://b/out', parameterArgs: ['--batchSize=7'] },
      { MLFORM_SPEC_JSON: specJson },
    );
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.diagnostics[0].message).toMatch(/--batchSize=7: not one of the choices 16 \| 32/);
  });
});
