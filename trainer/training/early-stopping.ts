/**
 * Keras-style early stopping as a value: the state lives in checkpoints, so a resumed run keeps
 * its patience counter and its best epoch.
 */
import type { BuiltinTrainer } from '../../resources/training-run.js';
import type { EarlyStoppingState } from './checkpoint.js';
import { metricMode } from './objective.js';

export type EarlyStoppingConfig = NonNullable<BuiltinTrainer['hyperparameters']['earlyStopping']>;

export const initialEarlyStopping = (): EarlyStoppingState => ({
  best: null,
  bestEpoch: 0,
  wait: 0,
  stopped: false,
});

/**
 * Folds one epoch's value of the monitored metric into the state. An improvement must beat the
 * best by more than minDelta; a non-finite value never improves. Stops once `patience` epochs in a
 * row have not improved.
 */
export function updateEarlyStopping(
  state: EarlyStoppingState,
  config: Pick<EarlyStoppingConfig, 'metric' | 'minDelta'> & { patience: number },
  epoch: number,
  value: number,
): { state: EarlyStoppingState; improved: boolean } {
  const sign = metricMode(config.metric) === 'min' ? 1 : -1;
  const improved =
    Number.isFinite(value) && (state.best === null || sign * (state.best - value) > config.minDelta);
  if (improved) return { state: { best: value, bestEpoch: epoch, wait: 0, stopped: false }, improved };
  const wait = state.wait + 1;
  return { state: { ...state, wait, stopped: wait >= config.patience }, improved };
}
