/**
 * The Tree-structured Parzen Estimator (Bergstra, Bardenet, Bengio, Kégl, NeurIPS 2011,
 * "Algorithms for Hyper-Parameter Optimization"), as Optuna's TPESampler runs it with its defaults
 * (independent per parameter; Watanabe 2023 describes each component):
 *
 * 1. Until `startupTrials` trials have ended (completed or pruned), trials are the random
 *    sampler's, so the first ones are exactly what random search would propose.
 * 2. The ended trials are ranked: completed ones by score (the `goal` applied), then pruned ones,
 *    those that got further first, then by their last intermediate value (Optuna's rule); failed
 *    and diverged (null score) trials are left out. The best gamma(n) = min(ceil(0.1 n), 25) form
 *    the "good" group, the rest the "bad" one. Trials still running join the bad group (the
 *    constant liar: parallel workers do not all propose the same point).
 * 3. For each flat parameter in order (parents first), if it exists given the values drawn so far,
 *    l(x) is fitted on the good trials that have it and g(x) on the bad ones that have it
 *    (parzen-estimator.ts), `candidates` values are drawn from l, and the one with the largest
 *    l(x)/g(x) wins (the first of equals).
 *
 * Every draw comes from a generator seeded by (seed, trial, parameter): the same seed, trial number
 * and history propose the same parameters, whatever order trials ended in.
 */
import { mulberry32, seedFor } from '../../data/random.js';
import {
  assembleParams,
  flattenParams,
  flattenSpace,
  isActive,
  sampleParams,
  type FlatValues,
  type TrialParams,
} from '../search-space.js';
import type { FinishedTrial, Goal, Sampler, Tuning } from '../study-types.js';
import { buildParzenEstimator } from './parzen-estimator.js';

export const TPE_DEFAULTS = { startupTrials: 10, candidates: 24 } as const;

/** Optuna's `default_gamma`: how many of n ended trials are "good". */
export const gamma = (n: number): number => Math.min(Math.ceil(0.1 * n), 25);

/**
 * The good and bad groups, each in trial order (older trials weigh less in the estimators).
 * Exported for tests.
 */
export function splitTrials(
  history: readonly FinishedTrial[],
  goal: Goal,
): { good: FinishedTrial[]; bad: FinishedTrial[]; ended: number } {
  const oriented = (value: number) => (goal === 'minimize' ? value : -value);
  const completed = history
    .filter((t) => t.state === 'completed' && t.score !== null && Number.isFinite(t.score))
    .sort((a, b) => oriented(a.score as number) - oriented(b.score as number) || a.trial - b.trial);
  const pruned = history
    .filter((t) => t.state === 'pruned')
    .map((t) => ({ t, key: prunedKey(t, oriented) }))
    .sort((a, b) => a.key[0] - b.key[0] || a.key[1] - b.key[1] || a.t.trial - b.t.trial)
    .map(({ t }) => t);
  const ranked = [...completed, ...pruned];
  const count = gamma(ranked.length);
  const byTrial = (a: FinishedTrial, b: FinishedTrial) => a.trial - b.trial;
  return {
    good: ranked.slice(0, count).sort(byTrial),
    bad: ranked.slice(count).sort(byTrial),
    ended: ranked.length,
  };
}

/**
 * Optuna's pruned-trial score: (-last epoch, its value), a non-finite value worst within its
 * epoch; no epoch at all ranks last.
 */
function prunedKey(trial: FinishedTrial, oriented: (v: number) => number): [number, number] {
  const last = trial.intermediate.reduce<FinishedTrial['intermediate'][number] | undefined>(
    (latest, v) => (latest === undefined || v.epoch > latest.epoch ? v : latest),
    undefined,
  );
  if (!last) return [1, 0];
  return [-last.epoch, Number.isFinite(last.value) ? oriented(last.value) : Infinity];
}

export function tpeSampler(tuning: Tuning, seed: number): Sampler {
  const space = tuning.space;
  const flat = flattenSpace(space);
  const startupTrials = tuning.sampler?.startupTrials ?? TPE_DEFAULTS.startupTrials;
  const candidates = tuning.sampler?.candidates ?? TPE_DEFAULTS.candidates;
  const flatCache = new WeakMap<TrialParams, FlatValues>();
  return {
    ask(trial, history, running) {
      const { good, bad, ended } = splitTrials(history, tuning.goal);
      if (ended < startupTrials) return sampleParams(space, seed, trial);
      const observe = (params: TrialParams) => {
        // Each trial's params are flattened once, not at every ask.
        let values = flatCache.get(params);
        if (!values) flatCache.set(params, (values = flattenParams(flat, params)));
        return values;
      };
      const goodObs = good.map((t) => observe(t.params));
      // Running trials are the newest observations of the bad group.
      const badObs = [...bad.map((t) => observe(t.params)), ...running.map(observe)];
      const values: FlatValues = {};
      for (const param of flat) {
        if (!isActive(param, values)) continue;
        // Only the trials where the parameter existed (a layer beyond a trial's depth has no units).
        const having = (group: FlatValues[]) =>
          group.filter((o) => o[param.name] !== undefined).map((o) => o[param.name]);
        const below = buildParzenEstimator(param.domain, having(goodObs));
        const above = buildParzenEstimator(param.domain, having(badObs));
        const random = mulberry32(seedFor(seed, `tuning/tpe/${trial}/${param.name}`));
        const drawn = below.sample(random, candidates);
        let best = drawn[0];
        let bestScore = -Infinity;
        for (const x of drawn) {
          const score = below.logPdf(x) - above.logPdf(x);
          if (score > bestScore) [best, bestScore] = [x, score];
        }
        values[param.name] = best;
      }
      return assembleParams(space, flat, values);
    },
  };
}
