/**
 * Multi-objective selection: the Pareto front of the trials' objective vectors (the first front
 * of a non-dominated sort, Deb et al. 2002) and the knee pick on it. Every vector is oriented by
 * its goal first, so below "smaller is better" holds for every coordinate.
 */
import type { Goal } from '../study-types.js';

export interface Point {
  trial: number;
  /** One finite value per objective, raw (in the objectives' own directions). */
  values: readonly number[];
}

const oriented = (values: readonly number[], goals: readonly Goal[]): number[] =>
  values.map((v, i) => (goals[i] === 'maximize' ? -v : v));

/** a dominates b: no worse in every objective and better in at least one (both oriented). */
function dominates(a: readonly number[], b: readonly number[]): boolean {
  let better = false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] > b[i]) return false;
    if (a[i] < b[i]) better = true;
  }
  return better;
}

/** The points no other point dominates, in trial order. Equal vectors are all on the front. */
export function paretoFront<T extends Point>(points: readonly T[], goals: readonly Goal[]): T[] {
  const vectors = points.map((p) => oriented(p.values, goals));
  return points
    .filter((_, i) => !vectors.some((other, j) => j !== i && dominates(other, vectors[i])))
    .sort((a, b) => a.trial - b.trial);
}

/**
 * The knee of a front: each objective scaled to [0, 1] over the front (0 = the best value on the
 * front, an objective equal on the whole front is 0 everywhere), then the point closest to the
 * ideal point (all 0) by Euclidean distance; ties to the lower trial.
 */
export function kneePoint<T extends Point>(front: readonly T[], goals: readonly Goal[]): T | undefined {
  const vectors = front.map((p) => oriented(p.values, goals));
  const lows = goals.map((_, i) => Math.min(...vectors.map((v) => v[i])));
  const highs = goals.map((_, i) => Math.max(...vectors.map((v) => v[i])));
  let best: { point: T; distance: number } | undefined;
  front.forEach((point, k) => {
    const distance = Math.hypot(
      ...vectors[k].map((v, i) => (highs[i] > lows[i] ? (v - lows[i]) / (highs[i] - lows[i]) : 0)),
    );
    if (!best || distance < best.distance || (distance === best.distance && point.trial < best.point.trial))
      best = { point, distance };
  });
  return best?.point;
}
