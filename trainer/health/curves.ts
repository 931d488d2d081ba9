/** Health signals read from the loss curves alone. */

/**
 * Coefficient of variation (std / |mean|) of the last `window` validation losses: ~0 for a
 * converged run, large for one that oscillates. Null with fewer than 2 finite values.
 */
export function lossStability(valLosses: number[], window = 5): { cv: number | null; window: number } {
  const tail = valLosses.slice(-window).filter(Number.isFinite);
  if (tail.length < 2) return { cv: null, window: tail.length };
  const mean = tail.reduce((a, b) => a + b, 0) / tail.length;
  const variance = tail.reduce((a, b) => a + (b - mean) ** 2, 0) / tail.length;
  return { cv: mean === 0 ? 0 : Math.sqrt(variance) / Math.abs(mean), window: tail.length };
}

/**
 * Train/validation gap val_loss / loss - 1 at the last epoch, whether it has been growing over the
 * last `window` epochs (least-squares slope > 0), and the overfitting verdict: gap > 0.5 and
 * growing. Training loss is measured with dropout on, which shrinks the gap: the flag errs towards
 * silence, as a flag should.
 */
export function generalizationGap(
  losses: number[],
  valLosses: number[],
  window = 5,
): { gap: number | null; increasing: boolean; overfitting: boolean; threshold: number } {
  const threshold = 0.5;
  const gaps = losses
    .map((loss, i) => valLosses[i] / loss - 1)
    .slice(-window)
    .filter(Number.isFinite);
  if (gaps.length === 0) return { gap: null, increasing: false, overfitting: false, threshold };
  const gap = gaps[gaps.length - 1];
  const increasing = gaps.length >= 2 && slope(gaps) > 0;
  return { gap, increasing, overfitting: gap > threshold && increasing, threshold };
}

function slope(values: number[]): number {
  const n = values.length;
  const meanX = (n - 1) / 2;
  const meanY = values.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  values.forEach((v, i) => {
    num += (i - meanX) * (v - meanY);
    den += (i - meanX) ** 2;
  });
  return den === 0 ? 0 : num / den;
}
