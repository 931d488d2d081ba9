/**
 * Tuning with real trainings in child processes, through the built CLI as a user runs it (npm test
 * builds dist/ first): a halving study (pruned through the pruner) on
 * examples/trainer/iris-tuning.yaml, and an interrupt that has to stop running workers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import type { MetricsFile, RunFile } from '../../artifact/files.js';
import { resolveTraining } from '../../trainer/main.js';
import type { TuningFile } from '../../trainer/tuning/tuning-file.js';
import type { ProgressEvent } from '../../trainer/types.js';

const MANIFEST = 'examples/trainer/iris-tuning.yaml';
const env = { MLFORM_BACKEND: 'wasm' };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-tuning-e2e-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function mlform(
  args: string[],
  watch: (child: ChildProcess) => void = () => {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/mlform.js', ...args], {
      env: { ...process.env, ...env, NO_COLOR: '1' },
    });
    watch(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const readJson = async <T>(path: string): Promise<T> => JSON.parse(await readFile(path, 'utf8')) as T;

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(root.length + 1))
    .sort();
}

it('mlform train runs a halving search on iris and makes the best trial the artifact', async () => {
  const out = join(dir, 'iris');
  const { code, stdout, stderr } = await mlform(['train', '--spec', MANIFEST, '--out', out, '--json']);
  expect(code, stderr).toBe(0);
  const events = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as ProgressEvent);
  const trialEvents = events.filter((e) => e.type === 'trial');
  expect(trialEvents.filter((e) => e.state === 'started')).toHaveLength(4);
  // Asynchronous halving: a trial is stopped by the pruner, never restarted from a checkpoint.
  expect(trialEvents.filter((e) => e.state === 'resumed')).toHaveLength(0);
  expect(trialEvents.at(-1)?.state).toBe('best');
  expect(events.at(-1)?.type).toBe('done');

  const tuning = await readJson<TuningFile>(join(out, 'tuning.json'));
  expect(tuning).toMatchObject({ state: 'succeeded', algorithm: 'halving', metric: 'val_loss', eta: 3 });
  expect(tuning.schedule).toEqual([{ rung: 0, trials: 4, epochs: 30 }]);
  expect(tuning.pruner?.type).toBeTypeOf('string');
  // Every trial recorded, with its sampled values, its one training, each epoch's value and its metric.
  expect(tuning.trials.map((t) => t.trial)).toEqual([1, 2, 3, 4]);
  for (const t of tuning.trials) {
    expect(Object.keys(t.params).sort()).toEqual(['learningRate', 'network.layers']);
    expect(t.runs).toHaveLength(1);
    expect(t.runs[0]).toMatchObject({ budget: 30, state: 'succeeded', resumed: false });
    expect(t.metric).toBeTypeOf('number');
    expect(t.seconds).toBeGreaterThan(0);
    const metrics = await readJson<MetricsFile>(join(out, t.dir, 'metrics.json'));
    expect(metrics.metrics.val_loss).toBe(t.metric);
    expect(t.intermediate?.map((v) => v.epoch)).toEqual(
      Array.from({ length: metrics.training.epochs }, (_, i) => i + 1),
    );
    // A pruned trial stopped where the pruner said, its artifact written at that epoch.
    if (t.state === 'pruned') expect(metrics.training.epochs).toBe(t.prunedAt?.epoch);
    else expect(t.state).toBe('completed');
  }
  const best = tuning.best!;
  const completed = tuning.trials.filter((t) => t.state === 'completed');
  expect(best.metric).toBe(Math.min(...completed.map((t) => t.metric as number)));

  // Two trials really ran at once (parallel: 2): their rung-0 trainings overlap in time.
  const spans = tuning.trials.map((t) => [Date.parse(t.runs[0].startedAt), Date.parse(t.runs[0].finishedAt)]);
  const overlapping = spans.some(([s1, e1], i) => spans.some(([s2, e2], j) => i !== j && s1 < e2 && s2 < e1));
  expect(overlapping).toBe(true);

  // The run's directory is the best trial's artifact, byte for byte, plus run.json of the run.
  const bestDir = join(out, best.dir);
  const copied = (await listFiles(bestDir)).filter((f) => !f.startsWith('checkpoint') && f !== 'run.json');
  expect(copied).toEqual(
    expect.arrayContaining(['history.json', 'metrics.json', 'model.json', 'preprocess.json', 'weights.bin']),
  );
  expect(copied.some((f) => f.startsWith('tensorboard/'))).toBe(true);
  for (const file of copied)
    expect(await readFile(join(out, file))).toEqual(await readFile(join(bestDir, file)));
  await expect(stat(join(out, 'checkpoint'))).rejects.toThrow();

  const resolved = await resolveTraining({ specFile: MANIFEST, out }, env);
  if (!resolved.ok) throw new Error('manifest does not load');
  const runFile = await readJson<RunFile>(join(out, 'run.json'));
  expect(runFile.specHash).toBe(resolved.value.resource.specHash);
  expect(runFile.name).toBe('iris-tuned');
  expect((runFile.spec as TrainingRunSpec).tuning?.trials).toBe(4);
  const trialRun = await readJson<RunFile>(join(bestDir, 'run.json'));
  expect((trialRun.spec as TrainingRunSpec).tuning).toBeUndefined();
  expect(runFile.data).toEqual(trialRun.data);
  const metrics = await readJson<MetricsFile>(join(out, 'metrics.json'));
  expect(metrics.backend.backend).toBe('wasm');
  expect(metrics.metrics.val_accuracy).toBeGreaterThan(metrics.baseline.val_accuracy);
});

it('SIGTERM to mlform train stops the running trial processes and keeps their checkpoints', async () => {
  // The example, made long enough that only a kill ends it within the test.
  const manifest = (await readFile(MANIFEST, 'utf8'))
    .replace('file://../data/iris.csv', `file://${join(process.cwd(), 'examples/data/iris.csv')}`)
    .replace('epochs: 30', 'epochs: 20000')
    .replace('algorithm: halving', 'algorithm: random')
    .replace('trials: 4', 'trials: 3');
  const file = join(dir, 'long.yaml');
  await writeFile(file, manifest);
  const out = join(dir, 'abort');
  const checkpoint = (trial: number) => join(out, 'trials', String(trial), 'checkpoint', 'checkpoint.bin');
  // The spec lives in a temp folder; its data in this repository, which the operator allows.
  const allow = ['--allow-data-root', join(process.cwd(), 'examples/data')];
  const run = mlform(['train', '--spec', file, '--out', out, '--json', ...allow], (child) => {
    // Once both workers are training (each has written a checkpoint), interrupt the CLI.
    const poll = setInterval(() => {
      void Promise.all([stat(checkpoint(1)), stat(checkpoint(2))]).then(
        () => {
          clearInterval(poll);
          child.kill('SIGTERM');
        },
        () => {},
      );
    }, 200);
    child.on('close', () => clearInterval(poll));
  });
  const { code, stdout, stderr } = await run;
  expect(code, stderr).toBe(143);
  expect(stderr).toContain('interrupted by SIGTERM');
  const started = stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as ProgressEvent)
    .filter((e) => e.type === 'trial' && e.state === 'started');
  expect(started.map((e) => (e.type === 'trial' ? e.trial : 0)).sort()).toEqual([1, 2]);
  const tuning = await readJson<TuningFile>(join(out, 'tuning.json'));
  expect(tuning.state).toBe('cancelled');
  expect(tuning.trials.map((t) => t.state)).toEqual(['cancelled', 'cancelled', 'cancelled']);
  expect(tuning.trials[0].runs[0].state).toBe('cancelled');
  await stat(checkpoint(1));
  await stat(checkpoint(2));
});
