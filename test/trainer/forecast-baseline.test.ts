/**
 * Forecasting baselines as the field measures them (trainer/metrics/season.ts, baseline.ts): the
 * season (declared or inferred from the time column), the seasonal-naive forecast, MASE (Hyndman &
 * Koehler 2006) checked against hand-computed values, on seattle-weather.csv (daily: season 7) and
 * co2-concentration.csv (monthly: 12), through a real training's metrics.json, and the gate rules.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { runCli } from '../e2e/cli.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuiltinTrainer, TrainingRunSpec } from '../../resources/training-run.js';
import { loadTable } from '../../trainer/data/load-table.js';
import { prepareData } from '../../trainer/data/prepare.js';
import { inSampleScale, medianStep, seasonalSourceIndex, seasonOf } from '../../trainer/metrics/season.js';
import { forecastBaselines } from '../../trainer/metrics/baseline.js';
import { evaluateGate } from '../../controller/engine/gate.js';
import { runTraining } from '../../trainer/run-training.js';
import { loadResourceValue } from '../../manifests/load.js';
import type { MetricsFile } from '../../artifact/files.js';
import type { RegisteredModelSpec } from '../../resources/registered-model.js';
import type { Samples } from '../../trainer/types.js';

const examples = join(import.meta.dirname, '../../examples');

describe('the season', () => {
  const days = (from: string, count: number, stepDays: number) =>
    Array.from({ length: count }, (_, i) => Date.parse(from) / 86_400_000 + i * stepDays);
  const months = (count: number) =>
    Array.from({ length: count }, (_, i) => Date.UTC(2020, i, 1) / 86_400_000);

  it('is inferred from the median step of a date column', () => {
    expect(seasonOf(undefined, days('2024-03-30', 50, 1 / 24), 'date', 't')).toEqual({
      length: 24,
      source: 'inferred: time column "t" is hourly',
    });
    expect(seasonOf(undefined, days('2024-01-01', 30, 1), 'date', 't').length).toBe(7);
    expect(seasonOf(undefined, days('2024-01-01', 30, 7), 'date', 't').length).toBe(52);
    expect(seasonOf(undefined, months(30), 'date', 't').length).toBe(12);
    expect(
      seasonOf(
        undefined,
        months(30).filter((_, i) => i % 3 === 0),
        'date',
        't',
      ).length,
    ).toBe(4);
    // A gap (a missing week) does not move the median.
    expect(
      seasonOf(undefined, [...days('2024-01-01', 20, 1), ...days('2024-02-01', 20, 1)], 'date', 't').length,
    ).toBe(7);
  });

  it('is none, with the reason, for numbers or an unusual step; window.season wins', () => {
    expect(seasonOf(undefined, [1, 2, 3], 'numeric', 'step')).toEqual({
      length: null,
      source:
        'none: time column "step" holds numbers, not dates, so its frequency is unknown; set window.season',
    });
    expect(seasonOf(undefined, days('2024-01-01', 10, 3), 'date', 't')).toEqual({
      length: null,
      source:
        'none: time column "t" has a median step of 3 days, not hourly, daily, weekly, monthly or quarterly; set window.season',
    });
    expect(seasonOf(5, [1, 2, 3], 'numeric', 'step')).toEqual({ length: 5, source: 'window.season' });
    expect(medianStep([1, 1, 2, 4])).toBe(1.5);
  });
});

describe('the formulas, by hand', () => {
  it("seasonal naive takes the last observed cycle's value", () => {
    // Target at 10, one step ahead of 9, season 7: the value at 3 (one season back).
    expect(seasonalSourceIndex(10, 7, 1)).toBe(3);
    expect(seasonalSourceIndex(10, 7, 7)).toBe(3);
    // Eight steps ahead with season 7: one season back (2) is not observed yet at 2; two seasons back.
    expect(seasonalSourceIndex(17, 7, 8)).toBe(3);
    expect(seasonalSourceIndex(5, 7, 1)).toBe(-2);
  });

  it("MASE's scale is the in-sample naive MAE at the season's lag", () => {
    const y = [1, 3, 2, 5, 4];
    expect(inSampleScale(y, 1)).toBeCloseTo((2 + 1 + 3 + 1) / 4, 12);
    expect(inSampleScale(y, 2)).toBeCloseTo((1 + 2 + 2) / 3, 12);
    expect(inSampleScale(y, 5)).toBeNaN();
  });

  it('forecastBaselines: MASE of model and last value, the seasonal-naive metrics and ratio', () => {
    const truth = [10, 12, 14];
    const validation = {
      x: new Float32Array(),
      y: new Float32Array(3),
      count: 3,
      seasonal: Float64Array.from([11, 11, 17]),
    };
    const out = forecastBaselines(
      { season: { length: 2, source: 'window.season' }, scale: 2, scaleLag: 2 },
      validation as Samples,
      truth,
      { mae: 1, rmse: 1 },
      { mae: 3, rmse: 3 },
    );
    // Seasonal naive errors 1, 1, 3: MAE 5/3, RMSE sqrt(11/3).
    expect(out.seasonalNaive.mae).toBeCloseTo(5 / 3, 12);
    expect(out.seasonalNaive.rmse).toBeCloseTo(Math.sqrt(11 / 3), 12);
    expect(out.seasonalNaive.mase).toBeCloseTo(5 / 6, 12);
    expect(out.model).toEqual({ mae: 1, rmse: 1, mase: 0.5 });
    expect(out.lastValue).toEqual({ mae: 3, rmse: 3, mase: 1.5 });
    expect(out.report).toEqual({
      season: 2,
      seasonSource: 'window.season',
      maseScale: 2,
      maseScaleLag: 2,
      ratioToSeasonalNaive: 0.6,
    });
    // A constant training series has no scale: MASE is left out, not Infinity.
    const flat = forecastBaselines(
      { season: { length: null, source: 'none: no dates' }, scale: 0, scaleLag: 1 },
      { ...validation, seasonal: undefined } as Samples,
      truth,
      { mae: 1 },
      { mae: 3 },
    );
    expect(flat.model).toEqual({ mae: 1 });
    expect(flat.seasonalNaive).toEqual({});
    expect(flat.report).toMatchObject({
      maseScale: null,
      ratioToSeasonalNaive: null,
      seasonalNaive: 'none: no dates',
    });
  });
});

/** The CSV read independently of the trainer: rows sorted by date, values of `column`. */
async function series(file: string, time: string, column: string): Promise<number[]> {
  const [header, ...lines] = (await readFile(join(examples, 'data', file), 'utf8')).trim().split('\n');
  const names = header.split(',');
  return lines
    .map((l) => l.split(','))
    .map((cells) => ({ t: cells[names.indexOf(time)], v: Number(cells[names.indexOf(column)]) }))
    .sort((a, b) => a.t.localeCompare(b.t))
    .map((r) => r.v);
}

