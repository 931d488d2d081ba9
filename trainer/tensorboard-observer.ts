/** Connects the training loop to the TensorBoard writer: scalars per epoch and step, histograms. */
import type * as tf from '@tensorflow/tfjs';
import type { SummaryWriter } from './tensorboard/index.js';
import type { TrainingObserver } from './training/train.js';

/** `loss` -> `train/loss`, `val_mae` -> `val/mae`: the tags TensorBoard users expect. */
export const scalarTag = (metric: string): string =>
  metric.startsWith('val_') ? `val/${metric.slice(4)}` : `train/${metric}`;

export function tensorboardObserver(
  writer: SummaryWriter,
  options: { histograms: boolean },
): TrainingObserver {
  return {
    onEpoch(epoch: number, logs: Record<string, number>, model: tf.LayersModel) {
      for (const [metric, value] of Object.entries(logs)) {
        if (Number.isFinite(value)) writer.scalar(scalarTag(metric), value, epoch);
      }
      if (options.histograms) {
        for (const weight of model.weights) {
          // Reading weights synchronously once per epoch is cheap next to an epoch of training.
          const values = weight.read().dataSync();
          writer.histogram(`weights/${weight.name.replace(/:\d+$/, '')}`, values, epoch);
        }
      }
    },
    onStep(step: number, loss: number) {
      if (Number.isFinite(loss)) writer.scalar('train/step_loss', loss, step);
    },
  };
}
