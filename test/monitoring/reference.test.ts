import { describe, expect, it } from 'vitest';
import {
  binIndex,
  categoricalStatistics,
  categorySlot,
  numericStatistics,
  quantileEdges,
  referenceStatistics,
} from '../../monitoring/reference.js';
import { parseStatistics } from '../../monitoring/statistics-file.js';

describe('reference statistics', () => {
  it('cuts 1..100 into 10 quantile bins of 10 values', () => {
    const values = Float64Array.from({ length: 100 }, (_, i) => 100 - i);
    const stats = numericStatistics(values);
    expect(stats.edges).toEqual([11, 21, 31, 41, 51, 61, 71, 81, 91]);
    expect(stats.counts).toEqual(new Array(10).fill(10));
    expect(stats).toMatchObject({ count: 100, missing: 0, min: 1, max: 100, mean: 50.5 });
    expect(stats.std).toBeCloseTo(Math.sqrt((100 * 100 - 1) / 12), 10);
  });

  it('deduplicates edges of a column with few values, and counts NaN as missing', () => {
    const values = Float64Array.from([4, 4, 4, 4, 4, 4, 6, 6, 8, 8, NaN, NaN]);
    const stats = numericStatistics(values);
    expect(stats.edges).toEqual([4, 6, 8]);
    expect(stats.counts).toEqual([0, 6, 2, 2]);
    expect(stats.missing).toBe(2);
    expect(quantileEdges(new Float64Array(0))).toEqual([]);
    expect(numericStatistics(Float64Array.from([NaN]))).toMatchObject({
      count: 0,
      missing: 1,
      counts: [0],
      mean: 0,
    });
  });

  it('binIndex puts an edge value in the bin it opens', () => {
    expect([9.99, 10, 19, 20, 100, -Infinity].map((v) => binIndex([10, 20], v))).toEqual([0, 1, 1, 2, 2, 0]);
    expect(binIndex([], 5)).toBe(0);
  });

  it('keeps the most frequent categories by name and counts the rest as other', () => {
    const stats = categoricalStatistics(['b', 'a', 'b', 'c', null, 'c', 'b', 'd'], 2);
    expect(stats).toEqual({
      type: 'categorical',
      count: 7,
      missing: 1,
      categories: { b: 3, c: 2 },
      other: 2,
    });
    expect(categorySlot(stats, 'b')).toEqual({ category: 'b' });
    expect(categorySlot(stats, 'a')).toBe('other');
    expect(categorySlot(stats, 'toString')).toBe('other');
    expect(categorySlot(stats, null)).toBe('missing');
    expect(categorySlot(categoricalStatistics(['other']), 'other')).toEqual({ category: 'other' });
    expect(Object.keys(categoricalStatistics(['__proto__']).categories)).toEqual(['__proto__']);
    const stats2 = referenceStatistics({
      rows: [{ __proto__: 'x' }],
      train: [0],
      features: [{ name: '__proto__', type: 'categorical' }],
    });
    expect(Object.keys(stats2.features)).toEqual(['__proto__']);
  });

  it('reads raw CSV text the way the trainer does: numbers, booleans, dates, categories', () => {
    const rows = [
      { hp: '130', origin: 'USA', turbo: 'yes', built: '1970-01-01' },
      { hp: '', origin: 'Japan', turbo: 'no', built: '1970-01-11' },
      { hp: '90', origin: 'USA', turbo: 'no', built: 'NA' },
      { hp: '75', origin: '', turbo: 'yes', built: '1970-01-21' },
    ];
    const stats = referenceStatistics({
      rows,
      train: [0, 1, 2],
      features: [
        { name: 'hp', type: 'numeric' },
        { name: 'origin', type: 'categorical' },
        { name: 'turbo', type: 'boolean' },
        { name: 'built', type: 'date' },
      ],
      predictions: Float64Array.from([20, 30]),
      validation: { val_mae: 2, val_r2: NaN },
    });
    expect(stats.rows).toBe(3);
    expect(stats.features.hp).toMatchObject({ count: 2, missing: 1, min: 90, max: 130 });
    expect(stats.features.origin).toMatchObject({ categories: { USA: 2, Japan: 1 }, missing: 0 });
    expect(stats.features.turbo).toMatchObject({ type: 'numeric', count: 3, min: 0, max: 1 });
    expect(stats.features.built).toMatchObject({ type: 'numeric', count: 2, missing: 1, min: 0, max: 10 });
    expect(stats.prediction).toMatchObject({ type: 'numeric', count: 2, mean: 25 });
    // NaN is not JSON: a metric that is not finite is left out.
    expect(stats.validation).toEqual({ val_mae: 2 });
    const back = parseStatistics(Buffer.from(JSON.stringify(stats)));
    expect(back).toEqual({ ok: true, statistics: stats });
  });

  it('predicted labels give categorical prediction statistics', () => {
    const stats = referenceStatistics({ rows: [], train: [], features: [], predictions: ['a', 'b', 'a'] });
    expect(stats.prediction).toEqual({
      type: 'categorical',
      count: 3,
      missing: 0,
      categories: { a: 2, b: 1 },
      other: 0,
    });
  });
});
