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
import { checkTrainable } from '../backend.js';
import { layerGradientNorms } from '../health/gradient-norms.js';
import { buildNetwork } from '../network/build-network.js';
import type { PreparedData, ProgressEvent, Samples } from '../types.js';
import { BatchSource } from './batches.js';
import {
  CorruptCheckpointError,
  readCheckpoint,
  writeCheckpoint,
  type CheckpointState,
  type HistoryEntry,
  type NamedArray,
} from './checkpoint.js';
import { initialEarlyStopping, updateEarlyStopping } from './early-stopping.js';
import { evaluateScaled } from './evaluate-scaled.js';
import { FlatMlpStep, planFlatMlp } from './mlp-step.js';
import { FusedLstmStep, planFusedLstm, type FusedLstmRunner } from './recurrent-step.js';
import { metricMode, objectiveFor, reportedMetrics } from './objective.js';
import { captureOptimizer, makeOptimizer, restoreOptimizer, toNamedArray } from './optimizer.js';
import { deriveSeed, Rng } from './rng.js';
import { LayersStep, type StepRunner } from './step.js';

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
const YIELD_EVERY_MS = 50;

const now = (): number => performance.now();
const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const product = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

function abortError(message: string): Error {
  return new DOMException(message, 'AbortError');
}

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

const captureWeights = (model: tf.LayersModel): NamedArray[] =>
  model.weights.map((w) => toNamedArray(w.originalName, w.read()));

