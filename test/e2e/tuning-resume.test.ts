/**
 * Issue 17's acceptance for durable studies, through the built CLI on the local provider: a tuned
 * iris run with two parallel workers is applied, the training (the run's process and its trial
 * workers) is SIGKILLed mid-study once a trial has ended, and the next `mlform apply` retries the
 * run, which resumes the study: no trial is trained from scratch twice, and the trials that ended
 * before the kill are not trained again at all.
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { JournalEvent } from '../../trainer/tuning/journal.js';
import type { TuningFile } from '../../trainer/tuning/tuning-file.js';
import { isAlive, killProcessesUnder, waitFor } from '../providers/local/helpers.js';
import { runCli } from './cli.js';

let root: string;
let project: string;
// Six, so that under load there is more than one moment with an ended trial and open ones past their first checkpoint.
const TRIALS = 6;

const MANIFEST = `apiVersion: mlform/v1
kind: TrainingRun
metadata:
  name: iris-study
spec:
  trainer:
    builtin:
      task: classification
      data: {uri: file://../data/iris.csv, target: species, validationSplit: 0.3}
      network: {type: mlp, layers: [16], activation: relu}
      hyperparameters: {epochs: 16, batchSize: 8, learningRate: 0.01}
      seed: 7
  tensorboard: {histograms: false, images: false}
  tuning:
    trials: ${TRIALS}
    parallel: 2
    metric: val_loss
    algorithm: random
    space:
      learningRate: {logUniform: [0.001, 0.1]}
      network.layers: {choice: [[8], [16]]}
`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-tuning-resume-'));
  project = join(root, 'project');
  await mkdir(join(root, 'data'), { recursive: true });
  await mkdir(project);
  await copyFile('examples/data/iris.csv', join(root, 'data', 'iris.csv'));
  await writeFile(join(project, 'mlform.yaml'), 'stack: study\nprovider: local\n');
  await writeFile(join(project, 'iris-study.yaml'), MANIFEST);
  // The tree root (where data may live) is the repository holding the project.
  execFileSync('git', ['init', '-q', root]);
});
afterAll(async () => {
  await killProcessesUnder(join(project, '.mlform'));
  await rm(root, { recursive: true, force: true });
});

const runDir = (n: number) => join(project, '.mlform', 'runs', 'iris-study', String(n));
const readJournal = async (file: string): Promise<JournalEvent[]> =>
  (await readFile(file, 'utf8'))
    .split('\n')
    .filter((line) => line.endsWith('}'))
    .map((line) => JSON.parse(line) as JournalEvent);

it('a SIGKILLed tuned run resumes its study on the next apply without repeating a trial', async () => {
  const env = { MLFORM_MAX_LOCAL_TRAININGS: '2' };
  const launched = runCli(['apply', '-y', '--no-wait', project], 60_000, env);
  expect(launched.code, launched.out).toBe(0);
  const record = JSON.parse(await readFile(join(runDir(1), 'run.json'), 'utf8')) as { pid: number };

  // Mid-study: a trial has ended, and each open trial has reported two epochs (so the worker has
  // answered the first, which comes after its checkpoint).
  const journalFile = join(runDir(1), 'artifact', 'study.jsonl');
  // tuning.json follows the journal (it is rewritten after each event): it shows an ended trial too.
  const tuningFile = join(runDir(1), 'artifact', 'tuning.json');
  const { events: atKill } = await waitFor(
    async () => ({
      events: await readJournal(journalFile).catch(() => [] as JournalEvent[]),
      shown: await readFile(tuningFile, 'utf8').then(
        (text) => (JSON.parse(text) as TuningFile).trials.some((t) => t.state === 'completed'),
        () => false,
      ),
    }),
    ({ events, shown }) => {
      const ended = new Set(events.flatMap((e) => (e.type === 'ended' ? [e.trial] : [])));
      const open = events.flatMap((e) => (e.type === 'asked' && !ended.has(e.trial) ? [e.trial] : []));
      const epochs = (t: number) => events.filter((e) => e.type === 'epoch' && e.trial === t).length;
      return (
        shown &&
        ended.size >= 1 &&
        ended.size < TRIALS &&
        open.length > 0 &&
        open.every((t) => epochs(t) >= 2)
      );
    },
    { timeoutMs: 60_000, everyMs: 20 },
  );
  // The run's process leads its group, which holds its trial workers.
  process.kill(-record.pid, 'SIGKILL');
  // The journal as the dead attempt left it (events written after the read above count too).
  await waitFor(
    async () => isAlive(record.pid),
    (alive) => !alive,
    { timeoutMs: 10_000, everyMs: 20 },
  );
  const killed = await readJournal(journalFile);
  expect(killed.slice(0, atKill.length)).toEqual(atKill);
  const endedBefore = killed.flatMap((e) => (e.type === 'ended' ? [e.trial] : []));
  // Trials that had trained an epoch: resumed from their checkpoints, never started over. A trial
  // launched in the last moment before the kill, with nothing trained, may start from scratch again.
  const trained = new Set(killed.flatMap((e) => (e.type === 'epoch' ? [e.trial] : [])));

  // describe shows the dead attempt's study as it was: its trials and the best so far.
  const midway = runCli(['describe', 'trainingrun/iris-study', '-f', project], 60_000, env);
  expect(midway.code, midway.out).toBe(0);
  expect(midway.out).toContain(`Study (iris-study#1, running: `);
  expect(midway.out).toMatch(/Best so far: trial \d+, val_loss \d/);

  const resumed = runCli(['apply', '-y', project], 120_000, env);
  expect(resumed.code, resumed.out).toBe(0);
  expect(resumed.out).toMatch(/iris-study#2/);

  // The retry's folder holds the study: moved whole from the dead attempt.
  await expect(stat(join(runDir(1), 'artifact'))).rejects.toThrow();
  const events = await readJournal(join(runDir(2), 'artifact', 'study.jsonl'));
  expect(events.slice(0, killed.length)).toEqual(killed);
  const after = events.slice(killed.length);
  const launches = events.flatMap((e) => (e.type === 'launched' ? [e] : []));
  for (let trial = 1; trial <= TRIALS; trial++) {
    const fromScratch = launches.filter((e) => e.trial === trial && !e.resumed).length;
    const untrainedAtKill =
      !trained.has(trial) && killed.some((e) => e.type === 'launched' && e.trial === trial);
    if (untrainedAtKill) expect([1, 2], `trial ${trial} trained from scratch`).toContain(fromScratch);
    else expect(fromScratch, `trial ${trial} trained from scratch`).toBe(1);
  }
  for (const trial of trained)
    expect(after.filter((e) => e.type === 'launched' && e.trial === trial && !e.resumed)).toEqual([]);
  for (const trial of endedBefore)
    expect(after.filter((e) => e.type === 'launched' && e.trial === trial)).toEqual([]);
  // The trials open at the kill went on from their checkpoints.
  expect(after.some((e) => e.type === 'launched' && e.resumed)).toBe(true);

  const tuning = JSON.parse(await readFile(join(runDir(2), 'artifact', 'tuning.json'), 'utf8')) as TuningFile;
  expect(tuning.state).toBe('succeeded');
  expect(tuning.trials.map((t) => t.state)).toEqual(Array(TRIALS).fill('completed'));
  for (const t of tuning.trials) expect(t.intermediate?.map((v) => v.epoch)).toEqual(range(16));
  await stat(join(runDir(2), 'artifact', 'run.json'));

  const described = runCli(['describe', 'trainingrun/iris-study', '-f', project], 60_000, env);
  expect(described.out).toContain(`Study (iris-study#2, succeeded: ${TRIALS} of ${TRIALS} trials ended;`);
  expect(described.out).toContain(`Best: trial ${tuning.best!.trial}, val_loss`);
  const logs = runCli(['logs', 'trainingrun/iris-study', '-f', project], 60_000, env);
  expect(logs.out).toMatch(new RegExp(`trial \\d/${TRIALS} resumed`));
  // The retry's log tells the whole study, the trials that ended before the kill included.
  for (const trial of endedBefore) expect(logs.out).toContain(`trial ${trial}/${TRIALS} finished`);
  expect(logs.out).toContain(`trial ${tuning.best!.trial}/${TRIALS} best`);
}, 150_000);

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
