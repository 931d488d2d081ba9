/**
 * The study engine: asking trials as workers free up, the journal (study.jsonl) and resuming a
 * study from it, and the trial worker stopping where the pruner says (real training).
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { specHash } from '../../resources/spec-hash.js';
import { JOURNAL_FILE, JournalError, type JournalEvent } from '../../trainer/tuning/journal.js';
import { TuningError } from '../../trainer/tuning/run-tuning.js';
import { sampleParams, type TrialParams } from '../../trainer/tuning/search-space.js';
import type { FinishedTrial, Pruner, Sampler } from '../../trainer/tuning/study-types.js';
import type { TuningFile } from '../../trainer/tuning/tuning-file.js';
import type { MetricsFile } from '../../artifact/files.js';
import { isTuningFile } from '../../controller/web/views/tuning-trials.js';
import { fakeLauncher, irisTuningFixture, type Fake } from './tuning-study-fake.js';
import { writeCheckpoint } from '../../trainer/training/checkpoint.js';

const iris = irisTuningFixture('mlform-tuning-study-', { epochs: 4, tuning: { algorithm: 'random' } });
const withTuning = iris.spec;

interface StudyRun {
  spec: TrainingRunSpec;
  fake?: Fake;
  signal?: AbortSignal;
  sampler?: Sampler;
  pruner?: Pruner;
}

const study = (outDir: string, { fake, ...options }: StudyRun) =>
  iris.study(outDir, { ...options, ...(fake && { launcher: fake.launcher }) });

const readTuning = async (outDir: string) =>
  JSON.parse(await readFile(join(outDir, 'tuning.json'), 'utf8')) as TuningFile;
const readEvents = async (outDir: string) =>
  (await readFile(join(outDir, JOURNAL_FILE), 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as JournalEvent);
const launches = (events: JournalEvent[]) =>
  events.flatMap((e) => (e.type === 'launched' ? [[e.trial, e.resumed] as const] : []));

/** The placeholder random sampler, recording what each ask was given. */
function recordingSampler(spec: TrainingRunSpec, size?: number) {
  const asks: { trial: number; history: number[]; running: TrialParams[] }[] = [];
  const sampler: Sampler = {
    ask(trial, history: readonly FinishedTrial[], running) {
      asks.push({ trial, history: history.map((h) => h.trial), running: [...running] });
      return sampleParams(spec.tuning!.space, 7, trial);
    },
    ...(size !== undefined && { size }),
  };
  return { sampler, asks };
}

describe('asking', () => {
  it('asks a trial when a worker frees up, with the ended trials and the running params', async () => {
    const spec = withTuning({ trials: 4, parallel: 2 });
    const { sampler, asks } = recordingSampler(spec);
    // Trial 1 trains long; 2, 3 and 4 follow one another on the other worker.
    const fake = fakeLauncher((job) => ({ waitMs: job.trial === 1 ? 400 : 5 }));
    const outDir = join(iris.dir, 'asking');
    await study(outDir, { spec, fake, sampler }).run;
    const [p1] = asks.length > 0 ? [sampleParams(spec.tuning!.space, 7, 1)] : [];
    expect(asks.map((a) => a.trial)).toEqual([1, 2, 3, 4]);
    expect(asks[0]).toEqual({ trial: 1, history: [], running: [] });
    expect(asks[1]).toEqual({ trial: 2, history: [], running: [p1] });
    expect(asks[2]).toEqual({ trial: 3, history: [2], running: [p1] });
    expect(asks[3]).toEqual({ trial: 4, history: [2, 3], running: [p1] });
    expect(fake.maxConcurrent()).toBe(2);
    const tuning = await readTuning(outDir);
    expect(tuning.trials.map((t) => t.state)).toEqual(Array(4).fill('completed'));
    expect(tuning.trials[0].intermediate?.map((v) => v.epoch)).toEqual([1, 2, 3, 4]);
  });

  it('ends at the sampler size (a grid smaller than `trials`)', async () => {
    const spec = withTuning({ trials: 5, parallel: 2 });
    const { sampler } = recordingSampler(spec, 2);
    const outDir = join(iris.dir, 'grid-size');
    await study(outDir, { spec, fake: fakeLauncher(), sampler }).run;
    const tuning = await readTuning(outDir);
    expect(tuning.trials.map((t) => t.trial)).toEqual([1, 2]);
    expect(tuning.schedule).toEqual([{ rung: 0, trials: 2, epochs: 4 }]);
  });
});

