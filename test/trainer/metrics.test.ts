import { describe, expect, it } from 'vitest';
import type { Preprocess, Samples } from '../../trainer/types.js';
import {
  accuracy,
  baselineMetrics,
  confusionMatrix,
  evaluate,
  evaluateConfusion,
  macroF1,
  mae,
  r2,
  ratioToBaseline,
  regressionMetrics,
  rmse,
  smape,
} from '../../trainer/metrics/index.js';

describe('regression metrics (hand-computed)', () => {
  const yTrue = [3, -0.5, 2, 7];
  const yPred = [2.5, 0, 2, 8];

  it('mae, rmse, r2', () => {
    // |errors| = 0.5, 0.5, 0, 1
    expect(mae(yTrue, yPred)).toBeCloseTo(0.5, 12);
    // squares 0.25 + 0.25 + 0 + 1 = 1.5; sqrt(1.5 / 4)
    expect(rmse(yTrue, yPred)).toBeCloseTo(Math.sqrt(0.375), 12);
    // mean 2.875; SS_tot = 0.015625 + 11.390625 + 0.765625 + 17.015625 = 29.1875; 1 - 1.5 / 29.1875
    expect(r2(yTrue, yPred)).toBeCloseTo(0.9486081370449679, 12);
  });

  it('smape in percent, symmetric', () => {
    // 2|y-p|/(|y|+|p|): 1/5.5, 1/0.5, 0, 2/15
    const expected = ((1 / 5.5 + 2 + 0 + 2 / 15) / 4) * 100;
    expect(smape(yTrue, yPred)).toBeCloseTo(expected, 10);
    expect(smape([100], [110])).toBeCloseTo(smape([110], [100]), 12);
    expect(smape([100], [110])).toBeCloseTo((20 / 210) * 100, 10);
  });

  it('smape edge cases: 0/0 counts as 0, opposite signs hit 200', () => {
    expect(smape([0, 0], [0, 0])).toBe(0);
    expect(smape([0, 4], [0, 4])).toBe(0);
    expect(smape([0], [5])).toBe(200);
    expect(smape([1], [-1])).toBe(200);
    expect(smape([0, 1], [0, 3])).toBeCloseTo(50, 12); // (0 + 2*2/4) / 2 = 0.5
  });

  it('r2 of a constant target: 1 when exact, else 0 (finite for JSON)', () => {
    expect(r2([5, 5, 5], [5, 5, 5])).toBe(1);
    expect(r2([5, 5, 5], [4, 5, 6])).toBe(0);
    expect(r2([1, 2, 3], [2, 2, 2])).toBe(0); // predicting the mean explains nothing
  });

  it('empty input gives NaN, length mismatch throws', () => {
    expect(regressionMetrics([], []).mae).toBeNaN();
    expect(() => mae([1, 2], [1])).toThrow(/differ in length/);
  });
});

describe('classification metrics (hand-computed)', () => {
  const labels = ['a', 'b', 'c'];

  it('confusion matrix, accuracy, macro-F1', () => {
    // true:  a a a b b c
    // pred:  a a b b c c
    const cm = confusionMatrix(labels, [0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 2, 2]);
    expect(cm).toEqual({
      labels,
      matrix: [
        [2, 1, 0],
        [0, 1, 1],
        [0, 0, 1],
      ],
    });
    expect(accuracy(cm)).toBeCloseTo(4 / 6, 12);
    // F1 a = 2*2/(2+3) = 0.8; b = 2*1/(2+2) = 0.5; c = 2*1/(2+1) = 2/3
    expect(macroF1(cm)).toBeCloseTo((0.8 + 0.5 + 2 / 3) / 3, 12);
  });

  it('macro-F1 leaves out a class that never occurs, counts a never-predicted one as 0', () => {
    // "c" is neither true nor predicted: not part of the average.
    const absent = confusionMatrix(labels, [0, 0, 1, 1], [0, 1, 1, 1]);
    // F1 a = 2*1/(1+2) = 2/3; b = 2*2/(3+2) = 0.8
    expect(macroF1(absent)).toBeCloseTo((2 / 3 + 0.8) / 2, 12);
    // "c" is true once but never predicted: F1 0, and it counts.
    const missed = confusionMatrix(labels, [0, 0, 1, 2], [0, 0, 1, 1]);
    // F1 a = 1; b = 2*1/(2+1) = 2/3; c = 0
    expect(macroF1(missed)).toBeCloseTo((1 + 2 / 3 + 0) / 3, 12);
  });

  it('rejects out-of-range class indices', () => {
    expect(() => confusionMatrix(labels, [3], [0])).toThrow(/out of range/);
  });
});

