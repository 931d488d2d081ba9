/**
 * Plan checks of a TrainingRun's pruner, objectives and penalties
 * (resources/tuning-objective-checks.ts): each rule with its path and hint, through
 * checkTrainingRunSpec, the loader (file:line:col) and `mlform validate`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadManifests } from '../../manifests/load.js';
import type { Diagnostic } from '../../resources/diagnostic.js';
import { checkTrainingRunSpec, type TrainingRunSpec } from '../../resources/training-run.js';
import { checkTuningObjectives } from '../../resources/tuning-objective-checks.js';
import { runCli } from '../e2e/cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-objective-checks-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** An iris TrainingRun manifest whose `tuning` block ends with `extra` (YAML, indented 4). */
const manifest = (
  extra: string,
  network = '{type: mlp, layers: [16], activation: relu}',
) => `apiVersion: mlform/v1
kind: TrainingRun
metadata:
  name: iris-tuned
spec:
  trainer:
    builtin:
      task: classification
      data: {uri: file://iris.csv, target: species}
      network: ${network}
      hyperparameters: {epochs: 9, learningRate: 0.01}
  tuning:
    trials: 8
    metric: val_loss
    space:
      learningRate: {logUniform: [0.001, 0.1]}
${extra}`;

/** `line:col` of the value of `key` in a line of `extra` (1-based, as the loader reports). */
const valueAt = (line: number, text: string, key: string): string =>
  `${line}:${text.indexOf(`${key}: `) + key.length + 3}`;

let count = 0;
async function load(extra: string, network?: string): Promise<Diagnostic[]> {
  const file = join(dir, `run-${++count}.yaml`);
  await writeFile(file, manifest(extra, network));
  return (await loadManifests([file])).diagnostics;
}
const brief = (d: Diagnostic) => ({
  at: `${d.line}:${d.col}`,
  severity: d.severity,
  code: d.code,
  message: d.message,
  hint: d.hint,
});

describe('pruner options', () => {
  it('refuses an option the chosen pruner ignores, at the option', async () => {
    const diagnostics = await load('    pruner: {type: median, eta: 2, minEpochs: 2}\n');
    expect(diagnostics.map(brief)).toEqual([
      {
        at: valueAt(17, '    pruner: {type: median, eta: 2, minEpochs: 2}', 'eta'),
        severity: 'error',
        code: 'tuning-pruner-option',
        message: 'pruner.eta applies to `type: asha` and `type: hyperband`, not median',
        hint: 'remove eta, or use `type: asha`',
      },
      {
        at: valueAt(17, '    pruner: {type: median, eta: 2, minEpochs: 2}', 'minEpochs'),
        severity: 'error',
        code: 'tuning-pruner-option',
        message: 'pruner.minEpochs applies to `type: asha` and `type: hyperband`, not median',
        hint: 'remove minEpochs, or use `type: asha`',
      },
    ]);
    const asha = await load('    pruner: {type: asha, warmupEpochs: 1, startupTrials: 2}\n');
    expect(asha.map((d) => [d.code, d.path?.join('.'), d.hint])).toEqual([
      [
        'tuning-pruner-option',
        'spec.tuning.pruner.warmupEpochs',
        'remove warmupEpochs, or use `type: median`',
      ],
      [
        'tuning-pruner-option',
        'spec.tuning.pruner.startupTrials',
        'remove startupTrials, or use `type: median`',
      ],
    ]);
    expect(await load('    pruner: {type: none, eta: 3}\n')).toHaveLength(1);
  });

  it('needs minEpochs below the epochs', async () => {
    const diagnostics = await load('    pruner: {type: hyperband, minEpochs: 9}\n');
    expect(diagnostics.map(brief)).toEqual([
      {
        at: valueAt(17, '    pruner: {type: hyperband, minEpochs: 9}', 'minEpochs'),
        severity: 'error',
        code: 'tuning-pruner-min-epochs',
        message:
          'pruner.minEpochs (9) must be below the epochs (9): the first rung would come after training ends',
        hint: 'use a minEpochs below 9, or raise hyperparameters.epochs',
      },
    ]);
    expect(await load('    pruner: {type: asha, minEpochs: 8, eta: 2}\n')).toEqual([]);
  });

  it('warns when the median pruner could never prune', async () => {
    expect(
      (await load('    pruner: {type: median, startupTrials: 8, warmupEpochs: 9}\n')).map(brief),
    ).toEqual([
      {
        at: valueAt(17, '    pruner: {type: median, startupTrials: 8, warmupEpochs: 9}', 'startupTrials'),
        severity: 'warning',
        code: 'tuning-pruner-never',
        message:
          'the median pruner waits for 8 completed trials, and the search has 8: no trial will be pruned',
        hint: 'set startupTrials below 8, or raise trials',
      },
      {
        at: valueAt(17, '    pruner: {type: median, startupTrials: 8, warmupEpochs: 9}', 'warmupEpochs'),
        severity: 'warning',
        code: 'tuning-pruner-never',
        message: 'pruner.warmupEpochs (9) is not below the epochs (9): no trial will be pruned',
        hint: 'use a warmupEpochs below 9',
      },
    ]);
    expect(await load('    pruner: {type: median, startupTrials: 3, warmupEpochs: 2}\n')).toEqual([]);
  });
});

