/**
 * The search itself (pruning, failures, abort, the promoted artifact) with an injected launcher
 * that reports epochs and writes a fake artifact instead of training: fast and exact. The real
 * trainer in child processes is covered by tuning-e2e.test.ts; the journal and resume by
 * tuning-study.test.ts.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { specHash } from '../../resources/spec-hash.js';
import { runTraining } from '../../trainer/run-training.js';
import { TuningError } from '../../trainer/tuning/run-tuning.js';
import type { Pruner } from '../../trainer/tuning/study-types.js';
import type { TuningFile } from '../../trainer/tuning/tuning-file.js';
import type { ProgressEvent } from '../../trainer/types.js';
import { localStore } from '../../artifact/storage.js';
import { fakeLauncher, irisTuningFixture, type Fake } from './tuning-study-fake.js';

const iris = irisTuningFixture('mlform-tuning-search-', { epochs: 9 });
const withTuning = iris.spec;

async function search(
  name: string,
  spec: TrainingRunSpec,
  fake: Fake,
  signal?: AbortSignal,
  pruner?: Pruner,
) {
  const outDir = join(iris.dir, name);
  const { run, events } = iris.study(outDir, { spec, launcher: fake.launcher, signal, pruner });
  const read = async () => JSON.parse(await readFile(join(outDir, 'tuning.json'), 'utf8')) as TuningFile;
  return { run, events, outDir, read };
}

const trialEvents = (events: ProgressEvent[], state: string) =>
  events
    .filter((e) => e.type === 'trial' && e.state === state)
    .map((e) => (e.type === 'trial' ? e.trial : 0));

describe('random search', () => {
  it('trains every trial once on the full budget, copies the best and records everything', async () => {
    const fake = fakeLauncher();
    const spec = withTuning({ algorithm: 'random', trials: 5, parallel: 2 });
    const { run, events, outDir, read } = await search('random', spec, fake);
    const result = await run;

    expect(fake.jobs.map((j) => j.trial).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(fake.jobs.every((j) => j.spec.trainer.builtin!.hyperparameters.epochs === 9)).toBe(true);
    expect(fake.jobs.every((j) => j.spec.tuning === undefined)).toBe(true);
    expect(fake.maxConcurrent()).toBe(2);

    const tuning = await read();
    expect(tuning.state).toBe('succeeded');
    expect(tuning.schedule).toEqual([{ rung: 0, trials: 5, epochs: 9 }]);
    expect(tuning.trials.map((t) => t.state)).toEqual(Array(5).fill('completed'));
    const metrics = tuning.trials.map((t) => t.metric as number);
    expect(tuning.best?.metric).toBe(Math.min(...metrics));
    const best = tuning.best!.trial;
    expect(tuning.best?.dir).toBe(`trials/${best}`);
    expect(tuning.trials[best - 1].params).toEqual(tuning.best?.params);

    for (const file of ['model.json', 'weights.bin', 'metrics.json', 'history.json', 'preprocess.json'])
      expect(await readFile(join(outDir, file))).toEqual(
        await readFile(join(outDir, tuning.best!.dir, file)),
      );
    // The best trial's event file, and the study's own run (trainer/tuning/visualise).
    expect(await readdir(join(outDir, 'tensorboard'))).toEqual(['events.out.tfevents.1.fake', 'study']);
    const runFile = JSON.parse(await readFile(join(outDir, 'run.json'), 'utf8')) as Record<string, unknown>;
    expect(runFile.specHash).toBe(specHash(spec));
    expect(runFile.name).toBe('iris-tuned');
    expect(runFile.backend).toBe('fake');
    expect(result.metrics.metrics.val_loss).toBe(tuning.best?.metric);

    expect(trialEvents(events, 'started').sort()).toEqual([1, 2, 3, 4, 5]);
    expect(trialEvents(events, 'finished').sort()).toEqual([1, 2, 3, 4, 5]);
    expect(trialEvents(events, 'best')).toEqual([best]);
    expect(events.at(-1)?.type).toBe('done');
  });

  it('trains no more trials at once than the training slots (MLFORM_MAX_LOCAL_TRAININGS)', async () => {
    const saved = process.env.MLFORM_MAX_LOCAL_TRAININGS;
    process.env.MLFORM_MAX_LOCAL_TRAININGS = '2';
    try {
      const fake = fakeLauncher();
      const spec = withTuning({ algorithm: 'random', trials: 6, parallel: 6 });
      const { run, read } = await search('clamped', spec, fake);
      await run;
      expect(fake.maxConcurrent()).toBe(2);
      const tuning = await read();
      expect([tuning.parallel, tuning.workers]).toEqual([6, 2]);
    } finally {
      if (saved === undefined) delete process.env.MLFORM_MAX_LOCAL_TRAININGS;
      else process.env.MLFORM_MAX_LOCAL_TRAININGS = saved;
    }
  });

  it('ranks by the tuning metric and goal', async () => {
    const fake = fakeLauncher((job) => ({ metrics: { val_loss: 1, val_accuracy: job.trial / 10 } }));
    const spec = withTuning({ algorithm: 'random', trials: 3, metric: 'val_accuracy', goal: 'maximize' });
    const { run, read } = await search('maximize', spec, fake);
    await run;
    expect((await read()).best).toMatchObject({ trial: 3, metric: 0.3 });
  });
});

/**
 * A pruner for these tests: at epoch 3, stops every trial whose value is above `threshold` (the
 * real median/asha/hyperband pruners are tested in their own files).
 */
