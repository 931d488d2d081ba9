/** Axis ticks for charts that draw their own axes (the parallel coordinates of a study). */

/** About `target` "nice" ticks (1, 2 or 5 times a power of ten) within [lo, hi], and their spacing. */
export function niceTicks(lo: number, hi: number, target = 5): { values: number[]; step: number } {
  const rough = (hi - lo) / target;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  // Round the raw spacing to the nearest of 1, 2, 5, 10 on a log scale (thresholds are midpoints).
  const ratio = rough / magnitude;
  const step =
    magnitude * (ratio >= Math.sqrt(50) ? 10 : ratio >= Math.sqrt(10) ? 5 : ratio >= Math.sqrt(2) ? 2 : 1);
  const values: number[] = [];
  for (let i = Math.ceil(lo / step); i * step <= hi + step * 1e-9; i++) {
    // Snap away float drift such as 0.30000000000000004.
    values.push(Number((i * step).toPrecision(12)));
  }
  return { values, step };
}

/** Labels with just enough digits to tell neighbouring ticks apart. */
export function tickLabels(values: readonly number[], step: number): string[] {
  const largest = Math.max(...values.map(Math.abs));
  const stepExponent = Math.floor(Math.log10(step) + 1e-9);
  if (largest >= 1e6 || (largest > 0 && largest < 1e-3)) {
    const digits = Math.min(6, Math.max(0, Math.floor(Math.log10(largest)) - stepExponent));
    return values.map((v) => (v === 0 ? '0' : v.toExponential(digits).replace('e+', 'e')));
  }
  const decimals = Math.max(0, -stepExponent);
  return values.map((v) => (v === 0 ? '0' : v.toFixed(decimals)));
}