describe('journal and resume', () => {
  it('journals every event and resumes a stopped study without training an ended trial again', async () => {
    const spec = withTuning({ trials: 3, parallel: 2 });
    const outDir = join(iris.dir, 'resume');
    const controller = new AbortController();
    // Trial 2 stops after its second epoch until the study is stopped (a kill mid-training).
    const first = fakeLauncher((job) => (job.trial === 2 ? { holdAfterEpoch: 2 } : {}));
    const stopped = study(outDir, { spec, fake: first, signal: controller.signal });
    await vi.waitFor(async () => {
      const tuning = await readTuning(outDir);
      expect(tuning.trials.filter((t) => t.state === 'completed').map((t) => t.trial)).toEqual([1, 3]);
      expect(tuning.trials[1].intermediate).toHaveLength(2);
    });
    controller.abort();
    await expect(stopped.run).rejects.toMatchObject({ name: 'AbortError' });
    const before = await readEvents(outDir);
    expect(before[0]).toMatchObject({ type: 'study', formatVersion: 1, specHash: specHash(spec) });
    expect(before.filter((e) => e.type === 'ended').map((e) => e.trial)).toEqual([1, 3]);
    const cancelled = await readTuning(outDir);
    expect(cancelled.trials[1].state).toBe('cancelled');
    // The dashboard reads tuning.json only when it passes the schema, in every state.
    expect(isTuningFile(cancelled)).toBe(true);

    const second = fakeLauncher();
    const resumed = study(outDir, { spec, fake: second });
    await resumed.run;
    // Only the open trial trained again, from its checkpoint (epoch 2): epochs 3 and 4.
    expect(second.jobs.map((j) => j.trial)).toEqual([2]);
    const events = await readEvents(outDir);
    expect(launches(events)).toEqual([
      [1, false],
      [2, false],
      [3, false],
      [2, true],
    ]);
    const trial2 = events
      .filter((e) => e.type === 'epoch' && e.trial === 2)
      .map((e) => e.type === 'epoch' && e.epoch);
    expect(trial2).toEqual([1, 2, 3, 4]);
    const tuning = await readTuning(outDir);
    expect(tuning.state).toBe('succeeded');
    expect(isTuningFile(tuning)).toBe(true);
    expect(tuning.trials.map((t) => t.state)).toEqual(['completed', 'completed', 'completed']);
    const t2 = tuning.trials[1];
    expect(t2.intermediate?.map((v) => v.epoch)).toEqual([1, 2, 3, 4]);
    expect(t2.runs.map((r) => [r.resumed, r.state])).toEqual([
      [false, 'cancelled'],
      [true, 'succeeded'],
    ]);
    expect(t2.runs[0].error).toMatch(/interrupted/);
    expect(resumed.events.filter((e) => e.type === 'trial' && e.state === 'resumed')).toHaveLength(1);
    // Its log starts with the trials that ended before the stop, so it tells the whole study.
    const told = resumed.events.flatMap((e) => (e.type === 'trial' ? [`${e.trial} ${e.state}`] : []));
    expect(told.slice(0, 3)).toEqual(['1 finished', '3 finished', '2 resumed']);
    // The journal replays to the tuning.json written: a third start trains nothing.
    const third = fakeLauncher();
    await study(outDir, { spec, fake: third }).run;
    expect(third.jobs).toEqual([]);
    expect((await readTuning(outDir)).trials).toEqual(tuning.trials);
  });

  it('finishes a trial pruned before the kill at its pruned epoch, and drops a torn last line', async () => {
    const spec = withTuning({ trials: 1 }, 9);
    const outDir = join(iris.dir, 'pruned-then-killed');
    const at = new Date().toISOString();
    const journal: JournalEvent[] = [
      { type: 'study', formatVersion: 1, specHash: specHash(spec), at },
      { type: 'asked', trial: 1, params: { learningRate: 0.05, 'network.layers': [8] }, at },
      { type: 'launched', trial: 1, budget: 9, resumed: false, at },
      { type: 'epoch', trial: 1, epoch: 1, value: 1 },
      { type: 'epoch', trial: 1, epoch: 2, value: 0.9 },
      { type: 'pruned', trial: 1, epoch: 2, reason: 'worse than the median' },
    ];
    await mkdir(join(outDir, 'trials', '1', 'checkpoint'), { recursive: true });
    await writeFile(join(outDir, 'trials', '1', 'checkpoint', 'checkpoint.bin'), '2');
    await writeFile(
      join(outDir, JOURNAL_FILE),
      `${journal.map((e) => JSON.stringify(e)).join('\n')}\n{"type":"ended","tri`,
    );
    const fake = fakeLauncher();
    const pruner: Pruner = { report: () => ({ prune: false }), describe: () => ({ type: 'none' }) };
    await study(outDir, { spec, fake, pruner }).run;
    expect(fake.jobs.map((j) => j.spec.trainer.builtin!.hyperparameters.epochs)).toEqual([2]);
    const tuning = await readTuning(outDir);
    expect(tuning.trials[0]).toMatchObject({
      state: 'pruned',
      epochs: 2,
      prunedAt: { epoch: 2, reason: 'worse than the median' },
    });
    expect(tuning.best?.trial).toBe(1);
    const events = await readEvents(outDir);
    expect(events.at(-1)).toMatchObject({ type: 'ended', trial: 1, state: 'pruned' });
  });

  it("journals the epochs a resumed trial's checkpoint holds and the journal lacks (a kill between the two)", async () => {
    const spec = withTuning({ trials: 1 }, 5);
    const outDir = join(iris.dir, 'checkpointed-not-journaled');
    const at = new Date().toISOString();
    const journal: JournalEvent[] = [
      { type: 'study', formatVersion: 1, specHash: specHash(spec), at },
      { type: 'asked', trial: 1, params: { learningRate: 0.05, 'network.layers': [8] }, at },
      { type: 'launched', trial: 1, budget: 5, resumed: false, at },
      { type: 'epoch', trial: 1, epoch: 1, value: 1 },
      { type: 'epoch', trial: 1, epoch: 2, value: 0.9 },
    ];
    await mkdir(outDir, { recursive: true });
    await writeFile(join(outDir, JOURNAL_FILE), `${journal.map((e) => JSON.stringify(e)).join('\n')}\n`);
    // The worker had sent epoch 3 and written its checkpoint when the study process died.
    const entry = (epoch: number, value: number) => ({
      epoch,
      metrics: { loss: value, val_loss: value },
      seconds: 0.1,
      gradientNorms: {},
    });
    await writeCheckpoint(
      join(outDir, 'trials', '1'),
      {
        formatVersion: 1,
        fingerprint: 'f',
        epoch: 3,
        globalStep: 30,
        rng: [1, 2, 3, 4],
        history: [entry(1, 1), entry(2, 0.9), entry(3, 0.8)],
        earlyStopping: { best: null, bestEpoch: 0, wait: 0, stopped: false },
        diverged: false,
        elapsedSeconds: 0.3,
        writtenAt: at,
      },
      { weights: [], optimizer: [] },
    );
    const fake = fakeLauncher();
    const reported: number[] = [];
    const pruner: Pruner = {
      report: (_trial, epoch) => {
        reported.push(epoch);
        return { prune: false };
      },
      describe: () => ({ type: 'none' }),
    };
    await study(outDir, { spec, fake, pruner }).run;
    // Epoch 3 came from the checkpoint, shown to the pruner as it would have been; 4 and 5 trained.
    expect(reported).toEqual([3, 4, 5]);
    const values = (await readEvents(outDir)).flatMap((e) =>
      e.type === 'epoch' && e.trial === 1 ? [[e.epoch, e.value]] : [],
    );
    expect(values.slice(0, 3)).toEqual([
      [1, 1],
      [2, 0.9],
      [3, 0.8],
    ]);
    const tuning = await readTuning(outDir);
    expect(tuning.trials[0].intermediate?.map((v) => v.epoch)).toEqual([1, 2, 3, 4, 5]);
  });

  it('refuses a directory holding the study of another spec', async () => {
    const outDir = join(iris.dir, 'other-spec');
    await study(outDir, { spec: withTuning({ trials: 1 }), fake: fakeLauncher() }).run;
    const changed = withTuning({ trials: 2 });
    await expect(study(outDir, { spec: changed, fake: fakeLauncher() }).run).rejects.toThrow(
      new TuningError(
        `${outDir} holds the study of another spec (${specHash(withTuning({ trials: 1 })).slice(0, 12)}, ` +
          `this one is ${specHash(changed).slice(0, 12)}); train into another directory, or delete its study.jsonl and trials/ to start over`,
      ),
    );
  });

  it('refuses a journal line that is not a study event, naming the line', async () => {
    const spec = withTuning({ trials: 1 });
    const outDir = join(iris.dir, 'edited');
    const header = { type: 'study', formatVersion: 1, specHash: specHash(spec), at: 'now' };
    await mkdir(outDir, { recursive: true });
    await writeFile(join(outDir, JOURNAL_FILE), `${JSON.stringify(header)}\n{"type":"asked","trial":-1}\n`);
    await expect(study(outDir, { spec, fake: fakeLauncher() }).run).rejects.toThrow(JournalError);
    await expect(study(outDir, { spec, fake: fakeLauncher() }).run).rejects.toThrow(/study.jsonl line 2/);
  });
});

