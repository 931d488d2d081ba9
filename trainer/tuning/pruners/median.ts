/**
 * The median stopping rule (Golovin et al. 2017, "Google Vizier", §3.2.2; Optuna's MedianPruner):
 * stop a trial at epoch t when its best value up to t is worse than the median of the completed
 * trials' values at epoch t. As in Optuna, only completed trials count, both towards
 * `startupTrials` and in the median (a pruned trial's curve is the kind being judged, not the
 * reference), pruning waits `warmupEpochs` epochs into each trial, an epoch no completed trial
 * reached cannot prune, and a trial with no value but NaN is pruned.
 */
import type { Goal, PruneDecision, Pruner, PrunerTrialView } from '../study-types.js';
import { direction, fmt, valueAt } from './direction.js';

export interface MedianOptions {
  goal: Goal;
  metric: string;
  /** Completed trials before any pruning (Optuna's n_startup_trials, default 5). */
  startupTrials: number;
  /** Epochs of a trial before it can be pruned (Optuna's n_warmup_steps, default 0). */
  warmupEpochs: number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function medianPruner(options: MedianOptions): Pruner {
  const dir = direction(options.goal);
  return {
    describe: () => ({ type: 'median' }),
    report(trial: number, epoch: number, trials: readonly PrunerTrialView[]): PruneDecision {
      const self = trials.find((t) => t.trial === trial);
      if (!self || epoch <= options.warmupEpochs) return { prune: false };
      const completed = trials.filter((t) => t.state === 'completed' && t.trial !== trial);
      if (completed.length < options.startupTrials) return { prune: false };
      const best = dir.best(self.intermediate.filter((p) => p.epoch <= epoch).map((p) => p.value));
      if (Number.isNaN(best))
        return { prune: true, reason: `${options.metric} has been NaN up to epoch ${epoch}` };
      const others = completed
        .map((t) => valueAt(t.intermediate, epoch))
        .filter((v): v is number => v !== undefined && !Number.isNaN(v));
      if (others.length === 0) return { prune: false };
      const mid = median(others);
      if (!dir.better(mid, best)) return { prune: false };
      return {
        prune: true,
        reason: `${options.metric} ${fmt(best)} (best so far) is ${dir.worse} the median ${fmt(mid)} of ${others.length} completed trials at epoch ${epoch}`,
      };
    },
  };
}
