import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BuiltinTrainer } from '../../resources/training-run.js';
import { loadTable, type Table } from '../../trainer/data/load-table.js';
import { prepareData } from '../../trainer/data/prepare.js';
import { RELATIVE_LEVEL_RATIO } from '../../trainer/data/windows.js';
import { baselineMetrics } from '../../trainer/metrics/baseline.js';
import { decodeNumbers } from '../../trainer/metrics/evaluate.js';
import { mae } from '../../trainer/metrics/regression.js';
import type { FeatureEncoding, PreparedData } from '../../trainer/types.js';

const examples = join(import.meta.dirname, '../../examples');

function forecasting(
  target: string,
  window: { size: number; horizon: number; timeColumn: string },
  data: Partial<BuiltinTrainer['data']> = {},
): BuiltinTrainer {
  return {
    task: 'forecasting',
    seed: 42,
    network: { type: 'lstm', layers: [8], activation: 'tanh', dropout: 0 },
    hyperparameters: { epochs: 1, batchSize: 32, learningRate: 0.001, optimizer: 'adam' },
    data: { uri: 'file://x.csv', target, validationSplit: 0.2, maxCategories: 64, window, ...data },
  };
}

const table = (rows: Record<string, unknown>[]): Table => ({
  rows,
  columns: [...new Set(rows.flatMap((r) => Object.keys(r)))],
  sha256: 'test',
  bytes: 0,
});

const numericFeature = (p: PreparedData, name: string) =>
  p.preprocess.features.find((f) => f.name === name) as Extract<FeatureEncoding, { type: 'numeric' }>;

describe('forecasting windows on co2-concentration.csv', () => {
  let co2: Table;
  let p: PreparedData;
  const spec = forecasting('CO2', { size: 12, horizon: 1, timeColumn: 'Date' });
  const value = (row: number) => Number(co2.rows[row].CO2);
  const time = (row: number) => Date.parse(String(co2.rows[row].Date));

  beforeAll(async () => {
    co2 = await loadTable('file://data/co2-concentration.csv', { baseDir: examples });
    p = prepareData(spec, co2);
  });

  it('splits in time: the last 20% of rows are validation, every validation target after every train target', () => {
    expect(p.rows).toEqual({ total: 741, train: 593, validation: 148, dropped: 0 });
    // Train targets are rows 12..592 (the first 12 rows only serve as inputs).
    expect(p.train.count).toBe(593 - 12);
    expect(p.validation.count).toBe(148);
    const trainTargets = [...p.train.rowIndex!];
    const validationTargets = [...p.validation.rowIndex!];
    expect(trainTargets.filter((r) => validationTargets.includes(r))).toEqual([]);
    expect(Math.max(...trainTargets.map(time))).toBeLessThan(Math.min(...validationTargets.map(time)));
    // Anchors (last input rows) of train windows are all train rows too.
    expect(Math.max(...p.train.anchor!)).toBeLessThanOrEqual(Math.max(...trainTargets.map(value)));
  });

  it('inputs: the target first (its own past), [size, width] per sample, level-free relative to the last row', () => {
    expect(p.preprocess.features.map((f) => f.name)).toEqual(['CO2', 'adjusted CO2']);
    expect(p.preprocess.inputShape).toEqual([12, 2]);
    expect(p.preprocess.window).toEqual({ size: 12, horizon: 1, timeColumn: 'Date' });
    const target = numericFeature(p, 'CO2');
    expect(target.relative).toBe(true);
    // adjusted CO2 trends too: its level varies far more than within a window, so it is relative.
    expect(numericFeature(p, 'adjusted CO2').relative).toBe(true);
    const s = 100;
    const e = p.train.rowIndex![s] - 1; // the file is in time order and nothing is dropped
    const x = p.train.x.subarray(s * 24, (s + 1) * 24);
    expect(x[11 * 2]).toBe(0); // last row of the window, relative to itself
    expect(x[0]).toBeCloseTo((value(e - 11) - value(e)) / target.std, 5);
    expect(p.train.anchor![s]).toBe(value(e));
  });

  it('the target is the delta from the anchor, scaled by train deltas; decoding restores original units', () => {
    const deltas = [...p.train.rowIndex!].map((r) => value(r) - value(r - 1));
    const mean = deltas.reduce((a, b) => a + b, 0) / deltas.length;
    const std = Math.sqrt(deltas.reduce((a, b) => a + (b - mean) ** 2, 0) / deltas.length);
    expect(p.preprocess.target).toEqual({
      type: 'numeric',
      name: 'CO2',
      mean: expect.closeTo(mean, 9),
      std: expect.closeTo(std, 9),
      mode: 'delta',
    });
    const decoded = decodeNumbers(p.preprocess, p.validation.y, p.validation.anchor);
    [...p.validation.rowIndex!].forEach((r, s) => expect(decoded[s]).toBeCloseTo(value(r), 4));
  });

  it('persistence baseline: predict the previous value', () => {
    const rows = [...p.validation.rowIndex!];
    const expected = mae(
      rows.map(value),
      rows.map((r) => value(r - 1)),
    );
    expect(baselineMetrics('forecasting', p.preprocess, p.train, p.validation).mae).toBeCloseTo(expected, 6);
    expect(expected).toBeGreaterThan(0.5); // seasonal: persistence is beatable, but not by predicting a level
  });

  it('validation inputs stay in the training range although the series leaves it', () => {
    const maxAbs = (x: Float32Array) => x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(Math.min(...p.validation.rowIndex!.map(value))).toBeGreaterThan(
      Math.max(...p.train.rowIndex!.map(value)) - 5,
    );
    expect(maxAbs(p.validation.x)).toBeLessThan(1.5 * maxAbs(p.train.x));
    expect(maxAbs(p.validation.y)).toBeLessThan(1.5 * maxAbs(p.train.y));
  });

  it('fits on training rows only: rewriting validation rows changes no statistic', () => {
    const validation = new Set(p.validation.rowIndex!);
    const rows = co2.rows.map((row, i) =>
      validation.has(i) ? { ...row, CO2: '999.9', 'adjusted CO2': '5' } : row,
    );
    const again = prepareData(spec, { ...co2, rows });
    expect(again.preprocess).toEqual(p.preprocess);
    expect(again.train.x).toEqual(p.train.x);
    expect(again.train.y).toEqual(p.train.y);
  });

  it('horizon 3 predicts the value 3 rows after the window', () => {
    const h3 = prepareData(forecasting('CO2', { size: 6, horizon: 3, timeColumn: 'Date' }), co2);
    [...h3.train.rowIndex!].slice(0, 20).forEach((r, s) => expect(h3.train.anchor![s]).toBe(value(r - 3)));
    expect(h3.train.count + h3.validation.count).toBe(741 - 6 - 3 + 1);
    expect(Math.max(...h3.train.rowIndex!)).toBeLessThan(593);
    expect(Math.min(...h3.validation.rowIndex!)).toBe(593);
  });
});