const numericPreprocess = (
  mean: number,
  std: number,
  mode: 'absolute' | 'delta' = 'absolute',
): Preprocess => ({
  formatVersion: 1,
  task: mode === 'delta' ? 'forecasting' : 'regression',
  features: [],
  target: { type: 'numeric', name: 'y', mean, std, mode },
  encodedWidth: 0,
  inputShape: [0],
});

const samples = (y: number[], anchor?: number[]): Samples => ({
  x: new Float32Array(0),
  y: Float32Array.from(y),
  count: y.length,
  anchor: anchor ? Float64Array.from(anchor) : undefined,
});

describe('evaluate and baselines in original units', () => {
  it('regression: decodes both sides with the target scaling', () => {
    const pre = numericPreprocess(10, 2);
    // true 10, 12, 8 ; predicted 11, 12, 8
    const m = evaluate('regression', pre, Float32Array.from([0, 1, -1]), Float32Array.from([0.5, 1, -1]));
    expect(m.mae).toBeCloseTo(1 / 3, 6);
    expect(Object.keys(m).sort()).toEqual(['mae', 'r2', 'rmse', 'smape']);
  });

  it('regression baseline predicts the train mean; ratio is model MAE / baseline MAE', () => {
    const pre = numericPreprocess(10, 2);
    const validation = samples([1, -1, 2]); // 12, 8, 14
    const base = baselineMetrics('regression', pre, samples([0]), validation);
    expect(base.mae).toBeCloseTo((2 + 2 + 4) / 3, 6);
    expect(ratioToBaseline('regression', { mae: 1 }, base)).toBeCloseTo(3 / 8, 6);
    expect(ratioToBaseline('regression', { val_mae: 0 }, { val_mae: 0 })).toBe(1);
  });

  it('forecasting: delta targets decode around the anchor; persistence baseline is the anchor', () => {
    const pre = numericPreprocess(0.5, 2, 'delta');
    // true values: anchor + 0.5 + 2y -> 100 + 0.5 + 0.5 = 101, 200.5 + 0.5 - 0.5 = 200.5
    const validation = samples([0.25, -0.25], [100, 200.5]);
    const m = evaluate('forecasting', pre, validation.y, Float32Array.from([0.25, 0]), validation.anchor);
    expect(m.mae).toBeCloseTo(0.5 / 2, 6); // predictions 101 (exact) and 201 (0.5 off)
    const base = baselineMetrics('forecasting', pre, samples([0], [0]), validation);
    expect(base.mae).toBeCloseTo((1 + 0) / 2, 6); // persistence: 100 vs 101, 200.5 vs 200.5
    expect(() => evaluate('forecasting', pre, validation.y, validation.y)).toThrow(/anchor/);
  });

  it('classification: confusion matrix, majority baseline, accuracy ratio', () => {
    const pre: Preprocess = {
      formatVersion: 1,
      task: 'classification',
      features: [],
      target: { type: 'label', name: 'species', labels: ['x', 'y'] },
      encodedWidth: 0,
      inputShape: [0],
    };
    const oneHot = (classes: number[]) =>
      Float32Array.from(classes.flatMap((c) => (c === 0 ? [1, 0] : [0, 1])));
    const train = samples([]);
    train.y = oneHot([1, 1, 0]);
    train.count = 3;
    const validation = samples([]);
    validation.y = oneHot([0, 1, 1, 1]);
    validation.count = 4;
    const probabilities = Float32Array.from([0.9, 0.1, 0.2, 0.8, 0.6, 0.4, 0.3, 0.7]);
    const m = evaluate('classification', pre, validation.y, probabilities);
    expect(m).toEqual({ accuracy: 0.75, macro_f1: expect.closeTo((2 / 3 + 0.8) / 2, 12) });
    expect(evaluateConfusion(pre, validation.y, probabilities)).toEqual({
      labels: ['x', 'y'],
      matrix: [
        [1, 0],
        [1, 2],
      ],
    });
    const base = baselineMetrics('classification', pre, train, validation);
    expect(base.accuracy).toBe(0.75); // always "y"
    expect(ratioToBaseline('classification', m, base)).toBe(1);
  });
});