function thresholdPruner(threshold: number, atEpoch = 3): Pruner & { reports: number[][] } {
  const reports: number[][] = [];
  return {
    reports,
    report(trial, epoch, trials) {
      reports.push([trial, epoch]);
      const value = trials.find((t) => t.trial === trial)!.intermediate.at(-1)!.value;
      if (epoch !== atEpoch || value <= threshold) return { prune: false };
      return {
        prune: true,
        reason: `val_loss ${value.toFixed(2)} > ${threshold} at epoch ${epoch}`,
        rung: 1,
      };
    },
    describe: () => ({ type: 'threshold', rungs: [[atEpoch]] }),
  };
}

describe('pruning (halving is asynchronous successive halving through the pruner)', () => {
  it('stops the trials the pruner names at that epoch, each trained once, and picks a completed one', async () => {
    const fake = fakeLauncher();
    const pruner = thresholdPruner(0.9);
    const spec = withTuning({ algorithm: 'halving', trials: 9, parallel: 3 }, 9);
    const { run, events, read, outDir } = await search('halving', spec, fake, undefined, pruner);
    await run;
    const tuning = await read();
    expect(tuning.pruner).toEqual({ type: 'threshold', rungs: [[3]] });
    // Every trial was launched once, on the full budget: no rung restarts it.
    expect(fake.jobs.map((j) => j.trial).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(fake.jobs.every((j) => j.spec.trainer.builtin!.hyperparameters.epochs === 9)).toBe(true);

    const pruned = tuning.trials.filter((t) => t.state === 'pruned');
    const completed = tuning.trials.filter((t) => t.state === 'completed');
    expect(pruned.length).toBeGreaterThan(0);
    expect(completed.length).toBeGreaterThan(0);
    expect(pruned.length + completed.length).toBe(9);
    for (const t of pruned) {
      expect(t.prunedAt).toMatchObject({ epoch: 3, reason: expect.stringContaining('> 0.9 at epoch 3') });
      expect(t).toMatchObject({ epochs: 3, rung: 1 });
      expect(t.intermediate!.map((v) => v.epoch)).toEqual([1, 2, 3]);
      // Its artifact is complete, at the epoch it was stopped.
      const metrics = JSON.parse(await readFile(join(outDir, t.dir, 'metrics.json'), 'utf8')) as {
        training: { epochs: number };
      };
      expect(metrics.training.epochs).toBe(3);
    }
    for (const t of completed) {
      expect(t.epochs).toBe(9);
      expect(t.intermediate).toHaveLength(9);
      expect(t.runs.map((r) => [r.budget, r.resumed, r.state])).toEqual([[9, false, 'succeeded']]);
    }
    // Every epoch of every trial went to the pruner, once.
    expect(pruner.reports).toHaveLength(pruned.length * 3 + completed.length * 9);
    expect(tuning.best?.metric).toBe(Math.min(...completed.map((t) => t.metric as number)));
    expect(trialEvents(events, 'pruned').sort()).toEqual(pruned.map((t) => t.trial));
    const reasons = events.filter((e) => e.type === 'trial' && e.state === 'pruned');
    expect(reasons.every((e) => e.type === 'trial' && e.reason?.includes('at epoch 3'))).toBe(true);
    expect(trialEvents(events, 'resumed')).toEqual([]);
  });

  it('never picks a pruned trial while a completed one exists, even with a better metric', async () => {
    // Trial 1 is pruned but its (short) artifact reports the best val_loss of all.
    const fake = fakeLauncher((job) =>
      job.trial === 1 ? { metrics: { val_loss: 0.001, val_accuracy: 1 } } : {},
    );
    const pruner: Pruner = {
      report: (trial) => ({ prune: trial === 1, reason: 'test' }),
      describe: () => ({ type: 'test' }),
    };
    const spec = withTuning({ algorithm: 'halving', trials: 3 }, 4);
    const { run, read } = await search('pruned-not-best', spec, fake, undefined, pruner);
    await run;
    const tuning = await read();
    expect(tuning.trials[0]).toMatchObject({ state: 'pruned', metric: 0.001, prunedAt: { epoch: 1 } });
    expect(tuning.best?.trial).not.toBe(1);
  });

  it('picks the best pruned trial when every trial was pruned', async () => {
    const fake = fakeLauncher();
    const pruner: Pruner = {
      report: (_trial, epoch) => ({ prune: epoch === 2, reason: 'test' }),
      describe: () => ({ type: 'test' }),
    };
    const spec = withTuning({ algorithm: 'halving', trials: 3 }, 4);
    const { run, read } = await search('all-pruned', spec, fake, undefined, pruner);
    await run;
    const tuning = await read();
    expect(tuning.trials.map((t) => t.state)).toEqual(['pruned', 'pruned', 'pruned']);
    expect(tuning.best?.metric).toBe(Math.min(...tuning.trials.map((t) => t.metric as number)));
    expect(tuning.best?.epochs).toBe(2);
  });
});

describe('failures', () => {
  it('records a failing trial and goes on', async () => {
    const fake = fakeLauncher((job) => (job.trial === 2 ? { fail: 'out of memory' } : {}));
    const { run, events, read } = await search(
      'one-fails',
      withTuning({ algorithm: 'random', trials: 3 }),
      fake,
    );
    await run;
    const tuning = await read();
    expect(tuning.state).toBe('succeeded');
    expect(tuning.trials[1]).toMatchObject({ state: 'failed', error: 'out of memory', metric: null });
    expect(tuning.trials[1].runs[0]).toMatchObject({ state: 'failed', error: 'out of memory' });
    expect(tuning.best?.trial).not.toBe(2);
    expect(trialEvents(events, 'failed')).toEqual([2]);
  });

  it('fails a trial whose sampled values are invalid without launching it', async () => {
    const fake = fakeLauncher();
    const spec = withTuning({
      algorithm: 'random',
      trials: 4,
      space: { 'network.layers': { choice: [[8], [0]] } },
    });
    const { run, read } = await search('invalid-values', spec, fake);
    await run;
    const tuning = await read();
    const invalid = tuning.trials.filter((t) => JSON.stringify(t.params['network.layers']) === '[0]');
    expect(invalid.length).toBeGreaterThan(0);
    for (const t of invalid) {
      expect(t.state).toBe('failed');
      expect(t.error).toContain('spec.trainer.builtin.network.layers[0]');
      expect(fake.jobs.some((j) => j.trial === t.trial)).toBe(false);
    }
  });

  it('fails the search when every trial fails, with each distinct reason once', async () => {
    const fake = fakeLauncher(() => ({ fail: 'cannot read data.csv' }));
    const { run, read } = await search('all-fail', withTuning({ algorithm: 'halving', trials: 3 }), fake);
    await expect(run).rejects.toThrow(
      new TuningError('all 3 trials failed; trial 1, 2, 3: cannot read data.csv'),
    );
    expect((await read()).state).toBe('failed');
  });

  it('stops at once when the tuning metric does not exist', async () => {
    const fake = fakeLauncher((job) => ({ waitMs: job.trial === 1 ? 5 : 10_000 }));
    const spec = withTuning({ algorithm: 'random', trials: 4, parallel: 2, metric: 'val_mae' });
    const { run, read } = await search('no-metric', spec, fake);
    await expect(run).rejects.toThrow(/tuning.metric "val_mae" is not reported.*val_loss, val_accuracy/);
    const tuning = await read();
    expect(tuning.state).toBe('failed');
    expect(fake.jobs.map((j) => j.trial)).toEqual([1, 2]);
    expect(tuning.trials.map((t) => t.state)).toEqual(['failed', 'cancelled', 'cancelled', 'cancelled']);
  });
});

describe('abort', () => {
  it('stops launching, stops running trials and records the search as cancelled', async () => {
    const controller = new AbortController();
    const fake = fakeLauncher(() => ({ waitMs: 10_000 }));
    const spec = withTuning({ algorithm: 'random', trials: 4, parallel: 2 });
    const { run, read, outDir } = await search('abort', spec, fake, controller.signal);
    // Once both workers train (the study journals each trial before it launches it).
    await vi.waitFor(() => expect(fake.jobs).toHaveLength(2));
    controller.abort();
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(fake.jobs.map((j) => j.trial)).toEqual([1, 2]);
    const tuning = await read();
    expect(tuning.state).toBe('cancelled');
    expect(tuning.trials.map((t) => t.state)).toEqual(Array(4).fill('cancelled'));
    expect(await localStore.exists(join(outDir, 'run.json'))).toBe(false);
  });
});

it('runTraining delegates to the search when spec.tuning is set', async () => {
  // No launcher can be injected through runTraining: an invalid space proves the delegation
  // without training (every trial fails before launch).
  const spec = withTuning({ algorithm: 'random', trials: 2, space: { 'network.layers': { choice: [[0]] } } });
  await expect(
    runTraining({ spec, baseDir: iris.baseDir, outDir: join(iris.dir, 'delegation'), onEvent: () => {} }),
  ).rejects.toThrow(/all 2 trials failed; trial 1, 2: invalid trial spec/);
});
