/**
 * The pruner the manifest asks for (contract: study-types.ts `Pruner`): `tuning.pruner.type`, else
 * what `algorithm` stood for in the first version (halving: asha with eta 3; random: none).
 */
import type { Goal, Pruner, Tuning } from '../study-types.js';
import { ashaPruner } from './asha.js';
import { hyperbandPruner } from './hyperband.js';
import { medianPruner } from './median.js';

/** Defaults of the pruner options (Optuna's, and the first version's eta). */
export const PRUNER_DEFAULTS = { startupTrials: 5, warmupEpochs: 0, minEpochs: 1, eta: 3 } as const;

export const prunerType = (tuning: Tuning): 'none' | 'median' | 'asha' | 'hyperband' =>
  tuning.pruner?.type ?? (tuning.algorithm === 'halving' ? 'asha' : 'none');

export function createPruner(tuning: Tuning, maxEpochs: number, goal: Goal): Pruner {
  const p = tuning.pruner;
  const options = {
    goal,
    metric: tuning.metric,
    maxEpochs,
    startupTrials: p?.startupTrials ?? PRUNER_DEFAULTS.startupTrials,
    warmupEpochs: p?.warmupEpochs ?? PRUNER_DEFAULTS.warmupEpochs,
    minEpochs: p?.minEpochs ?? PRUNER_DEFAULTS.minEpochs,
    eta: p?.eta ?? PRUNER_DEFAULTS.eta,
  };
  switch (prunerType(tuning)) {
    case 'median':
      return medianPruner(options);
    case 'asha':
      return ashaPruner(options);
    case 'hyperband':
      return hyperbandPruner(options);
    case 'none':
      return { report: () => ({ prune: false }), describe: () => ({ type: 'none' }) };
  }
}
