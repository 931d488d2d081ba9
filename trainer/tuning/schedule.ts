/**
 * Epoch budgets of a search. `random` is one rung: every trial trains its full epochs.
 * `halving` is successive halving (Jamieson & Talwalkar 2016; one bracket of Hyperband): rung 0
 * trains all trials on a small budget, each later rung keeps the best 1/eta and multiplies the
 * budget by eta, the last rung trains the survivors to the full `epochs`. Budgets are cumulative
 * epochs: a promoted trial resumes from its checkpoint and trains only the difference.
 */

/** Hyperband's default: a third survives each rung, budgets triple. */
export const HALVING_ETA = 3;

export interface Rung {
  /** 0-based. */
  rung: number;
  /** Trials that train in this rung. */
  trials: number;
  /** Cumulative epoch budget of a trial in this rung (for the spec's own `epochs`). */
  epochs: number;
}

/** How many times `eta` fits multiplicatively into `n` (floor of log_eta n), in integers. */
function timesDivisible(n: number, eta: number): number {
  let k = 0;
  for (let power = eta; power <= n; power *= eta) k++;
  return k;
}

/**
 * Rungs of successive halving. Their number is bounded by the trials (no rung keeps fewer than
 * one) and by the epochs (no rung gets less than one epoch, and budgets stay distinct), so small
 * searches degrade gracefully to a single rung, that is random search.
 */
export function halvingSchedule(trials: number, maxEpochs: number, eta: number = HALVING_ETA): Rung[] {
  if (!(eta >= 2)) throw new Error(`eta must be >= 2, got ${eta}`);
  const last = Math.min(timesDivisible(trials, eta), timesDivisible(maxEpochs, eta));
  const rungs: Rung[] = [];
  let count = trials;
  for (let rung = 0; rung <= last; rung++) {
    const epochs = rung === last ? maxEpochs : Math.max(1, Math.round(maxEpochs / eta ** (last - rung)));
    rungs.push({ rung, trials: count, epochs });
    count = Math.max(1, Math.floor(count / eta));
  }
  return rungs;
}

export const randomSchedule = (trials: number, maxEpochs: number): Rung[] => [
  { rung: 0, trials, epochs: maxEpochs },
];

/**
 * A trial's budget in a rung when its own `epochs` differs from the spec's (epochs is tuned):
 * the same fraction of its own maximum.
 */
export function trialBudget(rung: Rung, schedule: Rung[], trialEpochs: number): number {
  const maxEpochs = schedule[schedule.length - 1].epochs;
  if (rung.rung === schedule.length - 1) return trialEpochs;
  return Math.max(1, Math.min(trialEpochs, Math.round((trialEpochs * rung.epochs) / maxEpochs)));
}
