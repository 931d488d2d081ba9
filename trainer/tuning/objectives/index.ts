/**
 * Scoring finished trials and choosing the best (contract: study-types.ts `TrialScore`).
 *
 * A trial's values are [metric, ...objectives], raw. Its score is the metric worsened by the
 * health penalties (health-penalty.ts). One objective: the best score wins, ties to the lower
 * trial. Several: the Pareto front of [score, ...objectives] by their goals (pareto.ts), and on
 * it `selection: primary` (the best score) or `knee` (closest to the ideal point once every
 * objective is scaled to [0, 1] over the front).
 */
import type { MetricsFile } from '../../../artifact/files.js';
import {
  ARTIFACT_OBJECTIVES,
  isArtifactObjective,
  type ArtifactObjective,
} from '../../../resources/tuning-objective-checks.js';
import { topTrials } from '../ranking.js';
import type { TrialScore, Tuning } from '../study-types.js';
import { healthPenalty, penalised } from './health-penalty.js';
import { modelObjectives } from './model-objectives.js';
import { kneePoint, paretoFront } from './pareto.js';

/**
 * An objective names a metric this training does not report: every trial would miss it, so the
 * engine ends the search (as for an unknown `metric`) rather than fail trial after trial.
 */
export class ObjectiveError extends Error {
  override name = 'ObjectiveError';
}

const finite = (value: unknown): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? value : null;

/** A value of metrics.json `metrics` (an own key: the file is untrusted, `constructor` is no metric). */
const metricOf = (metrics: MetricsFile, name: string): number | null =>
  Object.hasOwn(metrics.metrics, name) ? finite(metrics.metrics[name]) : null;

export async function scoreTrial(
  tuning: Tuning,
  metrics: MetricsFile,
  artifactDir: string,
): Promise<TrialScore> {
  const objectives = tuning.objectives ?? [];
  objectives.forEach(({ metric: name }, i) => {
    if (isArtifactObjective(name) || Object.hasOwn(metrics.metrics, name)) return;
    throw new ObjectiveError(
      `tuning.objectives[${i}].metric "${name}" is not reported by this training; it reports ${Object.keys(metrics.metrics).join(', ')}, and ${ARTIFACT_OBJECTIVES.join(' and ')} are read from the model`,
    );
  });
  const wanted = new Set(objectives.map((o) => o.metric).filter(isArtifactObjective));
  const model = await modelObjectives(artifactDir, wanted);
  const others = objectives.map(({ metric: name }) =>
    isArtifactObjective(name) ? (model[name as ArtifactObjective] ?? null) : metricOf(metrics, name),
  );
  const metric = metricOf(metrics, tuning.metric);
  const penalty = healthPenalty(tuning.penalties, metrics.health);
  return { values: [metric, ...others], score: penalised(metric, penalty, tuning.goal), penalty };
}

/** A trial as the selection sees it. */
export interface ScoredTrial {
  trial: number;
  values: readonly (number | null)[];
  score: number | null;
}

/** The best finite score by `goal`, ties to the lower trial (ranking.ts). */
const bestByScore = (tuning: Tuning, trials: readonly ScoredTrial[]): number | undefined =>
  topTrials(
    trials.map((t) => ({ trial: t.trial, metric: t.score })),
    1,
    tuning.goal,
  )[0]?.trial;

/**
 * The trial whose artifact becomes the run's, and the Pareto front (multi-objective only, in trial
 * order). A trial missing any objective value cannot be placed, so it is left off the front; when
 * no trial has them all, the best score is taken, as for a single objective.
 */
export function selectBest(
  tuning: Tuning,
  trials: readonly ScoredTrial[],
): { best: number | undefined; pareto: number[] } {
  const objectives = tuning.objectives ?? [];
  if (objectives.length === 0) return { best: bestByScore(tuning, trials), pareto: [] };
  const goals = [tuning.goal, ...objectives.map((o) => o.goal)];
  const points = trials.flatMap((t) => {
    const values = [t.score, ...goals.slice(1).map((_, i) => t.values[i + 1] ?? null)];
    return values.every((v) => v !== null && Number.isFinite(v))
      ? [{ trial: t.trial, values: values as number[] }]
      : [];
  });
  if (points.length === 0) return { best: bestByScore(tuning, trials), pareto: [] };
  const front = paretoFront(points, goals);
  const pick =
    tuning.selection === 'knee'
      ? kneePoint(front, goals)?.trial
      : bestByScore(
          tuning,
          front.map((p) => ({ trial: p.trial, values: p.values, score: p.values[0] })),
        );
  return { best: pick, pareto: front.map((p) => p.trial) };
}
