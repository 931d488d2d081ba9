/**
 * The contract between the parts of a study (issue 17): the engine (run-tuning.ts) asks a
 * Sampler for each new trial's parameters, reports every epoch's value to a Pruner, scores each
 * finished trial with the objectives (objectives/), and draws the study (visualise/). Each part is
 * chosen from the manifest's `tuning` by its factory (`createSampler`, `createPruner`, ...).
 */
import type { TrainingRunSpec } from '../../resources/training-run.js';
import type { TrialParams } from './search-space.js';

export type Tuning = NonNullable<TrainingRunSpec['tuning']>;
export type Goal = 'minimize' | 'maximize';

/** One epoch's value of the tuning `metric` (as reported by the trainer's epoch event). */
export interface IntermediateValue {
  epoch: number;
  value: number;
}

/** What a sampler learns from: every trial that has ended, in trial order. */
export interface FinishedTrial {
  trial: number;
  params: TrialParams;
  /** completed trained its full budget; pruned stopped early (its last intermediate value counts). */
  state: 'completed' | 'pruned' | 'failed';
  /**
   * The trial's score on the primary objective (the metric worsened by its health penalties),
   * in the metric's own direction (not negated: `goal` says which way is better); null when it
   * failed or diverged.
   */
  score: number | null;
  intermediate: readonly IntermediateValue[];
}

/**
 * Proposes parameters. Deterministic: the same seed, trial number and history give the same
 * params, so a resumed study proposes what the crashed one would have.
 */
export interface Sampler {
  /**
   * The parameters of trial `trial` (1-based), keyed as the space's keys with their final
   * values (a `layers` dimension yields the list). `history` holds the trials that ended before
   * this one was asked; `running` the params of trials still training (TPE may use them as
   * "constant liar" points, others ignore them).
   */
  ask(trial: number, history: readonly FinishedTrial[], running: readonly TrialParams[]): TrialParams;
  /** Grid: how many distinct trials exist (the study ends there); undefined when unbounded. */
  readonly size?: number;
}

/** What a pruner sees of every trial when one reports an epoch. */
export interface PrunerTrialView {
  trial: number;
  state: 'running' | 'completed' | 'pruned' | 'failed';
  intermediate: readonly IntermediateValue[];
}

export interface PruneDecision {
  prune: boolean;
  /** Why, for logs and tuning.json: "val_loss 0.41 is worse than the median 0.33 at epoch 4". */
  reason?: string;
  /** asha/hyperband: the rung the trial just reached (0-based), and its bracket (hyperband). */
  rung?: number;
  bracket?: number;
}

export interface Pruner {
  /**
   * Called after each epoch of a running trial, with its value just appended to its
   * `intermediate`. Decides from the view of all trials. Values are the raw metric as the
   * trainer reported it; the pruner applies the `goal` it was created with.
   */
  report(trial: number, epoch: number, trials: readonly PrunerTrialView[]): PruneDecision;
  /** The rungs' epoch budgets (asha/hyperband) for tuning.json; [] for none/median. */
  describe(): { type: string; rungs?: number[][] };
}

/** A finished trial's objective values, score and penalty (objectives/). */
export interface TrialScore {
  /** [metric, ...objectives], raw as measured (not oriented); null when a value is missing or not finite. */
  values: (number | null)[];
  /** The primary metric worsened by the penalties; null when the metric is not finite. */
  score: number | null;
  /** Penalty in the metric's units and its parts (0 when `penalties` is not set). */
  penalty: { total: number; parts: Record<string, number> };
}
