/**
 * TrainingRuns on the local provider: real detached trainings of iris through the built CLI,
 * observed while running and after; idempotent create; a killed process is a failure, a cancel is
 * a cancel; an interrupted launch is recovered; damaged records are diagnostics.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ObservedRun } from '../../../providers/provider.js';
import { createLocalProvider } from '../../../providers/local/index.js';
import { findProcesses } from '../../../providers/local/processes.js';
import { NOT_FINISHED } from '../../../providers/local/runs.js';
import { decodeCheckpoint } from '../../../trainer/training/checkpoint.js';
import { writeJsonAtomic } from '../../../providers/local/state-dir.js';
import { irisSpec, isAlive, readJson, runRequest, tempProject, waitFor, type Project } from './helpers.js';

// Each test has a project of its own and creates the runs it needs: none depends on another's.
let project: Project;

beforeEach(async () => {
  project = await tempProject();
});

afterEach(async () => {
  await project?.cleanup();
});

const observe = (name: string, number: number) => async () =>
  (await project.provider.trainingRuns.observe(project.ctx, { name, number })).run;

const runDir = (name: string, number: number) => join(project.stateDir, 'runs', name, String(number));

/** iris#1 (10 epochs), trained to the end. */
async function trainedIris(): Promise<ObservedRun | undefined> {
  const created = await project.provider.trainingRuns.create(
    project.ctx,
    runRequest('iris', 1, irisSpec(10)),
  );
  expect(created.diagnostics).toEqual([]);
  const done = await waitFor(observe('iris', 1), (r) => r?.state !== 'running' && r?.state !== 'queued');
  expect(done?.state, done?.error).toBe('succeeded');
  return done;
}

interface Recorded {
  pid?: number;
  spec: { trainer: { builtin: { data: { uri: string } } } };
  outcome?: unknown;
  labels: Record<string, string>;
}