const forecasting = (target: string, timeColumn: string, season?: number): BuiltinTrainer => ({
  task: 'forecasting',
  seed: 3,
  network: { type: 'mlp', layers: [8], activation: 'relu', dropout: 0 },
  hyperparameters: { epochs: 1, batchSize: 64, learningRate: 0.003, optimizer: 'adam' },
  data: {
    uri: 'file://x.csv',
    target,
    features: [],
    validationSplit: 0.2,
    maxCategories: 64,
    window: { size: 7, horizon: 1, timeColumn, ...(season !== undefined && { season }) },
  },
});

describe('on real data', () => {
  it('seattle-weather.csv is daily: season 7, seasonal naive = the value 7 days before, MASE scaled by the weekly naive MAE on train', async () => {
    const table = await loadTable('file://data/seattle-weather.csv', { baseDir: examples });
    const p = prepareData(forecasting('temp_max', 'date'), table);
    const y = await series('seattle-weather.csv', 'date', 'temp_max');
    const boundary = p.rows.train;
    const train = y.slice(0, boundary);
    let scale = 0;
    for (let t = 7; t < train.length; t++) scale += Math.abs(train[t] - train[t - 7]);
    scale /= train.length - 7;
    expect(p.forecast).toEqual({
      season: { length: 7, source: 'inferred: time column "date" is daily' },
      scale: expect.closeTo(scale, 9),
      scaleLag: 7,
    });
    // Validation targets are rows boundary..n-1 in date order; each one's forecast is 7 rows back.
    const targets = y.slice(boundary);
    expect([...p.validation.seasonal!]).toEqual(targets.map((_, i) => y[boundary + i - 7]));
  });

  it('a declared season overrides the inferred one', async () => {
    const table = await loadTable('file://data/seattle-weather.csv', { baseDir: examples });
    const p = prepareData(forecasting('temp_max', 'date', 365), table);
    expect(p.forecast?.season).toEqual({ length: 365, source: 'window.season' });
    const y = await series('seattle-weather.csv', 'date', 'temp_max');
    expect(p.validation.seasonal?.[0]).toBe(y[p.rows.train - 365]);
  });

  describe('metrics.json of a real training', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'mlform-forecast-baseline-'));
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it('co2 (monthly): val_mase, both baselines, the season and the ratio; TensorBoard gets them as scalars', async () => {
      const builtin = {
        ...forecasting('CO2', 'Date'),
        data: {
          ...forecasting('CO2', 'Date').data,
          uri: `file://${join(examples, 'data', 'co2-concentration.csv')}`,
        },
      };
      const loaded = loadResourceValue(
        {
          apiVersion: 'mlform/v1',
          kind: 'TrainingRun',
          metadata: { name: 'co2' },
          spec: { trainer: { builtin } },
        },
        join(dir, 'x.json'),
      );
      expect(loaded.diagnostics).toEqual([]);
      const spec = (loaded.resource?.manifest as { spec: TrainingRunSpec }).spec;
      const out = join(dir, 'co2');
      await runTraining({
        spec,
        baseDir: dir,
        outDir: out,
        onEvent: () => {},
        env: { MLFORM_BACKEND: 'wasm' },
      });
      const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')) as MetricsFile;
      const y = await series('co2-concentration.csv', 'Date', 'CO2');
      const train = y.slice(0, y.length - Math.round(y.length * 0.2));
      const scale = inSampleScale(train, 12);
      expect(metrics.forecast).toEqual({
        season: 12,
        seasonSource: 'inferred: time column "Date" is monthly',
        maseScale: expect.closeTo(scale, 9),
        maseScaleLag: 12,
        ratioToSeasonalNaive: expect.closeTo(
          metrics.metrics.val_mae / metrics.baseline.seasonal_naive_val_mae,
          9,
        ),
      });
      expect(metrics.metrics.val_mase).toBeCloseTo(metrics.metrics.val_mae / scale, 9);
      expect(metrics.baseline.val_mase).toBeCloseTo(metrics.baseline.val_mae / scale, 9);
      expect(metrics.baseline.seasonal_naive_val_mase).toBeCloseTo(
        metrics.baseline.seasonal_naive_val_mae / scale,
        9,
      );
      // The seasonal-naive MAE by hand: each validation month against the same month a year before.
      const first = train.length;
      const hand =
        y.slice(first).reduce((sum, v, i) => sum + Math.abs(v - y[first + i - 12]), 0) / (y.length - first);
      expect(metrics.baseline.seasonal_naive_val_mae).toBeCloseTo(hand, 6);
      // Tags are plain UTF-8 in the event protos: the final scalars include MASE and both baselines.
      const eventFile = (await readdir(join(out, 'tensorboard'))).find((f) => f.startsWith('events'));
      const events = (await readFile(join(out, 'tensorboard', eventFile ?? 'none'))).toString('latin1');
      for (const tag of ['val/mase', 'baseline/val_mase', 'baseline/seasonal_naive_val_mae'])
        expect(events).toContain(tag);
    }, 60_000);
  });
});

