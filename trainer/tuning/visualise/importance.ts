/**
 * Parameter importance: permutation importance of a random-forest surrogate.
 *
 * A random forest (ml-random-forest: CART trees on bootstrap samples, Breiman 2001) is fitted to
 * predict a trial's value from its parameters. A parameter's importance is how much worse the
 * surrogate predicts the observed values when that parameter's column is shuffled across trials
 * (the permutation importance of Breiman 2001, section 10; "model reliance" in Fisher, Rudin &
 * Dominici 2019, JMLR 20(177)), averaged over several seeded shuffles, clamped at 0 and normalised
 * to sum to 1. Optuna offers the same family (its default fANOVA evaluator also fits a random
 * forest); permutation importance is chosen because it needs only the forest's predictions.
 *
 * Inputs are the parallel-coordinates positions (study-plots.ts): numbers scaled to [0, 1] (in
 * log space for logUniform), categories by index, a conditional parameter a trial lacks as -1.
 * Trees split on order only, so this encoding loses nothing. Trials count when the engine ranks
 * them (completed or pruned, at the value they stopped with): a halving study prunes most trials,
 * and leaving them out would leave too few to fit.
 */
import { RandomForestRegression } from 'ml-random-forest';
import { mulberry32, shuffleInPlace } from '../../data/random.js';
import type { ImportancePlot, TuningPlots } from './plots-file.js';

export const IMPORTANCE_METHOD =
  'permutation importance of a random-forest surrogate (64 trees; Breiman 2001), 16 shuffles per parameter';

const TREES = 64;
const SHUFFLES = 16;
/** Fewer trials than this say nothing about which parameter matters. */
const MIN_TRIALS = 3;
const MISSING = -1;

const meanSquaredError = (predicted: readonly number[], actual: readonly number[]): number =>
  predicted.reduce((sum, p, i) => sum + (p - actual[i]) ** 2, 0) / actual.length;

/**
 * Importance of each space key, or undefined when it cannot be told: fewer than three trials with
 * a value, values that do not vary, or a surrogate no shuffle makes worse.
 */
export function parameterImportance(plots: Pick<TuningPlots, 'parallel'>): ImportancePlot | undefined {
  const { axes, rows } = plots.parallel;
  const paramCount = axes.length - 1; // the last axis is the score
  const fitted = rows.filter((r) => r.score !== null);
  if (paramCount < 1 || fitted.length < MIN_TRIALS) return undefined;
  const x = fitted.map((r) => r.positions.slice(0, paramCount).map((p) => p ?? MISSING));
  const y = fitted.map((r) => r.score as number);
  if (y.every((v) => v === y[0])) return undefined;

  const forest = new RandomForestRegression({
    seed: 1,
    nEstimators: TREES,
    maxFeatures: 1.0,
    replacement: true,
    useSampleBagging: true,
    noOOB: true,
    treeOptions: { minNumSamples: 2, maxDepth: 64 },
  });
  forest.train(x, y);
  const baseline = meanSquaredError(forest.predict(x), y);
  const raw = axes.slice(0, paramCount).map((_, column) => {
    const random = mulberry32(0x5eed + column);
    let worse = 0;
    for (let s = 0; s < SHUFFLES; s++) {
      const shuffled = x.map((row) => row[column]);
      shuffleInPlace(shuffled, random);
      const permuted = x.map((row, i) => row.map((v, k) => (k === column ? shuffled[i] : v)));
      worse += meanSquaredError(forest.predict(permuted), y) - baseline;
    }
    return Math.max(0, worse / SHUFFLES);
  });
  const total = raw.reduce((sum, v) => sum + v, 0);
  if (!(total > 0)) return undefined;
  const params = axes
    .slice(0, paramCount)
    .map((axis, i) => ({ key: axis.key, importance: raw[i] / total }))
    .sort((a, b) => b.importance - a.importance || (a.key < b.key ? -1 : 1));
  return { method: IMPORTANCE_METHOD, trials: fitted.length, params };
}

/** `tuning.json`'s `importance`: key to importance. */
export const importanceRecord = (importance: ImportancePlot): Record<string, number> =>
  Object.fromEntries(importance.params.map((p) => [p.key, p.importance]));
