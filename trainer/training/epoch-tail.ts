/**
 * What follows an epoch's batches: its metrics (training sums, validation, the gradient-norm
 * probe for trainer/health), the history entry, early stopping (keeping the best weights), the
 * observers, the progress event with its ETA, the checkpoint, and a stop on abort.
 */
import { layerGradientNorms } from '../health/gradient-norms.js';
import { updateEarlyStopping } from './early-stopping.js';
import type { EpochSums } from './epoch.js';
import { evaluateScaled } from './evaluate-scaled.js';
import { abortError, captureWeights, now, saveCheckpoint, type TrainingSession } from './session.js';

/** No epoch follows: the budget is spent, early stopping stopped, the loss diverged, or a stop was asked. */
export const trainingFinished = (s: TrainingSession): boolean =>
  s.state.epoch >= s.epochs || s.state.earlyStopping.stopped || s.state.diverged || s.stopRequested === true;

export async function endEpoch(s: TrainingSession, sums: EpochSums): Promise<void> {
  const { state, model, objective, earlyStopping: es } = s;
  const { epoch } = sums;
  s.runner.syncToModel();
  const metrics: Record<string, number> = {
    loss: sums.lossSum / sums.samples,
    [objective.metric]: sums.metricSum / sums.samples,
  };
  if (s.withValidation) {
    const validation = evaluateScaled(model, s.data.validation, s.data.preprocess.inputShape, objective);
    metrics.val_loss = validation.loss;
    metrics[`val_${objective.metric}`] = validation.metric;
  }
  const gradientNorms =
    s.runner.gradientNorms?.(s.probe[0], s.probe[1]) ??
    layerGradientNorms(model, s.probe[0], s.probe[1], objective.loss);
  const seconds = (now() - sums.startedAt) / 1000;
  state.history.push({ epoch, metrics, seconds, gradientNorms });
  state.epoch = epoch;
  state.diverged = sums.diverged;
  if (es) {
    const update = updateEarlyStopping(state.earlyStopping, es, epoch, metrics[es.metric]);
    state.earlyStopping = update.state;
    if (update.improved) s.best = captureWeights(model);
  }

  await s.observer?.onEpoch(epoch, metrics, model);
  s.epochSeconds.push(seconds);
  const finished = trainingFinished(s);
  const meanEpoch = s.epochSeconds.reduce((a, b) => a + b, 0) / s.epochSeconds.length;
  state.elapsedSeconds = s.elapsed();
  s.onEvent({
    type: 'epoch',
    epoch,
    epochs: s.epochs,
    loss: metrics.loss,
    metrics,
    etaSeconds: finished ? 0 : meanEpoch * (s.epochs - epoch),
    elapsedSeconds: state.elapsedSeconds,
  });
  await saveCheckpoint(s);
  s.onEvent({ type: 'checkpoint', epoch });
  if (state.earlyStopping.stopped) {
    s.onEvent({ type: 'early-stop', epoch, bestEpoch: state.earlyStopping.bestEpoch });
  }
  if (s.stopAfterEpoch && (await s.stopAfterEpoch(epoch)) && !finished) s.stopRequested = true;
  if (s.signal?.aborted && !finished) {
    throw abortError(`training aborted after epoch ${epoch}; checkpoint saved`);
  }
}