describe('forecasting windows (synthetic)', () => {
  const series = (n: number, f: (t: number) => number) =>
    Array.from({ length: n }, (_, t) => ({
      day: new Date(Date.UTC(2020, 0, 1 + t)).toISOString().slice(0, 10),
      y: f(t),
    }));

  it('sorts by the time column and drops rows without a time or a target', () => {
    const rows: Record<string, unknown>[] = series(60, (t) => t * 2);
    rows.push({ day: null, y: 5 }, { day: '2021-01-01', y: 'NA' });
    const shuffled = [...rows].reverse();
    const spec = forecasting('y', { size: 4, horizon: 1, timeColumn: 'day' });
    const sorted = prepareData(spec, table(rows));
    const reversed = prepareData(spec, table(shuffled));
    expect(sorted.rows.dropped).toBe(2);
    expect(reversed.preprocess).toEqual(sorted.preprocess);
    expect(reversed.train.x).toEqual(sorted.train.x);
    expect(reversed.validation.y).toEqual(sorted.validation.y);
  });

  it('a level shift in validation does not move the encoded inputs or targets', () => {
    // A random-walk-like series with a step of +1000 where validation begins.
    const rows = series(200, (t) => Math.sin(t / 3) * 5 + (t >= 160 ? 1000 : 0) + t * 0.1);
    const p = prepareData(forecasting('y', { size: 8, horizon: 1, timeColumn: 'day' }), table(rows));
    // Windows wholly after the step look exactly like windows before it.
    const last = p.validation.count - 1;
    const x = p.validation.x.subarray(last * 8, (last + 1) * 8);
    for (const v of x) expect(Math.abs(v)).toBeLessThan(5);
    expect(Math.abs(p.validation.y[last])).toBeLessThan(5);
  });

  it('a stationary covariate keeps its level; a trending one becomes relative', () => {
    const rows = series(300, (t) => t).map((row, t) => ({
      ...row,
      noise: Math.sin(t * 12.9898) * 3,
      trend: t * 0.5,
    }));
    const p = prepareData(forecasting('y', { size: 6, horizon: 1, timeColumn: 'day' }), table(rows));
    expect(numericFeature(p, 'noise').relative).toBeUndefined();
    expect(numericFeature(p, 'trend').relative).toBe(true);
    expect(RELATIVE_LEVEL_RATIO).toBe(3);
  });

  it('explains windows that do not fit and unusable time columns', () => {
    expect(() =>
      prepareData(forecasting('y', { size: 50, horizon: 1, timeColumn: 'day' }), table(series(55, (t) => t))),
    ).toThrow(
      /55 usable rows are too few for window size 50 and horizon 1 with validationSplit 0.2: that leaves 0 training and 5 validation windows/,
    );
    const rows = series(30, (t) => t).map((r) => ({ ...r, day: `d${r.day}` }));
    expect(() =>
      prepareData(forecasting('y', { size: 3, horizon: 1, timeColumn: 'day' }), table(rows)),
    ).toThrow(/data\.window\.timeColumn "day" is categorical; it must hold dates or numbers/);
  });
});