describe('a real training, detached', () => {
  it('runs, reports progress, succeeds with metrics; creating it again starts nothing', async () => {
    const { provider, ctx } = project;
    const created = await provider.trainingRuns.create(ctx, runRequest('iris', 1, irisSpec(10)));
    expect(created.diagnostics).toEqual([]);
    expect(created.run?.state).toBe('running');

    const record = await readJson<Recorded>(join(runDir('iris', 1), 'run.json'));
    expect(record.pid).toBeGreaterThan(0);
    // The manifest-relative data URI was made absolute before the trainer saw it.
    expect(record.spec.trainer.builtin.data.uri).toMatch(/^file:\/\/\/.*\/examples\/data\/iris\.csv$/);
    expect(record.labels).toMatchObject({ team: 'ml', 'mlform-stack': 'test', 'mlform-kind': 'trainingrun' });

    const again = await provider.trainingRuns.create(ctx, runRequest('iris', 1, irisSpec(10)));
    expect(again.diagnostics).toEqual([]);
    expect(again.run?.number).toBe(1);
    expect((await readJson<Recorded>(join(runDir('iris', 1), 'run.json'))).pid).toBe(record.pid);
    const marker = join(runDir('iris', 1), 'artifact');
    const processes = (await findProcesses([marker])).get(marker) ?? [];
    expect(processes.length).toBeLessThanOrEqual(1);

    const done = await waitFor(observe('iris', 1), (r) => r?.state !== 'running' && r?.state !== 'queued');
    expect(done?.state, done?.error).toBe('succeeded');
    // Three balanced classes: chance is about 1/3 (the baseline); ten epochs of this network
    // separate iris well, which a trainer that does not learn cannot reach.
    expect(done?.baseline?.val_accuracy).toBeGreaterThan(0.2);
    expect(done?.baseline?.val_accuracy).toBeLessThan(0.5);
    expect(done?.metrics?.val_accuracy).toBeGreaterThanOrEqual(0.8);
    expect(done?.dataSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(done?.finishedAt).toBeDefined();
    expect(done?.annotations).toEqual({ 'mlform/owner': 'tests' });
    // The manifest is in this repository: its commit is the version's lineage.
    expect(done?.gitCommit).toMatch(/^[0-9a-f]{40}(-dirty)?$/);
    // The terminal state is cached: the next listing reads one file for this run.
    expect((await readJson<Recorded>(join(runDir('iris', 1), 'run.json'))).outcome).toMatchObject({
      state: 'succeeded',
    });

    const afterwards = await provider.trainingRuns.create(ctx, runRequest('iris', 1, irisSpec(10)));
    expect(afterwards.run?.state).toBe('succeeded');

    const logs = await provider.trainingRuns.logs(ctx, { name: 'iris', number: 1 });
    expect(logs.diagnostics).toEqual([]);
    expect(JSON.parse(logs.lines[0])).toMatchObject({ type: 'start', epochs: 10 });
    expect(logs.lines.some((l) => l.includes('"type":"done"'))).toBe(true);
    const more = await provider.trainingRuns.logs(ctx, { name: 'iris', number: 1, from: logs.next });
    expect(more).toMatchObject({ lines: [], next: logs.next });
  });

  it('creating an existing number with another spec hash is refused', async () => {
    const first = await project.provider.trainingRuns.create(project.ctx, runRequest('iris', 1, irisSpec(1)));
    expect(first.diagnostics).toEqual([]);
    const clash = await project.provider.trainingRuns.create(
      project.ctx,
      runRequest('iris', 1, irisSpec(10), 'another-hash'),
    );
    expect(clash.diagnostics.map((d) => d.code)).toEqual(['local-run-number-taken']);
    expect(clash.run?.specHash).toBe('hash-iris-1');
  });
});

describe('process ends', () => {
  it('a SIGKILLed training is failed: process exited without finishing', async () => {
    const { provider, ctx } = project;
    await provider.trainingRuns.create(ctx, runRequest('long', 1, irisSpec(100_000)));
    const running = await waitFor(observe('long', 1), (r) => (r?.progress?.epoch ?? 0) >= 1);
    expect(running?.state).toBe('running');
    expect(running?.progress).toMatchObject({ epochs: 100_000 });
    expect(running?.progress?.loss).toBeGreaterThan(0);

    const { pid } = await readJson<Recorded>(join(runDir('long', 1), 'run.json'));
    process.kill(pid as number, 'SIGKILL');
    const failed = await waitFor(observe('long', 1), (r) => r?.state !== 'running');
    expect(failed?.state).toBe('failed');
    expect(failed?.error).toContain(NOT_FINISHED);
  });

  it('cancel stops a running training (SIGTERM) and it stays cancelled', async () => {
    const { provider, ctx } = project;
    await provider.trainingRuns.create(ctx, runRequest('long', 2, irisSpec(100_000)));
    const running = await waitFor(observe('long', 2), (r) => (r?.progress?.epoch ?? 0) >= 1);
    const { pid } = await readJson<Recorded>(join(runDir('long', 2), 'run.json'));

    expect((await provider.trainingRuns.cancel(ctx, { name: 'long', number: 2 })).diagnostics).toEqual([]);
    await waitFor(
      async () => isAlive(pid as number),
      (alive) => !alive,
      { timeoutMs: 5_000 },
    );
    expect((await observe('long', 2)())?.state).toBe('cancelled');
    // The trainer checkpointed on SIGTERM, as it promises: a whole, verified checkpoint of this
    // network (4 inputs, 8 hidden, 3 classes) at or after the epoch seen running.
    const checkpoint = decodeCheckpoint(
      await readFile(join(runDir('long', 2), 'artifact', 'checkpoint', 'checkpoint.bin')),
    );
    expect(checkpoint.state.epoch).toBeGreaterThanOrEqual(running?.progress?.epoch ?? 1);
    expect(checkpoint.state.history).toHaveLength(checkpoint.state.epoch);
    expect(checkpoint.state.globalStep).toBeGreaterThan(0);
    expect(checkpoint.tensors.weights.map((w) => w.shape)).toEqual([[4, 8], [8], [8, 3], [3]]);
    expect(checkpoint.tensors.weights.every((w) => w.data.every(Number.isFinite))).toBe(true);
    expect(checkpoint.tensors.optimizer.length).toBeGreaterThan(0);
    // Cancelling again, or creating it again, changes nothing.
    expect((await provider.trainingRuns.cancel(ctx, { name: 'long', number: 2 })).diagnostics).toEqual([]);
    expect(
      (await provider.trainingRuns.create(ctx, runRequest('long', 2, irisSpec(100_000)))).run?.state,
    ).toBe('cancelled');
  });
});

describe('an interrupted launch (record written, process never spawned)', () => {
  it('is a queued run: started, oldest first, by the next pass that finds a free training slot', async () => {
    const { ctx } = project;
    await trainedIris();
    // One training slot: the order in which queued runs start is visible.
    const provider = createLocalProvider({
      operatorStateDir: project.stateDir,
      maxLocalTrainings: 1,
      stopTimeoutMs: 5_000,
    });
    const template = await readJson<Record<string, unknown>>(join(runDir('iris', 1), 'run.json'));
    const dir = runDir('crash', 1);
    // As a crash before the spawn leaves it: no pid, no stamp (and a hand-written file: no checksum).
    const {
      pid: _pid,
      outcome: _outcome,
      startedAt: _startedAt,
      launch: _launch,
      checksum: _checksum,
      ...rest
    } = template;
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'run.json'),
      JSON.stringify({
        ...rest,
        name: 'crash',
        number: 1,
        marker: join(dir, 'artifact'),
        spec: irisSpec(100_000),
      }),
    );
    // A newer run asks for the only slot: the older queued one (the interrupted launch) gets it.
    const held = await provider.trainingRuns.create(ctx, runRequest('hold', 1, irisSpec(100_000)));
    expect(held.diagnostics).toEqual([]);
    expect(held.run?.state).toBe('queued');
    const crash = await provider.trainingRuns.observe(ctx, { name: 'crash', number: 1 });
    expect(crash.run?.state).toBe('running');
    const { pid } = await readJson<Recorded>(join(dir, 'run.json'));
    expect(isAlive(pid as number)).toBe(true);
    expect((await provider.trainingRuns.observe(ctx, { name: 'hold', number: 1 })).run?.state).toBe('queued');

    // Cancelling frees the slot (cancel waits for the exit); the next observation starts `hold`.
    await provider.trainingRuns.cancel(ctx, { name: 'crash', number: 1 });
    await waitFor(
      async () => isAlive(pid as number),
      (alive) => !alive,
      { timeoutMs: 5_000 },
    );
    expect((await provider.trainingRuns.observe(ctx, { name: 'hold', number: 1 })).run?.state).toBe(
      'running',
    );
    const hold = await readJson<Recorded & { slots?: number }>(join(runDir('hold', 1), 'run.json'));
    expect(hold.slots).toBe(1);
    await provider.trainingRuns.cancel(ctx, { name: 'hold', number: 1 });
    await waitFor(
      async () => isAlive(hold.pid as number),
      (alive) => !alive,
      { timeoutMs: 5_000 },
    );
    // A run cancelled while queued is cancelled, and never started.
    const queuedThenCancelled = await provider.trainingRuns.create(
      ctx,
      runRequest('hold', 2, irisSpec(100_000)),
    );
    expect(queuedThenCancelled.run?.state).toBe('running');
    const waiting = await provider.trainingRuns.create(ctx, runRequest('hold', 3, irisSpec(100_000)));
    expect(waiting.run?.state).toBe('queued');
    await provider.trainingRuns.cancel(ctx, { name: 'hold', number: 3 });
    await provider.trainingRuns.cancel(ctx, { name: 'hold', number: 2 });
    expect((await provider.trainingRuns.observe(ctx, { name: 'hold', number: 3 })).run?.state).toBe(
      'cancelled',
    );
    await expect(readFile(join(runDir('hold', 3), 'train.log'))).rejects.toThrow();
  });
});

