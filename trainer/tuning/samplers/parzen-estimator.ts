/**
 * The Parzen estimator of one flat parameter, TPE's l(x) or g(x) (Bergstra et al. 2011; the
 * univariate estimator of Optuna's TPESampler with its defaults, described in Watanabe 2023,
 * "Tree-Structured Parzen Estimator: Understanding Its Algorithm Components", section 3):
 *
 * - a mixture of one kernel per observation plus a prior kernel (weight 1, as Optuna's
 *   `prior_weight`), the observations weighted by `trialWeights` (older ones ramp down once there
 *   are more than 25) and the whole normalised;
 * - numbers live in a transformed space: log for log-scaled parameters; an integer n owns the cell
 *   [n - 0.5, n + 0.5] there (log-transformed on a log scale), so integer ranges widen by half a
 *   unit on each side (Optuna 4's discrete truncated (log-)normal kernels);
 * - numeric kernels are Gaussians truncated to the range. The prior is centred with the width of
 *   the range. An observation's bandwidth is the larger distance to its neighbours among the sorted
 *   observations and the prior's mean (the range's ends as outer neighbours, except that the
 *   outermost kernels only look inwards: Optuna's `consider_endpoints=False`), clipped to
 *   [range / min(100, 1 + kernels), range] ("magic clip");
 * - integers are discretised: a kernel's mass on n is its mass on n's cell;
 * - a categorical kernel puts 1 on its observed choice plus prior_weight / kernels on every choice
 *   (smoothed counts); the prior kernel is uniform.
 */
import type { Random } from '../../data/random.js';
import type { FlatDomain } from '../search-space.js';
import { logNormalMass, logNormalPdf, sampleTruncatedNormal } from './normal.js';

const PRIOR_WEIGHT = 1;

export interface ParzenEstimator {
  /** `count` flat values drawn from the mixture. */
  sample(random: Random, count: number): number[];
  /** log density (mass, for discrete parameters) of a flat value. */
  logPdf(value: number): number;
}

/**
 * Optuna's `default_weights`: 1 for the 25 newest observations, a ramp from 1/n to 1 before them.
 * Observations are in trial order.
 */
export function trialWeights(n: number): number[] {
  if (n < 25) return Array.from({ length: n }, () => 1);
  const ramp = n - 25;
  const start = 1 / n;
  return [
    ...Array.from({ length: ramp }, (_, i) => (ramp === 1 ? start : start + ((1 - start) * i) / (ramp - 1))),
    ...Array.from({ length: 25 }, () => 1),
  ];
}

/** The mixture weights: observations, then the prior, summing to 1. */
function mixtureWeights(n: number): number[] {
  const weights = n === 0 ? [1] : [...trialWeights(n), PRIOR_WEIGHT];
  const total = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / total);
}

function pickComponent(weights: readonly number[], random: Random): number {
  let u = random();
  for (let k = 0; k < weights.length - 1; k++) {
    u -= weights[k];
    if (u < 0) return k;
  }
  return weights.length - 1;
}

function logSumExp(values: ArrayLike<number> & Iterable<number>): number {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (const v of values) sum += Math.exp(v - max);
  return max + Math.log(sum);
}

/** The estimator of observations `values` (flat values, in trial order) of a parameter with `domain`. */
export function buildParzenEstimator(domain: FlatDomain, values: readonly number[]): ParzenEstimator {
  return domain.kind === 'choice' ? categorical(domain.values.length, values) : numeric(domain, values);
}

function categorical(choices: number, observed: readonly number[]): ParzenEstimator {
  const weights = mixtureWeights(observed.length);
  const kernels = observed.length + 1;
  const rows = observed.map((index) => {
    const row = Array.from({ length: choices }, () => PRIOR_WEIGHT / kernels);
    row[index] += 1;
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((p) => p / total);
  });
  rows.push(Array.from({ length: choices }, () => 1 / choices));
  // The mixture of categoricals is one categorical.
  const probabilities = Array.from({ length: choices }, (_, c) =>
    rows.reduce((sum, row, k) => sum + weights[k] * row[c], 0),
  );
  return {
    sample: (random, count) => Array.from({ length: count }, () => pickComponent(probabilities, random)),
    logPdf: (value) => Math.log(probabilities[value]),
  };
}