describe('objectives', () => {
  it('refuses selection without objectives', async () => {
    expect((await load('    selection: knee\n')).map(brief)).toEqual([
      {
        at: valueAt(17, '    selection: knee', 'selection'),
        severity: 'error',
        code: 'tuning-selection',
        message: '`selection` chooses among Pareto-optimal trials and needs `objectives`',
        hint: 'add objectives (e.g. `[{metric: parameters, goal: minimize}]`), or remove selection',
      },
    ]);
  });

  it('refuses the metric again, a repeat and a metric the task does not report', async () => {
    const diagnostics = await load(
      '    objectives:\n' +
        '      - {metric: val_loss, goal: minimize}\n' +
        '      - {metric: parameters, goal: minimize}\n' +
        '      - {metric: val_acuracy, goal: maximize}\n',
    );
    expect(diagnostics.map(brief)).toEqual([
      {
        at: valueAt(18, '      - {metric: val_loss, goal: minimize}', 'metric'),
        severity: 'error',
        code: 'tuning-objective-duplicate',
        message: 'objective "val_loss" is already the tuning `metric`',
        hint: '`metric` is the first objective; list only further ones here',
      },
      {
        at: valueAt(20, '      - {metric: val_acuracy, goal: maximize}', 'metric'),
        severity: 'error',
        code: 'tuning-objective-unknown',
        message: 'the classification trainer reports no metric "val_acuracy"',
        hint: 'did you mean "val_accuracy"?',
      },
    ]);
    const twice = await load(
      '    objectives: [{metric: modelBytes, goal: minimize}, {metric: modelBytes, goal: minimize}]\n',
    );
    expect(twice.map((d) => [d.code, d.message, d.path?.join('.')])).toEqual([
      [
        'tuning-objective-duplicate',
        'objective "modelBytes" is listed twice',
        'spec.tuning.objectives.1.metric',
      ],
    ]);
    const mae = await load('    objectives: [{metric: val_mae, goal: minimize}]\n');
    expect(mae[0].hint).toBe('use one of loss, val_loss, val_accuracy, val_macro_f1, parameters, modelBytes');
  });

  it('accepts a multi-objective search the trainer can answer', async () => {
    expect(
      await load(
        '    objectives: [{metric: parameters, goal: minimize}, {metric: val_accuracy, goal: maximize}]\n' +
          '    selection: knee\n' +
          '    penalties: {gradients: 0.5, generalization: 0.1, stability: 0.05, deadNeurons: 0.1}\n',
      ),
    ).toEqual([]);
  });
});

describe('penalties', () => {
  it('warns that deadNeurons adds nothing without ReLU layers, unless the space can bring them', async () => {
    const tanh = await load(
      '    penalties: {deadNeurons: 0.1}\n',
      '{type: mlp, layers: [16], activation: tanh}',
    );
    expect(tanh.map(brief)).toEqual([
      {
        at: valueAt(17, '    penalties: {deadNeurons: 0.1}', 'deadNeurons'),
        severity: 'warning',
        code: 'tuning-penalty-no-effect',
        message:
          'penalties.deadNeurons has no effect: activation tanh is not ReLU, so no unit counts as dead',
        hint: 'remove it, or use `network.activation: relu`',
      },
    ]);
    const tuned = await load(
      '      network.activation: {choice: [tanh, relu]}\n    penalties: {deadNeurons: 0.1}\n',
      '{type: mlp, layers: [16], activation: tanh}',
    );
    expect(tuned).toEqual([]);
  });

  it('a recurrent network has no ReLU layers', () => {
    const spec = {
      trainer: { builtin: { task: 'forecasting', network: { type: 'lstm', activation: 'relu' } } },
      tuning: { trials: 2, metric: 'val_loss', space: {}, penalties: { deadNeurons: 1 } },
    } as unknown as TrainingRunSpec;
    expect(checkTuningObjectives(spec).map((d) => d.message)).toEqual([
      'penalties.deadNeurons has no effect: a lstm network has no ReLU layers, so no unit counts as dead',
    ]);
  });
});

it('checkTrainingRunSpec runs these checks', () => {
  const spec = {
    trainer: {
      builtin: {
        task: 'regression',
        network: { type: 'mlp', activation: 'relu' },
        hyperparameters: { epochs: 5 },
        data: { uri: 'x.csv', target: 'y' },
      },
    },
    tuning: { trials: 2, parallel: 1, metric: 'val_loss', space: {}, selection: 'primary' },
  } as unknown as TrainingRunSpec;
  expect(checkTrainingRunSpec(spec).map((d) => d.code)).toContain('tuning-selection');
});

it('mlform validate shows the error at its line with the fix', async () => {
  const file = join(dir, 'validate.yaml');
  const line = '    pruner: {type: asha, minEpochs: 12}';
  await writeFile(file, manifest(`${line}\n`));
  const { code, stdout } = runCli(['validate', file], 30_000);
  expect(code).toBe(1);
  expect(stdout).toContain(
    `${file}:${valueAt(17, line, 'minEpochs')} error [tuning-pruner-min-epochs] pruner.minEpochs (12) must be below the epochs (9): the first rung would come after training ends`,
  );
  expect(stdout).toContain('hint: use a minEpochs below 9, or raise hyperparameters.epochs');
});
