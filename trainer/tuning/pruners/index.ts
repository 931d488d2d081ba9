/** The pruner the manifest asks for (contract: study-types.ts `Pruner`). */
import type { Goal, Pruner, Tuning } from '../study-types.js';

/** Contract placeholder until the pruners land: never prunes. */
export function createPruner(_tuning: Tuning, _maxEpochs: number, _goal: Goal): Pruner {
  return { report: () => ({ prune: false }), describe: () => ({ type: 'none' }) };
}
