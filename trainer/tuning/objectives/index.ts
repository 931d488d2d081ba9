/** Scoring finished trials and choosing the best (contract: study-types.ts `TrialScore`). */
import type { MetricsFile } from '../../../artifact/files.js';
import type { TrialScore, Tuning } from '../study-types.js';

const finite = (value: unknown): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? value : null;

/**
 * Contract placeholder until objectives land: the metric alone, no penalties, other objectives
 * read from metrics.json only. `artifactDir` is where `parameters`/`modelBytes` will be read.
 */
export async function scoreTrial(
  tuning: Tuning,
  metrics: MetricsFile,
  _artifactDir: string,
): Promise<TrialScore> {
  const metric = finite(metrics.metrics[tuning.metric]);
  const others = (tuning.objectives ?? []).map((o) => finite(metrics.metrics[o.metric]));
  return { values: [metric, ...others], score: metric, penalty: { total: 0, parts: {} } };
}

/** A trial as the selection sees it. */
export interface ScoredTrial {
  trial: number;
  values: readonly (number | null)[];
  score: number | null;
}

/**
 * The trial whose artifact becomes the run's, and the Pareto front (multi-objective only).
 * Contract placeholder until objectives land: the best score by `goal`, ties to the lower
 * trial; no front.
 */
export function selectBest(
  tuning: Tuning,
  trials: readonly ScoredTrial[],
): { best: number | undefined; pareto: number[] } {
  const sign = tuning.goal === 'minimize' ? 1 : -1;
  const ranked = trials
    .filter((t) => t.score !== null && Number.isFinite(t.score))
    .sort((a, b) => sign * ((a.score as number) - (b.score as number)) || a.trial - b.trial);
  return { best: ranked[0]?.trial, pareto: [] };
}
