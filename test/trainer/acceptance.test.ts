/**
 * The trainer's acceptance on real data (examples/data), through the same entry as `mlform train`:
 * each model must beat the naive baseline of its task, and a seed must reproduce its metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveTraining } from '../../trainer/main.js';
import { runTraining, type RunTrainingResult } from '../../trainer/run-training.js';
import type { TrainingRunSpec } from '../../resources/training-run.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-accept-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const env = { MLFORM_BACKEND: 'wasm' };

async function trainFile(
  file: string,
  out: string,
  adjust: (spec: TrainingRunSpec) => void = () => {},
): Promise<RunTrainingResult> {
  const resolved = await resolveTraining({ specFile: file, out: join(dir, out) }, env);
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.diagnostics));
  const spec = structuredClone(resolved.value.resource.manifest.spec) as TrainingRunSpec;
  adjust(spec);
  return runTraining({
    spec,
    baseDir: resolved.value.baseDir,
    outDir: resolved.value.outDir,
    onEvent: () => {},
    env,
  });
}

describe('trainer acceptance on real data', () => {
  it('cars MPG regression (real missing values) beats the mean baseline MAE by at least 40%', async () => {
    const { metrics } = await trainFile('examples/quickstart/training.yaml', 'cars');
    expect(metrics.metrics.val_mae).toBeLessThan(0.6 * metrics.baseline.val_mae);
    expect(metrics.ratioToBaseline).toBeLessThan(0.6);
    expect(metrics.backend.backend).toBe('wasm');
  });

  it('the same seed on the same backend gives identical metrics', async () => {
    const a = await trainFile('examples/quickstart/training.yaml', 'cars-a');
    const b = await trainFile('examples/quickstart/training.yaml', 'cars-b');
    expect(b.metrics.metrics).toEqual(a.metrics.metrics);
    const c = await trainFile('examples/quickstart/training.yaml', 'cars-c', (spec) => {
      spec.trainer.builtin!.seed = 43;
    });
    expect(c.metrics.metrics).not.toEqual(a.metrics.metrics);
  });

  it('iris classification beats the majority class', async () => {
    const { metrics } = await trainFile('examples/trainer/iris.yaml', 'iris');
    expect(metrics.metrics.val_accuracy).toBeGreaterThan(0.9);
    expect(metrics.metrics.val_accuracy).toBeGreaterThan(metrics.baseline.val_accuracy);
    expect(metrics.confusionMatrix?.labels).toEqual(['setosa', 'versicolor', 'virginica']);
  });

  it('seattle-weather classification beats the majority class', async () => {
    const { metrics } = await trainFile('examples/trainer/seattle-weather.yaml', 'weather');
    expect(metrics.metrics.val_accuracy).toBeGreaterThan(metrics.baseline.val_accuracy + 0.2);
  });

  it('forecasting a seasonal series (Seattle max temperature) beats the last value', async () => {
    const { metrics } = await trainFile('examples/trainer/seattle-temperature.yaml', 'temp');
    expect(metrics.metrics.val_mae).toBeLessThan(metrics.baseline.val_mae);
  });

  it('forecasting a trending series (CO2) beats the last value although validation leaves the training range', async () => {
    const { metrics } = await trainFile('examples/trainer/co2-forecast.yaml', 'co2', (spec) => {
      spec.trainer.builtin!.hyperparameters.epochs = 15;
    });
    expect(metrics.metrics.val_mae).toBeLessThan(0.8 * metrics.baseline.val_mae);
  });

  it('forecasting holds up across a level shift where the last value is a strong baseline', async () => {
    // A seasonal series with noise that jumps by +40 just before the validation part.
    let random = 12345;
    const noise = () => ((random = (random * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5) * 2;
    const rows = ['t,value'];
    for (let t = 0; t < 600; t++) {
      const level = t >= 470 ? 40 : 0;
      rows.push(`${t},${(level + 10 * Math.sin((2 * Math.PI * t) / 12) + noise()).toFixed(3)}`);
    }
    await writeFile(join(dir, 'shift.csv'), `${rows.join('\n')}\n`);
    const manifest = join(dir, 'shift.yaml');
    await writeFile(
      manifest,
      `apiVersion: mlform/v1
kind: TrainingRun
metadata: {name: shift}
spec:
  trainer:
    builtin:
      task: forecasting
      data: {uri: file://shift.csv, target: value, features: [], window: {size: 12, horizon: 1, timeColumn: t}}
      network: {type: mlp, layers: [32]}
      hyperparameters: {epochs: 60, batchSize: 32, learningRate: 0.003, earlyStopping: {patience: 10}}
      seed: 2
`,
    );
    const { metrics } = await trainFile(manifest, 'shift');
    expect(metrics.metrics.val_mae).toBeLessThan(metrics.baseline.val_mae);
  });
});