describe('mlform train (the built CLI)', () => {
  it('reports val_mase and the seasonal-naive baseline of the seattle temperature forecast', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlform-forecast-cli-'));
    const manifest = join(dir, 'temp.yaml');
    const example = await readFile(join(examples, 'trainer', 'seattle-temperature.yaml'), 'utf8');
    await writeFile(
      manifest,
      example
        .replace(
          'file://../data/seattle-weather.csv',
          `file://${join(examples, 'data', 'seattle-weather.csv')}`,
        )
        .replace('epochs: 60', 'epochs: 2')
        .replace('patience: 10', 'patience: 1'),
    );
    const out = join(dir, 'out');
    const r = runCli([
      'train',
      '--spec',
      manifest,
      '--out',
      out,
      '--allow-data-root',
      join(examples, 'data'),
    ]);
    expect(r.code, r.out).toBe(0);
    const metrics = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')) as MetricsFile;
    expect(metrics.forecast).toMatchObject({
      season: 7,
      seasonSource: 'inferred: time column "date" is daily',
    });
    expect(metrics.metrics.val_mase).toBeGreaterThan(0);
    expect(metrics.baseline.seasonal_naive_val_mase).toBeGreaterThan(0);
    await rm(dir, { recursive: true, force: true });
  }, 120_000);
});

