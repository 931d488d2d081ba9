import { describe, expect, it } from 'vitest';
import { jsDistance, ksStatistic, mergeSummaries, psi, PSI_EPSILON } from '../../monitoring/drift.js';
import type { WindowSummary } from '../../monitoring/window-summary.js';

describe('drift math, against hand-computed values', () => {
  it('PSI of shares .5/.5 against .9/.1 is 0.4·ln 1.8 + 0.4·ln 5', () => {
    expect(psi([50, 50], [90, 10])).toBeCloseTo(0.4 * Math.log(1.8) + 0.4 * Math.log(5), 12);
    expect(psi([50, 50], [90, 10])).toBeCloseTo(0.87889, 5);
  });

  it('PSI is 0 for the same shares, whatever the totals', () => {
    expect(psi([10, 30, 60], [100, 300, 600])).toBe(0);
  });

  it('PSI raises an empty bin to the documented epsilon instead of going infinite', () => {
    // e = [1, 0 -> 1e-4], a = [.99, .01]
    const expected = (0.99 - 1) * Math.log(0.99) + (0.01 - PSI_EPSILON) * Math.log(0.01 / PSI_EPSILON);
    expect(psi([100, 0], [99, 1])).toBeCloseTo(expected, 12);
    expect(psi([100, 0], [99, 1])).toBeCloseTo(0.04569, 5);
  });

  it('Jensen-Shannon distance (base 2) is 0 for the same, 1 for disjoint, sqrt(JSD) between', () => {
    expect(jsDistance([3, 7], [30, 70])).toBe(0);
    expect(jsDistance([1, 0], [0, 1])).toBeCloseTo(1, 12);
    // m = [.7, .3]; KL(p||m) = 0.125769, KL(q||m) = 0.167817; JSD = 0.146793
    expect(jsDistance([50, 50], [90, 10])).toBeCloseTo(0.383136, 5);
  });

  it('KS is the largest gap between the binned CDFs', () => {
    expect(ksStatistic([25, 25, 50], [50, 25, 25])).toBeCloseTo(0.25, 12);
    expect(ksStatistic([1, 0, 0], [0, 0, 1])).toBeCloseTo(1, 12);
  });

  it('mergeSummaries adds instances and windows: counts, missing, categories, quality', () => {
    const base = {
      formatVersion: 1 as const,
      endpoint: 'mpg',
      model: 'mpg',
      version: 2,
    };
    const a: WindowSummary = {
      ...base,
      windowStart: '2026-01-01T10:00:00.000Z',
      windowEnd: '2026-01-01T11:00:00.000Z',
      instance: 'a',
      count: 3,
      features: {
        x: { type: 'numeric', counts: [1, 2], missing: 0 },
        o: { type: 'categorical', categories: { USA: 2 }, other: 1, missing: 0 },
      },
      quality: { count: 2, sumAbsError: 3, sumSquaredError: 5, correct: 0, unmatched: 1 },
    };
    const b: WindowSummary = {
      ...base,
      windowStart: '2026-01-01T11:00:00.000Z',
      windowEnd: '2026-01-01T12:00:00.000Z',
      instance: 'b',
      count: 4,
      features: {
        x: { type: 'numeric', counts: [0, 3], missing: 1 },
        o: { type: 'categorical', categories: { USA: 1, Japan: 3 }, other: 0, missing: 0 },
      },
      quality: { count: 1, sumAbsError: 1, sumSquaredError: 1, correct: 0, unmatched: 0 },
    };
    const merged = mergeSummaries([a, b]);
    expect(merged).toMatchObject({
      windowStart: '2026-01-01T10:00:00.000Z',
      windowEnd: '2026-01-01T12:00:00.000Z',
      count: 7,
      versions: [2],
      instances: 2,
      features: {
        x: { type: 'numeric', counts: [1, 5], missing: 1 },
        o: { type: 'categorical', categories: { USA: 3, Japan: 3 }, other: 1, missing: 0 },
      },
      quality: { count: 3, sumAbsError: 4, sumSquaredError: 6, correct: 0, unmatched: 1 },
    });
    // A category named like a prototype key stays a category.
    const proto = JSON.parse(
      '{"type": "categorical", "categories": {"__proto__": 2}, "other": 0, "missing": 0}',
    ) as WindowSummary['features'][string];
    const twice = mergeSummaries([
      { ...a, features: { o: proto } },
      { ...b, features: { o: proto } },
    ]);
    expect(
      Object.entries(twice.features.o.type === 'categorical' ? twice.features.o.categories : {}),
    ).toEqual([['__proto__', 4]]);
    // The inputs are not changed.
    expect(a.features.x).toEqual({ type: 'numeric', counts: [1, 2], missing: 0 });
  });
});
