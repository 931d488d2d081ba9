/**
 * Hyperband (Li et al. 2017, "Hyperband: A Novel Bandit-Based Approach to Hyperparameter
 * Optimization"), run asynchronously as Optuna's HyperbandPruner does: brackets i = 0 .. n-1,
 * n = ⌊log_eta(maxEpochs / minEpochs)⌋ + 1, each an ASHA ladder starting at minEpochs × eta^i
 * (bracket 0 prunes hardest, the last trains every trial to its end). A trial competes only with
 * the trials of its bracket.
 *
 * Trials go to brackets in proportion to Optuna's bracket budgets, ⌈n × eta^s / (s + 1)⌉ with
 * s = n − 1 − i (the trials Hyperband gives bracket i). Optuna draws the bracket from a hash of
 * the study name and trial number; here it is a smooth weighted round-robin over trial numbers
 * (the same budgets, interleaved: each bracket's share is exact after every full cycle), so the
 * assignment is deterministic without a study name and early trials already spread over brackets.
 */
import type { Pruner } from '../study-types.js';
import type { RungOptions } from './asha.js';
import { judgeRungs, rungEpochs } from './successive-halving.js';

/** Bracket count: how many times minEpochs × eta^i fits in maxEpochs. */
export function bracketCount(minEpochs: number, eta: number, maxEpochs: number): number {
  let n = 0;
  for (let epochs = minEpochs; epochs <= maxEpochs; epochs *= eta) n++;
  return Math.max(1, n);
}

/** Optuna's `_calculate_trial_allocation_budget` for each bracket. */
export function bracketBudgets(brackets: number, eta: number): number[] {
  return Array.from({ length: brackets }, (_, i) => {
    const s = brackets - 1 - i;
    return Math.ceil((brackets * eta ** s) / (s + 1));
  });
}

/**
 * Brackets of trials 1..count by smooth weighted round-robin: every turn each bracket gains its
 * budget, the one with the most credit (the lower index on a tie) takes the trial and pays the total.
 */
export function assignBrackets(budgets: readonly number[], count: number): number[] {
  const total = budgets.reduce((a, b) => a + b, 0);
  const credit = budgets.map(() => 0);
  const out: number[] = [];
  for (let t = 0; t < count; t++) {
    let pick = 0;
    for (let i = 0; i < budgets.length; i++) {
      credit[i] += budgets[i];
      if (credit[i] > credit[pick]) pick = i;
    }
    credit[pick] -= total;
    out.push(pick);
  }
  return out;
}

export function hyperbandPruner(options: RungOptions): Pruner {
  const { minEpochs, eta, maxEpochs } = options;
  const brackets = bracketCount(minEpochs, eta, maxEpochs);
  const budgets = bracketBudgets(brackets, eta);
  const ladders = Array.from({ length: brackets }, (_, i) => rungEpochs(minEpochs, eta, maxEpochs, i));
  const assigned: number[] = [];
  const bracketOf = (trial: number): number => {
    const index = Math.max(1, Math.trunc(trial));
    if (assigned.length < index) assigned.splice(0, assigned.length, ...assignBrackets(budgets, index));
    return assigned[index - 1];
  };
  return {
    describe: () => ({ type: 'hyperband', rungs: ladders }),
    report(trial, epoch, trials) {
      const bracket = bracketOf(trial);
      const self = trials.find((t) => t.trial === trial);
      if (!self) return { prune: false, bracket };
      const peers = trials.filter((t) => bracketOf(t.trial) === bracket);
      return { ...judgeRungs({ ...options, rungs: ladders[bracket] }, self, epoch, peers), bracket };
    },
  };
}
