/**
 * Sampling `spec.tuning.space`. Every (trial, parameter) pair draws from its own generator,
 * seeded from the spec's seed, the trial number and the parameter's key: the same spec always
 * proposes the same trials, raising `trials` keeps the first ones, and adding a dimension does
 * not reshuffle the values the others get.
 *
 * Samplers (samplers/) work on the space's *flat parameters* (resources/tuning-space.ts: one
 * scalar each; a `layers` dimension is its count and the units of each layer that may exist,
 * `when` makes a parameter conditional on another). `assembleParams` turns flat values back into the trial's
 * params (a `layers` dimension becomes its list, an inactive parameter is absent, so the spec
 * keeps its own value) and `flattenParams` does the reverse for the history a sampler learns from.
 */
import {
  domainOf,
  flattenSpace,
  indexOfChoice,
  isActive,
  layersCountName,
  layersUnitsName,
  type FlatDomain,
  type FlatParam,
  type FlatValues,
  type SearchDimension,
  type SearchSpace,
} from '../../resources/tuning-space.js';
import { mulberry32, seedFor } from '../data/random.js';

export type { FlatDomain, FlatParam, FlatValues, SearchDimension, SearchSpace };
export { flattenSpace, isActive };
/** Sampled values keyed as in the space (`learningRate`, `network.layers`). */
export type TrialParams = Record<string, unknown>;

/** A flat value from a uniform draw `u` in [0, 1). */
export function drawFlat(domain: FlatDomain, u: number): number {
  if (domain.kind === 'choice')
    return Math.min(domain.values.length - 1, Math.floor(u * domain.values.length));
  const { low, high } = domain;
  // Floating point can land a hair outside the range (exp/log round trips): clamp.
  const clamp = (value: number) => Math.min(high, Math.max(low, value));
  if (domain.kind === 'float') {
    if (!domain.log) return clamp(low + u * (high - low));
    return clamp(Math.exp(Math.log(low) + u * (Math.log(high) - Math.log(low))));
  }
  if (!domain.log) return Math.min(high, low + Math.floor(u * (high - low + 1)));
  // Log scale over the integers: each integer owns [n - 0.5, n + 0.5] (as Optuna's log-int).
  const [a, b] = [Math.log(low - 0.5), Math.log(high + 0.5)];
  return clamp(Math.round(Math.exp(a + u * (b - a))));
}

/** The flat value as the trial's value (a choice index becomes a copy of the chosen value). */
export function flatToValue(domain: FlatDomain, value: number): unknown {
  // A copy: trials must never share (and mutate) one array from the spec.
  return domain.kind === 'choice' ? structuredClone(domain.values[value]) : value;
}

/** One value of a plain dimension from a uniform draw `u` in [0, 1). */
export function sampleDimension(dimension: SearchDimension, u: number): unknown {
  const domain = domainOf(dimension);
  if (!domain) throw new Error('a search dimension must set one of uniform, logUniform, int, choice');
  return flatToValue(domain, drawFlat(domain, u));
}

/** Trial params from flat values: `layers` become lists, inactive parameters are left out. */
export function assembleParams(
  space: SearchSpace,
  flat: readonly FlatParam[],
  values: FlatValues,
): TrialParams {
  const params: TrialParams = {};
  for (const key of Object.keys(space).sort()) {
    const dimension = space[key];
    if (dimension.layers) {
      const count = values[layersCountName(key)];
      if (count === undefined) continue;
      params[key] = Array.from({ length: count }, (_, i) => values[layersUnitsName(key, i + 1)]);
      continue;
    }
    const param = flat.find((p) => p.name === key);
    if (param && values[key] !== undefined) params[key] = flatToValue(param.domain, values[key]);
  }
  return params;
}

/**
 * Flat values of a trial's params (as tuning.json records them). A value outside its domain
 * (the space changed since) is left out, so a sampler never learns from it.
 */
export function flattenParams(flat: readonly FlatParam[], params: TrialParams): FlatValues {
  const values: FlatValues = {};
  for (const param of flat) {
    if (!isActive(param, values)) continue;
    const value = flatOf(param, params);
    if (value !== undefined) values[param.name] = value;
  }
  return values;
}

function flatOf(param: FlatParam, params: TrialParams): number | undefined {
  const raw = params[param.key];
  if (raw === undefined) return undefined;
  const { domain } = param;
  let value: unknown = raw;
  if (param.layer !== undefined) {
    if (!Array.isArray(raw)) return undefined;
    value = param.layer === 0 ? raw.length : raw[param.layer - 1];
  }
  if (domain.kind === 'choice') {
    const index = indexOfChoice(domain.values, value);
    return index >= 0 ? index : undefined;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) return undefined;
  if (value < domain.low || value > domain.high) return undefined;
  if (domain.kind === 'int' && !Number.isInteger(value)) return undefined;
  return value;
}

/** The parameters of trial `trial` (1-based): the random sampler. */
export function sampleParams(space: SearchSpace, seed: number, trial: number): TrialParams {
  const flat = flattenSpace(space);
  const values: FlatValues = {};
  for (const param of flat) {
    // Drawn whether active or not, from the stream of its own name: a plain dimension's stream
    // is the one the first version used (`tuning/<trial>/<key>`), so its trials are unchanged.
    const random = mulberry32(seedFor(seed, `tuning/${trial}/${param.name}`));
    const u = random();
    if (isActive(param, values)) values[param.name] = drawFlat(param.domain, u);
  }
  return assembleParams(space, flat, values);
}

/** Parameters of trials 1..count. */
export const sampleTrials = (space: SearchSpace, seed: number, count: number): TrialParams[] =>
  Array.from({ length: count }, (_, i) => sampleParams(space, seed, i + 1));
