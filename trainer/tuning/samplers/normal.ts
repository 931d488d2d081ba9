/**
 * The standard normal pieces TPE's truncated Gaussian kernels need: tail probabilities accurate
 * far out (the log density of a candidate under a narrow kernel must not become -Infinity while
 * a wider kernel still explains it), the log of the mass between two points, and sampling a
 * truncated normal by inverting its CDF.
 */
import type { Random } from '../../data/random.js';

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * erfc(x) with a relative error below 1.2e-7 everywhere, also deep in the tail (the Chebyshev
 * fit of Numerical Recipes, 2nd ed., section 6.2, `erfcc`). Plenty for densities compared as ratios.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly =
    -1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t *
                      (0.27886807 +
                        t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const value = t * Math.exp(-z * z + poly);
  return x >= 0 ? value : 2 - value;
}

/** P(Z <= z) for a standard normal Z. */
export const normalCdf = (z: number): number => 0.5 * erfc(-z / Math.SQRT2);

/** log of the standard normal density. */
export const logNormalPdf = (z: number): number => -0.5 * z * z - LOG_SQRT_2PI;

/**
 * log P(a <= Z <= b), a <= b. Computed in the tail where both ends lie (upper tail when a >= 0,
 * lower when b <= 0), so two probabilities near 1 never cancel.
 */
export function logNormalMass(a: number, b: number): number {
  let mass: number;
  if (a >= 0) mass = normalCdf(-a) - normalCdf(-b);
  else if (b <= 0) mass = normalCdf(b) - normalCdf(a);
  else mass = 1 - normalCdf(a) - normalCdf(-b);
  return mass > 0 ? Math.log(mass) : -Infinity;
}

/**
 * A draw of N(mu, sigma) truncated to [low, high]: inverse CDF of one uniform draw, the inverse
 * found by bisection on the CDF (monotone) to 1e-9 standard deviations.
 */
export function sampleTruncatedNormal(
  mu: number,
  sigma: number,
  low: number,
  high: number,
  random: Random,
): number {
  const a = (low - mu) / sigma;
  const b = (high - mu) / sigma;
  // Work in the tail the interval lies in (mirrored when it is the upper one) for precision.
  const mirrored = a >= 0;
  const [lo, hi] = mirrored ? [-b, -a] : [a, b];
  const pLo = normalCdf(lo);
  const pHi = normalCdf(hi);
  const target = pLo + random() * (pHi - pLo);
  let [left, right] = [lo, hi];
  while (right - left > 1e-9) {
    const middle = 0.5 * (left + right);
    if (normalCdf(middle) < target) left = middle;
    else right = middle;
  }
  const z = 0.5 * (left + right);
  const x = mu + sigma * (mirrored ? -z : z);
  return Math.min(high, Math.max(low, x));
}
