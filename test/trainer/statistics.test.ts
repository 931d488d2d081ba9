/**
 * The builtin trainer writes statistics.json (monitoring/statistics.ts) next to metrics.json: the
 * raw features of the training rows in quantile bins, and the model's predictions on the training and validation rows, on real data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveTraining } from '../../trainer/main.js';
import { runTraining } from '../../trainer/run-training.js';
import { readStatisticsFile } from '../../monitoring/statistics-file.js';
import { binIndex } from '../../monitoring/reference.js';
import type { TrainingRunSpec } from '../../resources/training-run.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-statistics-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const env = { MLFORM_BACKEND: 'wasm' };

async function train(file: string, out: string) {
  const resolved = await resolveTraining({ specFile: file, out: join(dir, out) }, env);
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.diagnostics));
  const spec = structuredClone(resolved.value.resource.manifest.spec) as TrainingRunSpec;
  spec.trainer.builtin!.hyperparameters.epochs = 2;
  const result = await runTraining({
    spec,
    baseDir: resolved.value.baseDir,
    outDir: resolved.value.outDir,
    onEvent: () => {},
    env,
  });
  const read = await readStatisticsFile(result.outDir);
  if (!read.ok) throw new Error(read.detail);
  return { ...result, spec, statistics: read.statistics };
}

describe('statistics.json from the builtin trainer', () => {
  it('cars: every raw feature of the training rows in quantile bins, the predictions and val metrics', async () => {
    const { statistics, metrics, spec } = await train('examples/quickstart/training.yaml', 'cars');
    const cars = JSON.parse(await readFile('examples/data/cars.json', 'utf8')) as Record<string, unknown>[];
    const labelled = cars.filter((c) => typeof c.Miles_per_Gallon === 'number').length;
    const validation = Math.round(labelled * 0.2);
    expect(statistics.rows).toBe(labelled - validation);
    // The manifest's features, by name and in order: the raw inputs clients send.
    expect(Object.keys(statistics.features)).toEqual(spec.trainer.builtin?.data.features);
    for (const [name, f] of Object.entries(statistics.features)) {
      expect(f.count + f.missing, name).toBe(statistics.rows);
      if (f.type !== 'numeric') continue;
      expect(f.counts.length, name).toBe(f.edges.length + 1);
      expect(f.counts.length, name).toBeLessThanOrEqual(10);
      expect(
        f.counts.reduce((a, b) => a + b, 0),
        name,
      ).toBe(f.count);
      f.edges.forEach((edge, i) => i > 0 && expect(edge, name).toBeGreaterThan(f.edges[i - 1]));
    }
    // Horsepower has real missing values in cars.json, and ~300 distinct-ish values: 10 quantile bins
    // of about 10% each (quantiles of tied values may be a few rows off).
    const hp = statistics.features.Horsepower;
    if (hp.type !== 'numeric') throw new Error('Horsepower is not numeric');
    expect(hp.missing).toBeGreaterThan(0);
    expect(hp.counts).toHaveLength(10);
    for (const n of hp.counts.slice(1)) expect(n / hp.count).toBeGreaterThan(0.05);
    const all = cars.map((c) => c.Horsepower).filter((v): v is number => typeof v === 'number');
    expect(hp.min).toBeGreaterThanOrEqual(Math.min(...all));
    expect(hp.max).toBeLessThanOrEqual(Math.max(...all));
    // Cylinders has five values: its edges are some of them, and every 3-cylinder car is below the first.
    const cyl = statistics.features.Cylinders;
    if (cyl.type !== 'numeric') throw new Error('Cylinders is not numeric');
    for (const edge of cyl.edges) expect([4, 5, 6, 8]).toContain(edge);
    expect(binIndex(cyl.edges, 8)).toBe(cyl.edges.length);
    const origin = statistics.features.Origin;
    expect(origin.type === 'categorical' && Object.keys(origin.categories).sort()).toEqual([
      'Europe',
      'Japan',
      'USA',
    ]);
    // Predictions of every labelled row: training and validation (a larger, steadier reference).
    expect(statistics.prediction).toMatchObject({ type: 'numeric', count: labelled, missing: 0 });
    expect(statistics.validation?.val_mae).toBe(metrics.metrics.val_mae);
  }, 60_000);

  it('iris: the predictions are the predicted labels', async () => {
    const { statistics } = await train('examples/trainer/iris.yaml', 'iris');
    const prediction = statistics.prediction;
    expect(prediction?.type).toBe('categorical');
    if (prediction?.type !== 'categorical') return;
    for (const label of Object.keys(prediction.categories))
      expect(['setosa', 'versicolor', 'virginica']).toContain(label);
    expect(statistics.validation?.val_accuracy).toBeDefined();
  }, 60_000);

  it('forecasting: the series and its covariates as inputs, numeric predictions', async () => {
    const { statistics } = await train('examples/trainer/seattle-temperature.yaml', 'temp');
    expect(Object.keys(statistics.features)).toEqual(['temp_max', 'precipitation', 'temp_min', 'wind']);
    expect(statistics.features.temp_max).toMatchObject({ type: 'numeric', missing: 0 });
    expect(statistics.prediction?.type).toBe('numeric');
  }, 60_000);
});
