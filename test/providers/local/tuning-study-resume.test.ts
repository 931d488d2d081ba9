/**
 * Which dead attempt's study a tuned run's retry adopts (providers/local/study-resume.ts): the
 * latest earlier run of the same stack, name and spec hash with a journal, whose process is gone,
 * that did not succeed and was not cancelled. The end-to-end resume is test/e2e/tuning-resume.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adoptDeadStudy } from '../../../providers/local/study-resume.js';
import type { RunRecord } from '../../../providers/local/records.js';
import { statePaths, writeJsonAtomic, type StatePaths } from '../../../providers/local/state-dir.js';
import type { ProviderContext } from '../../../providers/provider.js';

let root: string;
let paths: StatePaths;
const ctx: ProviderContext = { stack: 'study', projectDir: '/nowhere' };
const tuned = { tuning: { trials: 4 } };

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-study-resume-'));
  paths = statePaths(root);
});
afterEach(() => rm(root, { recursive: true, force: true }));

function record(number: number, fields: Partial<RunRecord> = {}): RunRecord {
  return {
    formatVersion: 1,
    name: 'iris',
    number,
    specHash: 'a'.repeat(64),
    labels: { 'mlform-stack': 'study' },
    annotations: {},
    attempt: number,
    createdAt: '2026-12-05T10:00:00.000Z',
    manifestPath: '/nowhere/iris.yaml',
    spec: tuned,
    marker: `/nowhere/runs/iris/${number}/artifact`,
    outcome: { state: 'failed', error: 'process exited without finishing' },
    ...fields,
  };
}

/** A run folder with its record and, unless `journal` is false, a study in its artifact. */
async function run(r: RunRecord, { journal = true, cancelled = false } = {}): Promise<void> {
  const dir = paths.run(r.name, r.number);
  await mkdir(join(dir, 'artifact', 'trials', '1'), { recursive: true });
  await writeJsonAtomic(join(dir, 'run.json'), r);
  if (journal) await writeFile(join(dir, 'artifact', 'study.jsonl'), `{"type":"study","run":${r.number}}\n`);
  if (cancelled) await writeFile(join(dir, 'cancelled'), 'then\n');
}

const journalOf = (number: number) =>
  readFile(join(paths.run('iris', number), 'artifact', 'study.jsonl'), 'utf8');

describe('adoptDeadStudy', () => {
  it("moves the latest dead attempt's artifact folder, journal and trials together, into the retry", async () => {
    await run(record(1));
    await run(record(2));
    const retry = record(3, { outcome: undefined });
    await mkdir(paths.run('iris', 3), { recursive: true });
    expect(await adoptDeadStudy(paths, ctx, retry)).toBe('iris#2');
    expect(await journalOf(3)).toContain('"run":2');
    await stat(join(paths.run('iris', 3), 'artifact', 'trials', '1'));
    await expect(stat(join(paths.run('iris', 2), 'artifact'))).rejects.toThrow();
    // The older attempt is left alone.
    expect(await journalOf(1)).toContain('"run":1');
  });

  it.each([
    ['another spec hash', record(1, { specHash: 'b'.repeat(64) }), {}],
    ['another stack', record(1, { labels: { 'mlform-stack': 'other' } }), {}],
    ['a succeeded run', record(1, { outcome: { state: 'succeeded' } }), {}],
    ['a cancelled run', record(1), { cancelled: true }],
    ['a run without a journal', record(1), { journal: false }],
  ])('adopts nothing from %s', async (_, old, how) => {
    await run(old, how);
    const retry = record(2, { outcome: undefined });
    expect(await adoptDeadStudy(paths, ctx, retry)).toBeUndefined();
    await expect(stat(join(paths.run('iris', 2), 'artifact'))).rejects.toThrow();
  });

  it('adopts nothing from a run whose process is still alive', async () => {
    // A process carrying the run's marker, recorded without a launch stamp: unproven, so alive.
    const marker = `/nowhere/runs/iris/1/artifact`;
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', marker], { stdio: 'ignore' });
    try {
      await run(record(1, { outcome: undefined, pid: child.pid }));
      expect(await adoptDeadStudy(paths, ctx, record(2, { outcome: undefined }))).toBeUndefined();
      expect(await journalOf(1)).toContain('"run":1');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('adopts nothing for an untuned run, or into a folder that already has an artifact', async () => {
    await run(record(1));
    expect(await adoptDeadStudy(paths, ctx, record(2, { spec: {}, outcome: undefined }))).toBeUndefined();
    await mkdir(join(paths.run('iris', 2), 'artifact'), { recursive: true });
    expect(await adoptDeadStudy(paths, ctx, record(2, { outcome: undefined }))).toBeUndefined();
    expect(await journalOf(1)).toContain('"run":1');
  });
});