describe('the gate', () => {
  const gate = (
    beatBaseline: RegisteredModelSpec['gate'] extends infer G
      ? G extends { beatBaseline: infer B }
        ? B
        : never
      : never,
  ) => ({
    metric: 'val_mase',
    beatBaseline,
  });
  const baseline = { val_mase: 1.2, seasonal_naive_val_mase: 0.8 };

  it('true and lastValue compare with the baseline of the same name, as before', () => {
    expect(evaluateGate(gate(true), { val_mase: 1 }, baseline)).toEqual({
      passed: true,
      detail: 'beats the baseline 1.2',
    });
    expect(evaluateGate(gate('lastValue'), { val_mase: 1 }, baseline)).toEqual(
      evaluateGate(gate(true), { val_mase: 1 }, baseline),
    );
    expect(evaluateGate(gate(true), { val_mase: 1.3 }, baseline)).toEqual({
      passed: false,
      detail: 'val_mase 1.3 does not beat the baseline 1.2',
    });
    expect(evaluateGate(gate(true), { val_mase: 1 }, {})).toEqual({
      passed: false,
      detail: 'the run reports no baseline val_mase',
    });
  });

  it('seasonalNaive, both and any', () => {
    expect(evaluateGate(gate('seasonalNaive'), { val_mase: 1 }, baseline)).toEqual({
      passed: false,
      detail: 'val_mase 1 does not beat the seasonal-naive baseline 0.8',
    });
    expect(evaluateGate(gate('seasonalNaive'), { val_mase: 0.7 }, baseline).passed).toBe(true);
    expect(evaluateGate(gate('both'), { val_mase: 1 }, baseline)).toEqual({
      passed: false,
      detail: 'val_mase 1 does not beat the seasonal-naive baseline 0.8',
    });
    expect(evaluateGate(gate('both'), { val_mase: 0.7 }, baseline)).toEqual({
      passed: true,
      detail: 'beats the baseline 1.2, beats the seasonal-naive baseline 0.8',
    });
    expect(evaluateGate(gate('any'), { val_mase: 1 }, baseline)).toEqual({
      passed: true,
      detail: 'beats the baseline 1.2',
    });
    expect(evaluateGate(gate('any'), { val_mase: 1.5 }, baseline)).toEqual({
      passed: false,
      detail:
        'val_mase 1.5 does not beat the baseline 1.2 and val_mase 1.5 does not beat the seasonal-naive baseline 0.8',
    });
    // A run without a season has no seasonal-naive baseline: `seasonalNaive` cannot pass, `any` can.
    const lastOnly = { val_mase: 1.2 };
    expect(evaluateGate(gate('seasonalNaive'), { val_mase: 1 }, lastOnly)).toEqual({
      passed: false,
      detail: 'the run reports no seasonal-naive baseline val_mase',
    });
    expect(evaluateGate(gate('any'), { val_mase: 1 }, lastOnly).passed).toBe(true);
  });

  it('the manifest takes the words; true and false keep their meaning and hash', async () => {
    const { loadResourceValue: load } = await import('../../manifests/load.js');
    const model = (beatBaseline: unknown) =>
      load(
        {
          apiVersion: 'mlform/v1',
          kind: 'RegisteredModel',
          metadata: { name: 'm' },
          spec: { gate: { metric: 'val_mae', beatBaseline } },
        },
        'm.yaml',
      );
    for (const word of [true, 'lastValue', 'seasonalNaive', 'both', 'any'])
      expect(model(word).diagnostics).toEqual([]);
    expect(model('seasonal').diagnostics[0]?.path).toEqual(['spec', 'gate', 'beatBaseline']);
    const gateOf = (r: ReturnType<typeof model>) =>
      (r.resource?.manifest as { spec: RegisteredModelSpec }).spec.gate;
    expect(gateOf(model(true))).toEqual({ metric: 'val_mae', beatBaseline: true });
  });
});
