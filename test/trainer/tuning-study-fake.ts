/**
 * A launcher for study tests that trains nothing: it reports each epoch to the study (val_loss
 * smallest for learningRate 0.01, shrinking with epochs, so rankings are predictable), writes a
 * checkpoint marker per epoch, stops where the study says, and writes an artifact of the epochs
 * trained. Used by tuning-search.test.ts and tuning-study.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { resolveTraining } from '../../trainer/main.js';
import { runTuning, type RunTuningOptions } from '../../trainer/tuning/run-tuning.js';
import type { ProgressEvent } from '../../trainer/types.js';
import type { RunTrainingResult } from '../../trainer/run-training.js';
import { specHash } from '../../resources/spec-hash.js';
import { writeJsonFile } from '../../artifact/files.js';
import { localStore } from '../../artifact/storage.js';
import { readCheckpoint } from '../../trainer/training/checkpoint.js';
import type { TrialJob, TrialLauncher } from '../../trainer/tuning/trial-launcher.js';

export const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(new DOMException('aborted', 'AbortError'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });

export interface Fake {
  launcher: TrialLauncher;
  jobs: TrialJob[];
  maxConcurrent: () => number;
}

/**
 * `behave` can fail a job, change its metrics, hold it before it starts (`waitMs`), or hold it
 * after an epoch until the study aborts it (`holdAfterEpoch`: a trial killed mid-training).
 */
export function fakeLauncher(
  behave: (job: TrialJob) => {
    fail?: string;
    metrics?: Record<string, number>;
    waitMs?: number;
    holdAfterEpoch?: number;
  } = () => ({}),
): Fake {
  const jobs: TrialJob[] = [];
  let running = 0;
  let max = 0;
  const launcher: TrialLauncher = async (job, context) => {
    jobs.push(job);
    running += 1;
    max = Math.max(max, running);
    try {
      const how = behave(job);
      await sleep(how.waitMs ?? 5, context.signal);
      if (how.fail) throw new Error(how.fail);
      const hp = job.spec.trainer.builtin!.hyperparameters;
      const lossAt = (epoch: number) => Math.abs(Math.log10(hp.learningRate) + 2) + 1 / epoch;
      const checkpoint = join(job.outDir, 'checkpoint', 'checkpoint.bin');
      // A checkpoint marker holds the epoch (or a real checkpoint does): a resumed job goes on
      // after it, as train() does.
      let epochs = (await localStore.exists(checkpoint)) ? await checkpointEpoch(job.outDir, checkpoint) : 0;
      while (epochs < hp.epochs) {
        epochs += 1;
        await localStore.write(checkpoint, String(epochs));
        if (await context.onEpoch?.(epochs, { loss: lossAt(epochs), val_loss: lossAt(epochs) })) break;
        if (epochs === how.holdAfterEpoch) await sleep(60_000, context.signal);
      }
      const valLoss = lossAt(epochs);
      const out = job.outDir;
      await localStore.write(join(out, 'model.json'), JSON.stringify({ trial: job.trial }));
      await localStore.write(join(out, 'weights.bin'), new Uint8Array([job.trial, epochs, 7]));
      await localStore.write(join(out, 'tensorboard', 'events.out.tfevents.1.fake'), `trial ${job.trial}`);
      await writeJsonFile(out, 'preprocess.json', { formatVersion: 1 });
      await writeJsonFile(out, 'history.json', [{ epoch: epochs }]);
      await writeJsonFile(out, 'metrics.json', {
        formatVersion: 1,
        task: 'classification',
        metrics: how.metrics ?? { val_loss: valLoss, val_accuracy: 1 - valLoss / 10 },
        training: { epochs },
      });
      await writeJsonFile(out, 'run.json', {
        formatVersion: 1,
        name: context.name,
        specHash: specHash(job.spec),
        spec: job.spec,
        data: { uri: 'file://x.csv', sha256: 'abc', bytes: 1, rows: {}, columnTypes: {} },
        startedAt: 'then',
        finishedAt: 'now',
        seconds: 1,
        backend: 'fake',
        mlformVersion: '0.0.0',
      });
    } finally {
      running -= 1;
    }
  };
  return { launcher, jobs, maxConcurrent: () => max };
}

async function checkpointEpoch(outDir: string, file: string): Promise<number> {
  const marker = Number(String(await localStore.read(file)));
  return Number.isFinite(marker) ? marker : (await readCheckpoint(outDir))!.state.epoch;
}

type Tuning = NonNullable<TrainingRunSpec['tuning']>;

export interface IrisTuning {
  dir: string;
  base: TrainingRunSpec;
  baseDir: string;
  /** The base spec with `epochs` and these tuning fields over the file's defaults. */
  spec(tuning: Partial<Tuning>, epochs?: number): TrainingRunSpec;
  /** Starts a study of `spec` in `outDir`, collecting its progress events. */
  study(
    outDir: string,
    options: Pick<RunTuningOptions, 'spec' | 'launcher' | 'signal' | 'sampler' | 'pruner'>,
  ): { run: Promise<RunTrainingResult>; events: ProgressEvent[] };
}

/**
 * A temp folder for the file's studies and examples/trainer/iris-tuning.yaml's spec with the
 * folder its data URI resolves against, set up before the file's tests and removed after.
 */
export function irisTuningFixture(
  prefix: string,
  defaults: { epochs: number; tuning?: Partial<Tuning> },
): IrisTuning {
  const fixture: IrisTuning = {
    dir: '',
    base: {} as TrainingRunSpec,
    baseDir: '',
    spec(tuning, epochs = defaults.epochs) {
      const spec = structuredClone(fixture.base);
      spec.trainer.builtin!.hyperparameters.epochs = epochs;
      spec.tuning = { ...spec.tuning!, ...defaults.tuning, ...tuning };
      return spec;
    },
    study(outDir, options) {
      const events: ProgressEvent[] = [];
      const run = runTuning({
        ...options,
        baseDir: fixture.baseDir,
        outDir,
        name: 'iris-tuned',
        onEvent: (e) => events.push(e),
      });
      return { run, events };
    },
  };
  beforeAll(async () => {
    fixture.dir = await mkdtemp(join(tmpdir(), prefix));
    const resolved = await resolveTraining(
      { specFile: 'examples/trainer/iris-tuning.yaml', out: fixture.dir },
      {},
    );
    if (!resolved.ok) throw new Error(JSON.stringify(resolved.diagnostics));
    fixture.base = resolved.value.resource.manifest.spec as TrainingRunSpec;
    fixture.baseDir = resolved.value.baseDir;
  });
  afterAll(() => rm(fixture.dir, { recursive: true, force: true }));
  return fixture;
}