describe('listing', () => {
  it('lists every run of the stack; damaged records are diagnostics, other stacks invisible', async () => {
    const { provider, ctx } = project;
    await trainedIris();
    expect(
      (await provider.trainingRuns.create(ctx, runRequest('long', 1, irisSpec(100_000)))).diagnostics,
    ).toEqual([]);
    expect((await provider.trainingRuns.cancel(ctx, { name: 'long', number: 1 })).diagnostics).toEqual([]);
    await mkdir(runDir('broken', 1), { recursive: true });
    await writeFile(join(runDir('broken', 1), 'run.json'), '{"formatVersion": 1, "name": ');
    const other = { provider: project.provider, ctx: { ...ctx, stack: 'other' } };
    const listed = await provider.trainingRuns.list(ctx);
    const refs = listed.items.map((r: ObservedRun) => `${r.name}#${r.number}:${r.state}`).sort();
    expect(refs).toEqual(['iris#1:succeeded', 'long#1:cancelled']);
    expect(listed.diagnostics.map((d) => d.code)).toEqual(['local-corrupt-record']);
    expect(listed.diagnostics[0].file).toContain(join('broken', '1', 'run.json'));
    expect((await other.provider.trainingRuns.list(other.ctx)).items).toEqual([]);
    const foreign = await other.provider.trainingRuns.cancel(other.ctx, { name: 'iris', number: 1 });
    expect(foreign.diagnostics.map((d) => d.code)).toEqual(['local-not-owned']);
  });

  it('gives back the spec as the manifest gave it; a record from before that gives none', async () => {
    const { provider, ctx } = project;
    await trainedIris();
    const iris = async () =>
      (await provider.trainingRuns.list(ctx)).items.find((r) => r.name === 'iris' && r.number === 1);
    // The relative data URI as written, although the trainer was given an absolute one.
    expect((await iris())?.spec).toEqual(irisSpec(10));
    const file = join(runDir('iris', 1), 'run.json');
    const { manifestSpec, checksum, ...older } = await readJson<Record<string, unknown>>(file);
    expect(manifestSpec).toEqual(irisSpec(10));
    expect(checksum).toBeDefined();
    await writeJsonAtomic(file, older);
    const listed = await iris();
    expect(listed?.state).toBe('succeeded');
    expect(listed).not.toHaveProperty('spec');
  });

  it('refuses a container trainer and an unknown run with diagnostics', async () => {
    const { provider, ctx } = project;
    const spec = { ...irisSpec(1), trainer: { container: { image: 'gcr.io/x/y' } } };
    const refused = await provider.trainingRuns.create(ctx, runRequest('box', 1, spec));
    expect(refused.diagnostics.map((d) => d.code)).toEqual(['local-container-trainer']);
    const missing = await provider.trainingRuns.observe(ctx, { name: 'nope', number: 1 });
    expect(missing.diagnostics.map((d) => d.code)).toEqual(['local-run-not-found']);
    const escape = await provider.trainingRuns.observe(ctx, { name: '../x', number: 1 });
    expect(escape.diagnostics.map((d) => d.code)).toEqual(['local-name']);
  });
});
