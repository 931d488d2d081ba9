/**
 * Asynchronous successive halving (ASHA: Li et al. 2018, "A System for Massively Parallel
 * Hyperparameter Tuning", Algorithm 2; Optuna's SuccessiveHalvingPruner). Rung k sits at
 * minEpochs × eta^(s + k) epochs, below the spec's epochs (s is the early-stopping rate: 0 for
 * ASHA, the bracket's index in Hyperband). When a trial reaches a rung it records its value there
 * and goes on only if that value is in the top 1/eta of the values recorded at that rung so far,
 * its own included: asynchronous, it is compared with the trials present, never waits for others.
 *
 * The first arrivals: with fewer than eta values at a rung, the top 1/eta is empty. The paper's
 * scheduler would then start a new trial instead of promoting, and resume the waiting ones later;
 * trials here cannot be suspended, so, as Optuna does, such a trial goes on only if its value is
 * the best at that rung so far.
 *
 * Pure: everything is derived from the trials' curves (a trial's value at a rung is its value at
 * the first epoch at or past the rung), so a resumed study decides what the crashed one would have.
 */
import type { Goal, IntermediateValue, PruneDecision, PrunerTrialView } from '../study-types.js';
import { direction, fmt } from './direction.js';

/** Epochs of the rungs: minEpochs × eta^(rate + k) below maxEpochs. */
export function rungEpochs(minEpochs: number, eta: number, maxEpochs: number, rate = 0): number[] {
  const out: number[] = [];
  for (let epochs = minEpochs * eta ** rate; epochs < maxEpochs; epochs *= eta) out.push(epochs);
  return out;
}

/** The value a curve recorded at a rung: at the first epoch at or past it. */
const rungValue = (curve: readonly IntermediateValue[], rung: number): number | undefined =>
  curve.find((p) => p.epoch >= rung)?.value;

export interface HalvingContext {
  goal: Goal;
  metric: string;
  eta: number;
  rungs: readonly number[];
}

/**
 * The decision for `self`, which just reported `epoch`, among `peers` (the trials it competes
 * with: all of them for ASHA, its bracket for Hyperband; `self` may be among them).
 */
export function judgeRungs(
  context: HalvingContext,
  self: PrunerTrialView,
  epoch: number,
  peers: readonly PrunerTrialView[],
): PruneDecision {
  const dir = direction(context.goal);
  const { eta, metric } = context;
  const previous = Math.max(0, ...self.intermediate.filter((p) => p.epoch < epoch).map((p) => p.epoch));
  const value = self.intermediate.find((p) => p.epoch === epoch)?.value;
  let reached: number | undefined;
  for (const [k, rung] of context.rungs.entries()) {
    // Rungs passed before this report were judged then; later ones are not reached yet.
    if (rung <= previous) continue;
    if (rung > epoch || value === undefined) break;
    reached = k;
    const where = `at epoch ${epoch} (rung ${k}, ${rung} epochs)`;
    if (Number.isNaN(value)) return { prune: true, rung: k, reason: `${metric} is NaN ${where}` };
    const competing = [value];
    for (const peer of peers) {
      if (peer.trial === self.trial) continue;
      const v = rungValue(peer.intermediate, rung);
      if (v !== undefined && !Number.isNaN(v)) competing.push(v);
    }
    // Best first; the cut is the worst value still in the top 1/eta (the best one for the first arrivals).
    competing.sort((a, b) => (dir.better(a, b) ? -1 : dir.better(b, a) ? 1 : 0));
    const keep = Math.floor(competing.length / eta);
    const cut = competing[Math.max(0, keep - 1)];
    if (dir.better(cut, value)) {
      const rule =
        keep === 0
          ? `not the best of the ${competing.length} trials there so far (fewer than eta = ${eta})`
          : `not in the top 1/${eta} (${keep} of ${competing.length} trials)`;
      return {
        prune: true,
        rung: k,
        reason: `${metric} ${fmt(value)} ${where} is ${rule}; the cut is ${fmt(cut)}`,
      };
    }
  }
  return reached === undefined ? { prune: false } : { prune: false, rung: reached };
}
