/**
 * A tuned run whose process died (killed, OOM, a reboot) is `failed`, and the engine's retry is a
 * new run number with a fresh artifact folder. Its study is not lost: before that retry is
 * launched, the artifact folder of the dead attempt (study.jsonl, trials/ with their
 * checkpoints, tuning.json) is moved into the new run, in one rename, and the trainer replays the
 * journal there (trainer/tuning/README.md "Engine"): ended trials are kept, open ones resume from
 * their checkpoints. Only a run of the same stack, name and spec hash is adopted, only when its
 * process is gone, it did not succeed, and it was not cancelled (a cancel means stop, and the
 * next run starts over).
 */
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { runRef, trainingRunAddress } from '../../resources/address.js';
import type { ProviderContext } from '../provider.js';
import { JOURNAL_FILE } from '../../trainer/tuning/journal.js';
import { isAlive } from './processes.js';
import { RunRecordSchema, type RunRecord } from './records.js';
import { exists, FILES, listNumbered, readRecord, type StatePaths } from './state-dir.js';

const hasTuning = (record: RunRecord): boolean =>
  (record.spec as { tuning?: unknown } | undefined)?.tuning !== undefined;

/**
 * Moves the study of the latest dead attempt of `record` into its artifact folder, when there is
 * one and the folder is still empty; returns the run it came from.
 */
export async function adoptDeadStudy(
  paths: StatePaths,
  ctx: ProviderContext,
  record: RunRecord,
): Promise<string | undefined> {
  if (!hasTuning(record)) return undefined;
  const artifact = join(paths.run(record.name, record.number), FILES.artifact);
  if (await exists(artifact)) return undefined;
  const earlier = (await listNumbered(paths.runsOf(record.name)))
    .filter((n) => n < record.number)
    .sort((a, b) => b - a);
  for (const number of earlier) {
    const dir = paths.run(record.name, number);
    const read = await readRecord(join(dir, FILES.run), RunRecordSchema, trainingRunAddress(record.name));
    if (read.status !== 'ok') continue;
    const old = read.value;
    if (old.labels['mlform-stack'] !== ctx.stack || old.specHash !== record.specHash) continue;
    const from = join(dir, FILES.artifact);
    if (!(await exists(join(from, JOURNAL_FILE)))) continue;
    if (await isAdoptable(old, dir, from)) {
      await rename(from, artifact);
      const source = runRef(old);
      ctx.log?.(`${runRef(record)} resumes the study of ${source}`);
      return source;
    }
    // The latest attempt with a study decides: an older one is never resumed past it.
    return undefined;
  }
  return undefined;
}

async function isAdoptable(old: RunRecord, dir: string, artifact: string): Promise<boolean> {
  if (old.outcome?.state === 'succeeded' || (await exists(join(artifact, 'run.json')))) return false;
  if (await exists(join(dir, FILES.cancelled))) return false;
  // Its process must be gone: a live (or unprovable) one still writes there.
  if (old.pid === undefined) return old.outcome?.state === 'failed';
  return !(await isAlive({ pid: old.pid, marker: old.marker, ...(old.launch && { launch: old.launch }) }));
}
