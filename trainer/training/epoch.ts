/**
 * One epoch's batches: a seeded shuffle (replayed from the saved generator state when a half epoch
 * is resumed), one optimizer step per batch, step events, and on abort a mid-epoch checkpoint. What
 * follows the batches (validation, checkpoint, progress) is the epoch tail (epoch-tail.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { abortError, now, saveCheckpoint, type TrainingSession } from './session.js';
import { Rng } from './rng.js';

const YIELD_EVERY_MS = 50;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The sums of one epoch's batches (sample-weighted), and whether the loss stopped being finite. */
export interface EpochSums {
  epoch: number;
  lossSum: number;
  metricSum: number;
  samples: number;
  diverged: boolean;
  /** `now()` when the epoch began (earlier by the seconds a resumed half epoch had already run). */
  startedAt: number;
}

export async function runEpoch(s: TrainingSession): Promise<EpochSums> {
  const { state, batches, runner, data } = s;
  const epoch = state.epoch + 1;
  const partial = state.partial;
  state.partial = undefined;
  // A resumed half epoch replays its shuffle from the saved generator state.
  const rng = new Rng(partial ? partial.rngBeforeShuffle : state.rng);
  const rngBeforeShuffle = rng.state();
  batches.shuffle(rng);
  state.rng = rng.state();

  const startedAt = now() - (partial?.seconds ?? 0) * 1000;
  let lossSum = partial?.lossSum ?? 0;
  let metricSum = partial?.metricSum ?? 0;
  let seen = partial?.samples ?? 0;
  let diverged = false;
  for (let b = partial?.batches ?? 0; b < batches.stepsPerEpoch; b++) {
    const batch = batches.batch(b);
    const out = tf.tidy(() =>
      runner.step(
        tf.tensor(batch.x, [batch.n, ...s.batchShape]),
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
    if (state.globalStep % s.stepInterval === 0) {
      s.onEvent({ type: 'step', epoch, step: state.globalStep, loss });
      await s.observer?.onStep?.(state.globalStep, loss);
    }
    if (now() - s.lastYield > YIELD_EVERY_MS) {
      // Lets timers, signals and stdout run during long epochs.
      await yieldToEventLoop();
      s.lastYield = now();
    }
    if (s.signal?.aborted && b < batches.stepsPerEpoch - 1) {
      state.partial = {
        batches: b + 1,
        rngBeforeShuffle,
        lossSum,
        metricSum,
        samples: seen,
        seconds: (now() - startedAt) / 1000,
      };
      state.elapsedSeconds = s.elapsed();
      await saveCheckpoint(s);
      s.onEvent({ type: 'checkpoint', epoch: state.epoch });
      throw abortError(`training aborted in epoch ${epoch} after step ${state.globalStep}; checkpoint saved`);
    }
  }
  return { epoch, lossSum, metricSum, samples: seen, diverged, startedAt };
}