function setWeights(model: tf.LayersModel, arrays: NamedArray[]): void {
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
  const es = hp.earlyStopping;
  const inputShape = data.preprocess.inputShape;
  const objective = objectiveFor(data.task);
  const withValidation = data.validation.count > 0;

  if (builtin.task !== data.task) {
    throw new Error(
      `the trainer spec is for task "${builtin.task}" but the prepared data is for "${data.task}"`,
    );
  }
  checkData(data);
  const available = reportedMetrics(objective, withValidation);
  if (es && !available.includes(es.metric)) {
    throw new Error(
      `earlyStopping.metric "${es.metric}" is not reported by this training; it reports ${available.join(', ')}` +
        (withValidation ? '' : ' (the validation split is empty)'),
    );
  }
  const backend = tf.getBackend();
  const refusals = checkTrainable(builtin.network, backend);
  if (refusals.length > 0) {
    throw new Error(refusals.map((d) => (d.hint ? `${d.message}: ${d.hint}` : d.message)).join('; '));
  }
  signal?.throwIfAborted();

  const model = buildNetwork({
    network: builtin.network,
    inputShape,
    targetSize: data.targetSize,
    task: data.task,
    seed: builtin.seed,
  });
  const optimizer = makeOptimizer(hp.optimizer, hp.learningRate);
  const plan = planFlatMlp(model);
  // LSTMs on wasm/cpu: the fused step (recurrent-step.ts, ~6x LayersStep on wasm); GRUs and the
  // tensorflow backend keep autodiff.
  const lstmPlan = plan ? undefined : planFusedLstm(model, backend);
  const runner: StepRunner | FusedLstmRunner = plan
    ? new FlatMlpStep(plan, optimizer, objective)
    : lstmPlan
      ? new FusedLstmStep(lstmPlan, optimizer, objective)
      : new LayersStep(model, optimizer, objective);
  const batchShape = runner.kind === 'flat-mlp' ? [product(inputShape)] : inputShape;
  const batches = new BatchSource(data.train, product(inputShape), data.targetSize, hp.batchSize);
  const fingerprint = trainingFingerprint(data, builtin, runner.kind);

  // Whatever fails from here on, the optimizer and step state go; the model too unless returned.
  let succeeded = false;
  try {
    let state: CheckpointState = {
      formatVersion: 1,
      fingerprint,
      epoch: 0,
      globalStep: 0,
      rng: new Rng(deriveSeed(builtin.seed, SHUFFLE_STREAM)).state(),
      history: [],
      earlyStopping: initialEarlyStopping(),
      diverged: false,
      elapsedSeconds: 0,
      writtenAt: '',
    };
    let best: NamedArray[] | undefined;
    let resumedFromEpoch: number | undefined;

    const checkpoint = await readResumable(outDir, fingerprint, log);
    if (checkpoint) {
      setWeights(model, checkpoint.tensors.weights);
      runner.syncFromModel();
      await restoreOptimizer(optimizer, checkpoint.tensors.optimizer);
      state = checkpoint.state;
      best = checkpoint.tensors.best;
      resumedFromEpoch = state.epoch;
    }

    const save = async (): Promise<void> => {
      runner.syncToModel();
      state.writtenAt = new Date().toISOString();
      await writeCheckpoint(outDir, state, {
        weights: captureWeights(model),
        optimizer: await captureOptimizer(optimizer),
        ...(best && { best }),
      });
    };

    const stepInterval = Math.max(1, options.stepInterval ?? 50);
    const observer = options.tensorboard;
    const [probeX, probeY] = head(data.train, options.probeSize ?? 256, inputShape, data.targetSize);
    const sessionStart = now();
    const elapsedBefore = state.elapsedSeconds;
    const elapsed = (): number => elapsedBefore + (now() - sessionStart) / 1000;
    const epochSeconds: number[] = [];

    onEvent({
      type: 'start',
      epochs: hp.epochs,
      stepsPerEpoch: batches.stepsPerEpoch,
      backend,
      ...(resumedFromEpoch !== undefined && { resumedFromEpoch }),
    });

    try {
      let lastYield = now();
      while (state.epoch < hp.epochs && !state.earlyStopping.stopped && !state.diverged) {
        const epoch = state.epoch + 1;
        const partial = state.partial;
        state.partial = undefined;
        // A resumed half epoch replays its shuffle from the saved generator state.
        const rng = new Rng(partial ? partial.rngBeforeShuffle : state.rng);
        const rngBeforeShuffle = rng.state();
        batches.shuffle(rng);
        state.rng = rng.state();

        const epochStart = now() - (partial?.seconds ?? 0) * 1000;
        let lossSum = partial?.lossSum ?? 0;
        let metricSum = partial?.metricSum ?? 0;
        let seen = partial?.samples ?? 0;
        let diverged = false;
        for (let b = partial?.batches ?? 0; b < batches.stepsPerEpoch; b++) {
          const batch = batches.batch(b);
          const out = tf.tidy(() =>
            runner.step(
              tf.tensor(batch.x, [batch.n, ...batchShape]),
              tf.tensor2d(batch.y, [batch.n, data.targetSize]),
              state.globalStep,
            ),
          );
          const [loss, metric] = out.dataSync();
          out.dispose();
          state.globalStep += 1;
          lossSum += loss * batch.n;
          metricSum += metric * batch.n;
          seen += batch.n;
          if (!Number.isFinite(loss)) {
            diverged = true;
            break;
          }
          if (state.globalStep % stepInterval === 0) {
            onEvent({ type: 'step', epoch, step: state.globalStep, loss });
            await observer?.onStep?.(state.globalStep, loss);
          }
          if (now() - lastYield > YIELD_EVERY_MS) {
            // Lets timers, signals and stdout run during long epochs.
            await yieldToEventLoop();
            lastYield = now();
          }
          if (signal?.aborted && b < batches.stepsPerEpoch - 1) {
            state.partial = {
              batches: b + 1,
              rngBeforeShuffle,
              lossSum,
              metricSum,
              samples: seen,
              seconds: (now() - epochStart) / 1000,
            };
            state.elapsedSeconds = elapsed();
            await save();
            onEvent({ type: 'checkpoint', epoch: state.epoch });
            throw abortError(
              `training aborted in epoch ${epoch} after step ${state.globalStep}; checkpoint saved`,
            );
          }
        }

        runner.syncToModel();
        const metrics: Record<string, number> = {
          loss: lossSum / seen,
          [objective.metric]: metricSum / seen,
        };
        if (withValidation) {
          const validation = evaluateScaled(model, data.validation, inputShape, objective);
          metrics.val_loss = validation.loss;
          metrics[`val_${objective.metric}`] = validation.metric;
        }
        const gradientNorms = layerGradientNorms(model, probeX, probeY, objective.loss);
        const seconds = (now() - epochStart) / 1000;
        state.history.push({ epoch, metrics, seconds, gradientNorms });
        state.epoch = epoch;
        state.diverged = diverged;
        if (es) {
          const update = updateEarlyStopping(state.earlyStopping, es, epoch, metrics[es.metric]);
          state.earlyStopping = update.state;
          if (update.improved) best = captureWeights(model);
        }

        await observer?.onEpoch(epoch, metrics, model);
        epochSeconds.push(seconds);
        const finished = state.epoch >= hp.epochs || state.earlyStopping.stopped || state.diverged;
        const meanEpoch = epochSeconds.reduce((a, b) => a + b, 0) / epochSeconds.length;
        state.elapsedSeconds = elapsed();
        onEvent({
          type: 'epoch',
          epoch,
          epochs: hp.epochs,
          loss: metrics.loss,
          metrics,
          etaSeconds: finished ? 0 : meanEpoch * (hp.epochs - epoch),
          elapsedSeconds: state.elapsedSeconds,
        });
        await save();
        onEvent({ type: 'checkpoint', epoch });
        if (state.earlyStopping.stopped) {
          onEvent({ type: 'early-stop', epoch, bestEpoch: state.earlyStopping.bestEpoch });
        }
        if (signal?.aborted && !finished) {
          throw abortError(`training aborted after epoch ${epoch}; checkpoint saved`);
        }
      }
    } finally {
      tf.dispose([probeX, probeY]);
    }

    const lastEpoch = state.history.at(-1)?.epoch ?? 0;
    const bestEpoch = es
      ? state.earlyStopping.bestEpoch
      : bestEpochOf(state.history, withValidation ? 'val_loss' : 'loss');
    const restoredBestWeights =
      es !== undefined && best !== undefined && bestEpoch > 0 && bestEpoch !== lastEpoch;
    if (restoredBestWeights && best) setWeights(model, best);
    const modelEpoch = restoredBestWeights ? bestEpoch : lastEpoch;
    const finalMetrics = state.history.find((h) => h.epoch === modelEpoch)?.metrics ?? {};
    const seconds = elapsed();
    onEvent({ type: 'done', metrics: finalMetrics, seconds });

    succeeded = true;
    return {
      model,
      history: state.history,
      bestEpoch,
      stoppedEarly: state.earlyStopping.stopped,
      ...(resumedFromEpoch !== undefined && { resumedFromEpoch }),
      diverged: state.diverged,
      restoredBestWeights,
      finalMetrics,
      stepsPerEpoch: batches.stepsPerEpoch,
      steps: state.globalStep,
      seconds,
      stepKind: runner.kind,
      backend,
    };
  } finally {
    runner.dispose();
    optimizer.dispose();
    if (!succeeded) model.dispose();
  }
}
