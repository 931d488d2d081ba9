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
