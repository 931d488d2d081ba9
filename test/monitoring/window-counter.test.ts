import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { KEPT_WINDOWS, WindowCounter } from '../../monitoring/window-counter.js';
import { WindowSummarySchema } from '../../monitoring/window-summary.js';
import { batchObjectUri, objectTime, windowSummaryUri } from '../../monitoring/layout.js';
import { reference } from './fixtures.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-12-05T10:00:00Z');

const identity = { endpoint: 'mpg-api', model: 'mpg', version: 3, instance: 'server-ab12cd34' };

describe('WindowCounter', () => {
  it("counts raw values into the reference's bins, one summary per window, schema-valid", () => {
    const counter = new WindowCounter(identity, HOUR, reference);
    const start = counter.count(
      [
        { Horsepower: 99.9, Origin: 'USA', Cylinders: 4 },
        { Horsepower: 100, Origin: 'Europe', Cylinders: '8' },
        { Horsepower: null, Origin: 'NA', Cylinders: 6 },
        { Horsepower: 400, Origin: 'Japan', Cylinders: 4 },
      ],
      [15, 25, 35, 30],
      T0 + 5_000,
    );
    expect(start).toBe(T0);
    counter.count([{ Horsepower: 120, Origin: 'USA', Cylinders: 8 }], [19], T0 + HOUR + 1);
    const [first, second, ...rest] = counter.takeChanged();
    expect(rest).toEqual([]);
    expect(Value.Check(WindowSummarySchema, first)).toBe(true);
    expect(first).toMatchObject({
      endpoint: 'mpg-api',
      model: 'mpg',
      version: 3,
      instance: 'server-ab12cd34',
      windowStart: '2026-12-05T10:00:00.000Z',
      windowEnd: '2026-12-05T11:00:00.000Z',
      count: 4,
      features: {
        // [.., 100) [100, 150) [150, ..): 100 itself is in the second bin
        Horsepower: { type: 'numeric', counts: [1, 1, 1], missing: 1 },
        Origin: { type: 'categorical', categories: { USA: 1, Japan: 1 }, other: 1, missing: 1 },
        // numbers and their text are one category, as in training
        Cylinders: { type: 'categorical', categories: { '4': 2, '8': 1 }, other: 1, missing: 0 },
      },
      prediction: { type: 'numeric', counts: [1, 1, 2], missing: 0 },
    });
    expect(first.quality).toBeUndefined();
    expect(second).toMatchObject({ windowStart: '2026-12-05T11:00:00.000Z', count: 1 });
    // Nothing new: nothing to write.
    expect(counter.takeChanged()).toEqual([]);
  });

  it('counts date text in days, as the trainer binned a date column', () => {
    // Model years in days since 1970: edges at 1975-01-01 and 1980-01-01.
    const years = {
      ...reference,
      features: { Year: { ...reference.features.Horsepower, edges: [1826, 3652] } },
    };
    const counter = new WindowCounter(identity, HOUR, years);
    counter.count(
      [{ Year: '1970-01-01' }, { Year: '1976-01-01' }, { Year: '1982-01-01' }, { Year: 'soon' }],
      [20, 20, 20, 20],
      T0,
    );
    const [summary] = counter.takeChanged();
    expect(summary.features.Year).toEqual({ type: 'numeric', counts: [1, 1, 1], missing: 1 });
  });

  it('counts the newest row of a forecasting history and the label of a classification', () => {
    const counter = new WindowCounter(identity, HOUR, {
      ...reference,
      prediction: {
        type: 'categorical',
        count: 3,
        missing: 0,
        categories: { setosa: 1, virginica: 2 },
        other: 0,
      },
    });
    counter.count(
      [{ history: [{ Horsepower: 300 }, { Horsepower: 50 }] }],
      [{ label: 'virginica', probabilities: { setosa: 0.1, virginica: 0.9 } }],
      T0,
    );
    const [summary] = counter.takeChanged();
    expect(summary.features.Horsepower).toEqual({ type: 'numeric', counts: [1, 0, 0], missing: 0 });
    expect(summary.prediction).toEqual({
      type: 'categorical',
      categories: { setosa: 0, virginica: 1 },
      other: 0,
      missing: 0,
    });
  });

  it('adds joined feedback to the window the prediction was served in', () => {
    const counter = new WindowCounter(identity, HOUR, undefined);
    counter.count([{ a: 1 }, { a: 2 }], [20, 30], T0 + 10);
    counter.takeChanged();
    expect(counter.addQuality(T0, { kind: 'number', prediction: 20, truth: 23 })).toBe(true);
    expect(counter.addQuality(T0, { kind: 'number', prediction: 30, truth: 29 })).toBe(true);
    counter.addUnmatched(T0 + 20);
    const [summary] = counter.takeChanged();
    // Without a reference: counts and quality, no features (drift unknown).
    expect(summary.features).toEqual({});
    expect(summary.prediction).toBeUndefined();
    expect(summary.count).toBe(2);
    expect(summary.quality).toEqual({
      count: 2,
      sumAbsError: 4,
      sumSquaredError: 10,
      correct: 0,
      unmatched: 1,
    });
    const labels = new WindowCounter(identity, HOUR, undefined);
    labels.count([{}], ['a'], T0);
    labels.addQuality(T0, { kind: 'label', prediction: 'a', truth: 'a' });
    labels.addQuality(T0, { kind: 'label', prediction: 'a', truth: 'b' });
    expect(labels.takeChanged()[0].quality).toMatchObject({ count: 2, correct: 1 });
  });

  it(`forgets windows more than ${KEPT_WINDOWS} windows old; feedback for them is refused`, () => {
    const counter = new WindowCounter(identity, 60_000, reference);
    counter.count([{}], [1], T0);
    counter.count([{}], [1], T0 + (KEPT_WINDOWS + 2) * 60_000);
    expect(counter.takeChanged()).toHaveLength(2);
    expect(counter.takeChanged()).toEqual([]); // the old window is dropped here
    expect(counter.has(T0)).toBe(false);
    expect(counter.addQuality(T0, { kind: 'number', prediction: 1, truth: 2 })).toBe(false);
  });
});

describe('layout names', () => {
  it('names summaries and batches from numbers only, and reads their time back', () => {
    const summary = windowSummaryUri('gs://b/s/monitoring/mpg-api', T0, 3, 'server-1');
    expect(summary).toBe('gs://b/s/monitoring/mpg-api/windows/20261205T100000Z/v3-server-1.json');
    expect(objectTime(summary)).toBe(T0);
    const batch = batchObjectUri('gs://b/s/monitoring/mpg-api/logs', T0 + 61_234, 'server-1', 7);
    expect(batch).toBe('gs://b/s/monitoring/mpg-api/logs/2026-12-05/10/100101.234-server-1-7.jsonl');
    expect(objectTime(batch)).toBe(T0);
    expect(objectTime('gs://b/s/monitoring/mpg-api/other.txt')).toBeUndefined();
  });
});
