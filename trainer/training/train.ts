/**
 * The training loop: PreparedData + the builtin trainer spec -> a trained tf.LayersModel.
 *
 * Our own epoch loop rather than `model.fit`, because fit shuffles with Math.random (not
 * reproducible), cannot resume mid-run with its optimizer state, and is ~3x slower on wasm than
 * the flat MLP step (mlp-step.ts). Per epoch: a seeded shuffle, the batches, validation, a
 * gradient-norm probe for trainer/health, observers, then an atomic checkpoint. A checkpoint
 * found in outDir is resumed from; the result equals an uninterrupted run on the same backend
 * (same weights, optimizer slots, random stream and dropout seeds).
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import type { BuiltinTrainer } from '../../resources/training-run.js';
import type { PreparedData, ProgressEvent, Samples } from '../types.js';
import { BatchSource } from './batches.js';
import {
  CorruptCheckpointError,
  readCheckpoint,
  type CheckpointState,
  type HistoryEntry,
} from './checkpoint.js';
import { initialEarlyStopping } from './early-stopping.js';
import { runEpoch } from './epoch.js';
import { endEpoch, trainingFinished } from './epoch-tail.js';
import type { FusedLstmRunner } from './recurrent-step.js';
import { metricMode, objectiveFor, reportedMetrics, type Objective } from './objective.js';
import { restoreOptimizer } from './optimizer.js';
import { deriveSeed, Rng } from './rng.js';
import { chooseRunner, product } from './runner-choice.js';
import { now, setWeights, type TrainingSession } from './session.js';
import type { StepRunner } from './step.js';

export type { HistoryEntry } from './checkpoint.js';

/**
 * Hooks for writers that follow the training (the TensorBoard writer in trainer/tensorboard/ is
 * attached by the entry point). Awaited, so a slow writer slows training rather than piling up.
 */
export interface TrainingObserver {
  onEpoch(epoch: number, logs: Record<string, number>, model: tf.LayersModel): void | Promise<void>;
  /** Every `stepInterval` optimizer steps, with that step's batch loss. */
  onStep?(step: number, loss: number): void | Promise<void>;
}

export interface TrainOptions {
  data: PreparedData;
  builtin: BuiltinTrainer;
  /** Where `checkpoint/` lives (a path, file:// or gs:// URI). */
  outDir: string;
  onEvent: (event: ProgressEvent) => void;
  tensorboard?: TrainingObserver;
  /** Abort: the current batch finishes, a checkpoint is written, the promise rejects with an AbortError. */
  signal?: AbortSignal;
  /**
   * Asked after each epoch's checkpoint (tuning's pruner, through the trial worker): true ends
   * the training there like an early stop, and the result is that epoch's model.
   */
  stopAfterEpoch?: (epoch: number) => boolean | Promise<boolean>;
  /** Step events and onStep every N optimizer steps (default 50, TensorBoard's default). */
  stepInterval?: number;
  /** Warnings that do not stop the run (an unreadable checkpoint that was set aside). Default: stderr. */
  log?: (message: string) => void;
  /** Samples in the gradient-norm probe batch, from the head of the training split (default 256). */
  probeSize?: number;
}

export interface TrainResult {
  /** With early stopping: the best epoch's weights; without: the last epoch's. */
  model: tf.LayersModel;
  history: HistoryEntry[];
  /** Epoch with the best monitored metric (early-stopping metric, else val_loss, else loss); 1-based. */
  bestEpoch: number;
  stoppedEarly: boolean;
  /** Completed epochs found in the checkpoint this run resumed from. */
  resumedFromEpoch?: number;
  /** The training loss became NaN or infinite; training stopped at that epoch. */
  diverged: boolean;
  restoredBestWeights: boolean;
  /** Scaled-space metrics of the returned model (its epoch's history entry). */
  finalMetrics: Record<string, number>;
  stepsPerEpoch: number;
  /** Optimizer steps over all sessions. */
  steps: number;
  /** Training wall time over all sessions. */
  seconds: number;
  /** Which step implementation trained the model. */
  stepKind: (StepRunner | FusedLstmRunner)['kind'];
  /** The tfjs backend it trained on. */
  backend: string;
}

const SHUFFLE_STREAM = 0x5f3759df;