function numeric(
  domain: Extract<FlatDomain, { kind: 'int' | 'float' }>,
  observed: readonly number[],
): ParzenEstimator {
  const forward = (x: number) => (domain.log ? Math.log(x) : x);
  // The range in the transformed space; an integer owns [n - 0.5, n + 0.5] (log-transformed for a
  // log-scaled one), so integer ranges widen by half a unit on each side (Optuna: low - step / 2).
  const half = domain.kind === 'int' ? 0.5 : 0;
  const low = forward(domain.low - half);
  const high = forward(domain.high + half);
  const mus = observed.map(forward);
  const sigmas = bandwidths(mus, low, high);
  mus.push(0.5 * (low + high));
  sigmas.push(high - low);
  const weights = mixtureWeights(observed.length);
  const logWeights = weights.map(Math.log);
  const logSigmas = sigmas.map(Math.log);
  const logNormalisers = mus.map((mu, k) => logNormalMass((low - mu) / sigmas[k], (high - mu) / sigmas[k]));
  const terms = new Float64Array(weights.length);
  const backward = (t: number): number => {
    const x = domain.log ? Math.exp(t) : t;
    return Math.min(domain.high, Math.max(domain.low, domain.kind === 'int' ? Math.round(x) : x));
  };
  // A float's density at t; an integer's mass on the cell it owns.
  const kernelLogPdf = (value: number, k: number): number => {
    const [mu, sigma] = [mus[k], sigmas[k]];
    if (domain.kind === 'float')
      return logNormalPdf((forward(value) - mu) / sigma) - logSigmas[k] - logNormalisers[k];
    const [lower, upper] = [forward(value - 0.5), forward(value + 0.5)];
    return logNormalMass((lower - mu) / sigma, (upper - mu) / sigma) - logNormalisers[k];
  };
  return {
    sample: (random, count) =>
      Array.from({ length: count }, () => {
        const k = pickComponent(weights, random);
        return backward(sampleTruncatedNormal(mus[k], sigmas[k], low, high, random));
      }),
    logPdf: (value) => {
      for (let k = 0; k < terms.length; k++) terms[k] = logWeights[k] + kernelLogPdf(value, k);
      return logSumExp(terms);
    },
  };
}

/**
 * Each observation's bandwidth (Optuna's univariate rule with consider_endpoints false and magic
 * clip; see the header), in the transformed space [low, high] (integers already widened).
 */
export function bandwidths(mus: readonly number[], low: number, high: number): number[] {
  const withPrior = [...mus, 0.5 * (low + high)];
  const order = withPrior.map((_, i) => i).sort((i, j) => withPrior[i] - withPrior[j] || i - j);
  const sorted = [low, ...order.map((i) => withPrior[i]), high];
  const sortedSigmas = order.map((_, s) =>
    Math.max(sorted[s + 1] - sorted[s], sorted[s + 2] - sorted[s + 1]),
  );
  if (sorted.length >= 4) {
    sortedSigmas[0] = sorted[2] - sorted[1];
    sortedSigmas[sortedSigmas.length - 1] = sorted[sorted.length - 2] - sorted[sorted.length - 3];
  }
  const sigmas: number[] = new Array<number>(withPrior.length);
  order.forEach((original, s) => (sigmas[original] = sortedSigmas[s]));
  const range = high - low;
  const minSigma = range / Math.min(100, 1 + mus.length + 1);
  return sigmas.slice(0, mus.length).map((s) => Math.min(range, Math.max(minSigma, s)));
}
