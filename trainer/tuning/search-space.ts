/**
 * Sampling `spec.tuning.space`. Every (trial, parameter) pair draws from its own generator,
 * seeded from the spec's seed, the trial number and the parameter's key: the same spec always
 * proposes the same trials, raising `trials` keeps the first ones, and adding a dimension does
 * not reshuffle the values the others get.
 */
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { mulberry32, seedFor } from '../data/random.js';

export type SearchSpace = NonNullable<TrainingRunSpec['tuning']>['space'];
export type SearchDimension = SearchSpace[string];
/** Sampled values keyed as in the space (`learningRate`, `network.layers`). */
export type TrialParams = Record<string, unknown>;

/** One value of a dimension from a uniform draw `u` in [0, 1). */
export function sampleDimension(dimension: SearchDimension, u: number): unknown {
  // Floating point can land a hair outside the range (exp/log round trips): clamp.
  const clamp = (value: number, [low, high]: number[]) => Math.min(high, Math.max(low, value));
  if (dimension.uniform) {
    const [low, high] = dimension.uniform;
    return clamp(low + u * (high - low), dimension.uniform);
  }
  if (dimension.logUniform) {
    const [low, high] = dimension.logUniform;
    return clamp(Math.exp(Math.log(low) + u * (Math.log(high) - Math.log(low))), dimension.logUniform);
  }
  if (dimension.int) {
    const [low, high] = dimension.int;
    return Math.min(high, low + Math.floor(u * (high - low + 1)));
  }
  if (dimension.choice) {
    const values = dimension.choice;
    // A copy: trials must never share (and mutate) one array from the spec.
    return structuredClone(values[Math.min(values.length - 1, Math.floor(u * values.length))]);
  }
  throw new Error('a search dimension must set one of uniform, logUniform, int, choice');
}

/** The parameters of trial `trial` (1-based). Keys are sorted so manifest key order does not matter. */
export function sampleParams(space: SearchSpace, seed: number, trial: number): TrialParams {
  const params: TrialParams = {};
  for (const key of Object.keys(space).sort()) {
    const random = mulberry32(seedFor(seed, `tuning/${trial}/${key}`));
    params[key] = sampleDimension(space[key], random());
  }
  return params;
}

/** Parameters of trials 1..count. */
export const sampleTrials = (space: SearchSpace, seed: number, count: number): TrialParams[] =>
  Array.from({ length: count }, (_, i) => sampleParams(space, seed, i + 1));
