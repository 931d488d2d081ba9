/**
 * One training session's working set, shared by the epoch (epoch.ts) and its tail (epoch-tail.ts):
 * what was chosen before the first epoch (network, step runner, batches, probe), the state a
 * checkpoint carries (`state`, `best`), and the clocks. `train()` (train.ts) assembles it.
 */
import * as tf from '@tensorflow/tfjs';
import type { BuiltinTrainer } from '../../resources/training-run.js';
import type { PreparedData, ProgressEvent } from '../types.js';
import type { BatchSource } from './batches.js';
import { writeCheckpoint, type CheckpointState, type NamedArray } from './checkpoint.js';
import type { Objective } from './objective.js';
import { captureOptimizer, toNamedArray } from './optimizer.js';
import type { ChosenRunner } from './runner-choice.js';
import type { TrainingObserver } from './train.js';

export interface TrainingSession extends ChosenRunner {
  data: PreparedData;
  objective: Objective;
  withValidation: boolean;
  batches: BatchSource;
  /** Where `checkpoint/` lives. */
  outDir: string;
  /** The epoch budget. */
  epochs: number;
  earlyStopping: BuiltinTrainer['hyperparameters']['earlyStopping'];
  observer?: TrainingObserver;
  onEvent: (event: ProgressEvent) => void;
  signal?: AbortSignal;
  stopAfterEpoch?: (epoch: number) => boolean | Promise<boolean>;
  /** stopAfterEpoch said stop (not in the checkpoint: a resumed trial is given that epoch as budget). */
  stopRequested?: boolean;
  stepInterval: number;
  /** The head of the training split, for the gradient-norm probe after each epoch. */
  probe: [tf.Tensor, tf.Tensor];
  /** What a checkpoint holds; replaced by the one resumed from. */
  state: CheckpointState;
  /** The best epoch's weights so far (early stopping). */
  best?: NamedArray[];
  /** Epoch durations of this session, for the ETA. */
  epochSeconds: number[];
  /** When the event loop last ran (long epochs yield to it now and then). */
  lastYield: number;
  /** Training seconds over all sessions (the checkpoint's plus this one's). */
  elapsed(): number;
}

export const now = (): number => performance.now();

export const captureWeights = (model: tf.LayersModel): NamedArray[] =>
  model.weights.map((w) => toNamedArray(w.originalName, w.read()));

export function setWeights(model: tf.LayersModel, arrays: NamedArray[]): void {
  const expected = model.weights.map((w) => `${w.originalName}[${w.shape.join(',')}]`);
  const found = arrays.map((a) => `${a.name}[${a.shape.join(',')}]`);
  if (expected.join(' ') !== found.join(' ')) {
    throw new Error(
      `checkpoint weights do not fit the network: expected ${expected.join(' ')}, found ${found.join(' ')}`,
    );
  }
  const tensors = arrays.map((a) => tf.tensor(a.data, a.shape, a.dtype));
  model.setWeights(tensors);
  tf.dispose(tensors);
}

/** Writes the session's checkpoint atomically (the runner's weights are synced to the model first). */
export async function saveCheckpoint(s: TrainingSession): Promise<void> {
  s.runner.syncToModel();
  s.state.writtenAt = new Date().toISOString();
  await writeCheckpoint(s.outDir, s.state, {
    weights: captureWeights(s.model),
    optimizer: await captureOptimizer(s.optimizer),
    ...(s.best && { best: s.best }),
  });
}

export function abortError(message: string): Error {
  return new DOMException(message, 'AbortError');
}
