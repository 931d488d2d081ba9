import { describe, expect, it } from 'vitest';
import { medianOf } from '../../trainer/data/median.js';
import { Rng } from '../../trainer/training/rng.js';

/** The definition: sort, take the middle (the mean of the two middles for an even count). */
function sortedMedian(values: readonly number[]): number {
  const sorted = Float64Array.from(values).sort();
  const n = sorted.length;
  const m = n % 2 === 1 ? sorted[n >> 1] : (sorted[(n >> 1) - 1] + sorted[n >> 1]) / 2;
  return m === 0 ? 0 : m;
}

const median = (values: readonly number[]): number => medianOf(Float64Array.from(values));

describe('medianOf', () => {
  const rng = new Rng(7);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  const cases: Record<string, (i: number) => number> = {
    'standard normal': () => normal(),
    'a narrow range (one radix bucket)': () => 1000 + rng.next() * 1e-6,
    'car weights (rounded, many ties)': () => Math.round(1600 + rng.next() * 3400),
    'few distinct values': () => [4, 6, 8, -3][Math.floor(rng.next() * 4)],
    'signed zeros and infinities': (i) => [0, -0, Infinity, -Infinity, 1e-300, -1e-300][i % 6],
    'sorted ascending': (i) => i * 0.5,
    'sorted descending': (i) => -i,
    'a spike at the middle': (i) => (i % 3 === 0 ? 5 : normal() * 100),
    // Every 16th value (the ones sampled to guess the middle's buckets) far above the rest.
    'a sample that misleads': (i) => (i % 16 === 0 ? 1e9 + i : i),
  };
  for (const [name, value] of Object.entries(cases)) {
    for (const n of [1, 2, 3, 10, 4095, 4096, 4097, 20_000, 20_001]) {
      it(`${name}, ${n} values: the sorted median, bit for bit`, () => {
        const values = Array.from({ length: n }, (_, i) => value(i));
        expect(Object.is(median(values), sortedMedian(values))).toBe(true);
      });
    }
  }

  it('returns +0 for a zero median, whichever zero the selection lands on', () => {
    expect(Object.is(median([-0, -0, -0]), 0)).toBe(true);
    expect(Object.is(median(Array.from({ length: 5000 }, (_, i) => (i % 2 ? -0 : 0))), 0)).toBe(true);
  });

  it('reads the lower middle from the buckets below when the upper middle opens its bucket', () => {
    // 5,000 values: the lower half small negatives, the upper half large: the middles straddle buckets.
    const values = Array.from({ length: 5000 }, (_, i) => (i < 2500 ? -1 - i / 1e4 : 1e6 + i));
    expect(median(values)).toBe((-1 + 1e6 + 2500) / 2);
  });
});