/**
 * What a checkpoint must agree with to be resumed. Not the epoch budget or early-stopping
 * patience: raising `epochs` and resuming is legitimate (successive-halving tuning does it).
 */
export function trainingFingerprint(data: PreparedData, builtin: BuiltinTrainer, stepKind: string): string {
  const hp = builtin.hyperparameters;
  const identity = {
    version: 1,
    task: data.task,
    network: builtin.network,
    seed: builtin.seed,
    batchSize: hp.batchSize,
    learningRate: hp.learningRate,
    optimizer: hp.optimizer,
    earlyStoppingMetric: hp.earlyStopping?.metric ?? null,
    inputShape: data.preprocess.inputShape,
    targetSize: data.targetSize,
    data: data.fingerprint,
    train: data.train.count,
    validation: data.validation.count,
    stepKind,
  };
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex');
}

function checkData(data: PreparedData): void {
  const featureSize = product(data.preprocess.inputShape);
  for (const [name, samples] of [
    ['train', data.train],
    ['validation', data.validation],
  ] as const) {
    if (
      samples.x.length !== samples.count * featureSize ||
      samples.y.length !== samples.count * data.targetSize
    ) {
      throw new Error(
        `${name} split has ${samples.x.length} inputs and ${samples.y.length} targets for ${samples.count} samples ` +
          `of shape [${data.preprocess.inputShape.join(', ')}] -> ${data.targetSize}`,
      );
    }
  }
  if (data.train.count === 0) throw new Error('the training split is empty');
}

/** The head of a sample set as tensors, for probes. */
function head(
  samples: Samples,
  size: number,
  inputShape: number[],
  targetSize: number,
): [tf.Tensor, tf.Tensor] {
  const n = Math.min(size, samples.count);
  const f = product(inputShape);
  return [
    tf.tensor(samples.x.slice(0, n * f), [n, ...inputShape]),
    tf.tensor2d(samples.y.slice(0, n * targetSize), [n, targetSize]),
  ];
}

function bestEpochOf(history: HistoryEntry[], metric: string): number {
  const sign = metricMode(metric) === 'min' ? 1 : -1;
  let best = 0;
  let bestValue = Infinity;
  for (const entry of history) {
    const value = sign * (entry.metrics[metric] ?? Number.NaN);
    if (Number.isFinite(value) && value < bestValue) {
      bestValue = value;
      best = entry.epoch;
    }
  }
  return best;
}

/**
 * The checkpoint to resume from, if any. An unreadable one is set aside: a checkpoint only saves
 * time, starting over is always correct, and refusing would fail the run on every retry. One of
 * a different training is refused: resuming it would silently mix two runs.
 */
async function readResumable(
  outDir: string,
  fingerprint: string,
  log: (message: string) => void,
): Promise<Awaited<ReturnType<typeof readCheckpoint>>> {
  let checkpoint: Awaited<ReturnType<typeof readCheckpoint>>;
  try {
    checkpoint = await readCheckpoint(outDir);
  } catch (e) {
    if (!(e instanceof CorruptCheckpointError)) throw e;
    log(`warning: ignoring the checkpoint in ${outDir}: ${e.message}; training from scratch`);
    return undefined;
  }
  if (checkpoint && checkpoint.state.fingerprint !== fingerprint) {
    throw new Error(
      `${outDir} holds a checkpoint of a different training (other data, network or hyperparameters); ` +
        `delete its checkpoint/ directory or train into another directory`,
    );
  }
  return checkpoint;
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const { data, builtin, outDir, onEvent, signal } = options;
  const log = options.log ?? ((message: string) => process.stderr.write(`${message}\n`));
  const hp = builtin.hyperparameters;
  const objective = objectiveFor(data.task);
  checkInputs(data, builtin, objective);
  const chosen = chooseRunner(data, builtin, objective, signal);
  const { model, optimizer, runner, backend } = chosen;
  const batches = new BatchSource(
    data.train,
    product(data.preprocess.inputShape),
    data.targetSize,
    hp.batchSize,
  );

  // Whatever fails from here on, the optimizer and step state go; the model too unless returned.
  let succeeded = false;
  try {
    const fingerprint = trainingFingerprint(data, builtin, runner.kind);
    const checkpoint = await readResumable(outDir, fingerprint, log);
    if (checkpoint) {
      setWeights(model, checkpoint.tensors.weights);
      runner.syncFromModel();
      await restoreOptimizer(optimizer, checkpoint.tensors.optimizer);
    }
    const state = checkpoint?.state ?? initialState(fingerprint, builtin.seed);
    const resumedFromEpoch = checkpoint?.state.epoch;
    const sessionStart = now();
    const elapsedBefore = state.elapsedSeconds;
    const session: TrainingSession = {
      ...chosen,
      data,
      objective,
      withValidation: data.validation.count > 0,
      batches,
      outDir,
      epochs: hp.epochs,
      earlyStopping: hp.earlyStopping,
      observer: options.tensorboard,
      onEvent,
      signal,
      stopAfterEpoch: options.stopAfterEpoch,
      stepInterval: Math.max(1, options.stepInterval ?? 50),
      probe: head(data.train, options.probeSize ?? 256, data.preprocess.inputShape, data.targetSize),
      state,
      best: checkpoint?.tensors.best,
      epochSeconds: [],
      lastYield: 0,
      elapsed: () => elapsedBefore + (now() - sessionStart) / 1000,
    };

    onEvent({
      type: 'start',
      epochs: hp.epochs,
      stepsPerEpoch: batches.stepsPerEpoch,
      backend,
      ...(resumedFromEpoch !== undefined && { resumedFromEpoch }),
    });
    try {
      session.lastYield = now();
      while (!trainingFinished(session)) await endEpoch(session, await runEpoch(session));
    } finally {
      tf.dispose(session.probe);
    }

    const result = trainResult(session, resumedFromEpoch);
    succeeded = true;
    return result;
  } finally {
    runner.dispose();
    optimizer.dispose();
    if (!succeeded) model.dispose();
  }
}

