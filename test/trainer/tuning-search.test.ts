/**
 * The search itself (rungs, promotion, failures, abort, the promoted artifact) with an injected
 * launcher that writes a fake artifact instead of training: fast and exact. The real trainer in
 * child processes is covered by tuning-e2e.test.ts.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { specHash } from '../../resources/spec-hash.js';
import { writeJsonFile } from '../../artifact/files.js';
import { resolveTraining } from '../../trainer/main.js';
import { runTraining } from '../../trainer/run-training.js';
import { runTuning, TuningError } from '../../trainer/tuning/run-tuning.js';
import type { TrialJob, TrialLauncher } from '../../trainer/tuning/trial-launcher.js';
import type { TuningFile } from '../../trainer/tuning/tuning-file.js';
import type { ProgressEvent } from '../../trainer/types.js';
import { localStore } from '../../artifact/storage.js';

let dir: string;
let base: TrainingRunSpec;
let baseDir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-tuning-search-'));
  const resolved = await resolveTraining({ specFile: 'examples/trainer/iris-tuning.yaml', out: dir }, {});
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.diagnostics));
  base = resolved.value.resource.manifest.spec as TrainingRunSpec;
  baseDir = resolved.value.baseDir;
});
afterAll(() => rm(dir, { recursive: true, force: true }));

type Tuning = NonNullable<TrainingRunSpec['tuning']>;
const withTuning = (tuning: Partial<Tuning>, epochs = 9): TrainingRunSpec => {
  const spec = structuredClone(base);
  spec.trainer.builtin!.hyperparameters.epochs = epochs;
  spec.tuning = { ...spec.tuning!, ...tuning };
  return spec;
};

const sleep = (ms: number, signal: AbortSignal) =>
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

interface Fake {
  launcher: TrialLauncher;
  jobs: TrialJob[];
  maxConcurrent: () => number;
}

/**
 * Writes an artifact whose val_loss is smallest for learningRate 0.01 and shrinks with epochs, so
 * rankings are predictable. `behave` can fail a job, change its metrics, or hold it.
 */
function fakeLauncher(
  behave: (job: TrialJob) => {
    fail?: string;
    metrics?: Record<string, number>;
    waitMs?: number;
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
      const valLoss = Math.abs(Math.log10(hp.learningRate) + 2) + 1 / hp.epochs;
      const out = job.outDir;
      await localStore.write(join(out, 'model.json'), JSON.stringify({ trial: job.trial }));
      await localStore.write(join(out, 'weights.bin'), new Uint8Array([job.trial, hp.epochs, 7]));
      await localStore.write(join(out, 'tensorboard', 'events.out.tfevents.1.fake'), `trial ${job.trial}`);
      await writeJsonFile(out, 'preprocess.json', { formatVersion: 1 });
      await writeJsonFile(out, 'history.json', [{ epoch: hp.epochs }]);
      await writeJsonFile(out, 'metrics.json', {
        formatVersion: 1,
        task: 'classification',
        metrics: how.metrics ?? { val_loss: valLoss, val_accuracy: 1 - valLoss / 10 },
        training: { epochs: hp.epochs },
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

async function search(name: string, spec: TrainingRunSpec, fake: Fake, signal?: AbortSignal) {
  const outDir = join(dir, name);
  const events: ProgressEvent[] = [];
  const run = runTuning({
    spec,
    baseDir,
    outDir,
    name: 'iris-tuned',
    onEvent: (e) => events.push(e),
    launcher: fake.launcher,
    signal,
  });
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

describe('successive halving', () => {
  it('promotes the best third per rung and continues it in its own directory', async () => {
    const fake = fakeLauncher();
    const spec = withTuning({ algorithm: 'halving', trials: 9, parallel: 3 }, 9);
    const { run, events, read } = await search('halving', spec, fake);
    await run;
    const tuning = await read();
    expect(tuning.schedule.map((r) => [r.trials, r.epochs])).toEqual([
      [9, 1],
      [3, 3],
      [1, 9],
    ]);
    expect(fake.jobs.map((j) => j.spec.trainer.builtin!.hyperparameters.epochs)).toEqual([
      ...Array(9).fill(1),
      ...Array(3).fill(3),
      9,
    ]);

    // Rung 1 holds the three best of rung 0, rung 2 the best of rung 1.
    const rung0 = tuning.trials.map((t) => ({ trial: t.trial, metric: t.runs[0].metric as number }));
    const best3 = [...rung0].sort((a, b) => a.metric - b.metric).slice(0, 3);
    const rung1Jobs = fake.jobs.filter((j) => j.rung === 1);
    expect(rung1Jobs.map((j) => j.trial).sort()).toEqual(best3.map((t) => t.trial).sort());
    const finalist = fake.jobs.find((j) => j.rung === 2)!;
    const first = fake.jobs.find((j) => j.trial === finalist.trial)!;
    expect(finalist.outDir).toBe(first.outDir);

    const states = tuning.trials.map((t) => t.state);
    expect(states.filter((s) => s === 'pruned')).toHaveLength(8);
    const winner = tuning.trials[finalist.trial - 1];
    expect(winner).toMatchObject({ state: 'completed', rung: 2, budget: 9, epochs: 9 });
    expect(winner.runs.map((r) => [r.rung, r.budget, r.resumed])).toEqual([
      [0, 1, false],
      [1, 3, true],
      [2, 9, true],
    ]);
    // The best is the best of every recorded metric (a pruned trial would win if it were better).
    const recorded = tuning.trials.map((t) => t.metric as number);
    expect(tuning.best?.metric).toBe(Math.min(...recorded));
    expect(trialEvents(events, 'resumed').length).toBe(4);
    expect(trialEvents(events, 'pruned').length).toBe(8);
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
    setTimeout(() => controller.abort(), 50);
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
    runTraining({ spec, baseDir, outDir: join(dir, 'delegation'), onEvent: () => {} }),
  ).rejects.toThrow(/all 2 trials failed; trial 1, 2: invalid trial spec/);
});