it('a real trial worker stops at the epoch the pruner names and writes its artifact there', async () => {
  const spec = withTuning({ trials: 2, parallel: 2 }, 6);
  const outDir = join(iris.dir, 'worker-prune');
  const pruner: Pruner = {
    report: (trial, epoch) => ({
      prune: trial === 1 && epoch === 2,
      reason: 'test: stop trial 1 at epoch 2',
    }),
    describe: () => ({ type: 'test' }),
  };
  const { run, events } = study(outDir, { spec, pruner });
  await run;
  const tuning = await readTuning(outDir);
  expect(tuning.trials.map((t) => [t.state, t.epochs])).toEqual([
    ['pruned', 2],
    ['completed', 6],
  ]);
  const metrics = JSON.parse(
    await readFile(join(outDir, 'trials', '1', 'metrics.json'), 'utf8'),
  ) as MetricsFile;
  expect(metrics.training).toMatchObject({ epochs: 2, stoppedEarly: false });
  // The values the pruner saw are the epochs' own val_loss (the scaled one of the epoch events).
  expect(tuning.trials[1].intermediate?.map((v) => v.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(events).toContainEqual(
    expect.objectContaining({
      type: 'trial',
      trial: 1,
      state: 'pruned',
      reason: 'test: stop trial 1 at epoch 2',
    }),
  );
}, 60_000);