/** What `train` refuses before building anything: a spec for another task, malformed splits, an unreported metric. */
function checkInputs(data: PreparedData, builtin: BuiltinTrainer, objective: Objective): void {
  if (builtin.task !== data.task) {
    throw new Error(
      `the trainer spec is for task "${builtin.task}" but the prepared data is for "${data.task}"`,
    );
  }
  checkData(data);
  const withValidation = data.validation.count > 0;
  const available = reportedMetrics(objective, withValidation);
  const es = builtin.hyperparameters.earlyStopping;
  if (es && !available.includes(es.metric)) {
    throw new Error(
      `earlyStopping.metric "${es.metric}" is not reported by this training; it reports ${available.join(', ')}` +
        (withValidation ? '' : ' (the validation split is empty)'),
    );
  }
}

function initialState(fingerprint: string, seed: number): CheckpointState {
  return {
    formatVersion: 1,
    fingerprint,
    epoch: 0,
    globalStep: 0,
    rng: new Rng(deriveSeed(seed, SHUFFLE_STREAM)).state(),
    history: [],
    earlyStopping: initialEarlyStopping(),
    diverged: false,
    elapsedSeconds: 0,
    writtenAt: '',
  };
}

/** The model to return (with early stopping, the best epoch's weights) and what it was trained through. */
function trainResult(s: TrainingSession, resumedFromEpoch: number | undefined): TrainResult {
  const { state, model } = s;
  const es = s.earlyStopping;
  const lastEpoch = state.history.at(-1)?.epoch ?? 0;
  const bestEpoch = es
    ? state.earlyStopping.bestEpoch
    : bestEpochOf(state.history, s.withValidation ? 'val_loss' : 'loss');
  const restoredBestWeights =
    es !== undefined && s.best !== undefined && bestEpoch > 0 && bestEpoch !== lastEpoch;
  if (restoredBestWeights && s.best) setWeights(model, s.best);
  const modelEpoch = restoredBestWeights ? bestEpoch : lastEpoch;
  const finalMetrics = state.history.find((h) => h.epoch === modelEpoch)?.metrics ?? {};
  const seconds = s.elapsed();
  s.onEvent({ type: 'done', metrics: finalMetrics, seconds });
  return {
    model,
    history: state.history,
    bestEpoch,
    stoppedEarly: state.earlyStopping.stopped,
    ...(resumedFromEpoch !== undefined && { resumedFromEpoch }),
    diverged: state.diverged,
    restoredBestWeights,
    finalMetrics,
    stepsPerEpoch: s.batches.stepsPerEpoch,
    steps: state.globalStep,
    seconds,
    stepKind: s.runner.kind,
    backend: s.backend,
  };
}
