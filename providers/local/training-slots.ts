/**
 * The local provider's training slots: at most `limit` training processes (a tuning run counts
 * its trial workers) run at once from one state directory, whatever the number of TrainingRuns a
 * commit asks for. A run beyond the limit is recorded without a process and observed `queued`;
 * the next pass that finds a free slot (create, list, observe: apply, `apply --wait`, the
 * controller) starts it. The queue is therefore nothing but the run records without a process:
 * a crash loses nothing, and there is no second copy to get out of step.
 *
 * Deciding who gets a slot is done under `slots.lock` in the state directory (and a per-process
 * queue), so two CLIs or controller replicas do not both take the last slot.
 */
import { open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PRIVATE_FILE_MODE } from '../../artifact/storage.js';
import { pidExists } from './processes.js';

const LOCK_FILE = 'slots.lock';
/** Deciding takes a few spawns; a lock older than this was left by a crash. */
const STALE_MS = 30_000;
const RETRY_MS = 50;

const inProcess = new Map<string, Promise<unknown>>();

/** Runs `decide` while holding the state directory's slot lock. */
export async function withSlotLock<T>(root: string, decide: () => Promise<T>): Promise<T> {
  const previous = inProcess.get(root) ?? Promise.resolve();
  const turn = previous.catch(() => undefined).then(() => withFileLock(root, decide));
  inProcess.set(root, turn);
  try {
    return await turn;
  } finally {
    if (inProcess.get(root) === turn) inProcess.delete(root);
  }
}

async function withFileLock<T>(root: string, decide: () => Promise<T>): Promise<T> {
  const path = join(root, LOCK_FILE);
  const deadline = Date.now() + STALE_MS + 5_000;
  for (;;) {
    try {
      const handle = await open(path, 'wx', PRIVATE_FILE_MODE);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if ((await isStale(path)) || Date.now() > deadline) {
        await rm(path, { force: true });
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
  try {
    return await decide();
  } finally {
    await rm(path, { force: true });
  }
}

/** Left by a process that is gone, or held far longer than any decision takes. */
async function isStale(path: string): Promise<boolean> {
  try {
    const [info, handle] = [await stat(path), await open(path, 'r')];
    const text = await handle.readFile('utf8').finally(() => handle.close());
    const pid = Number(text.trim());
    if (Date.now() - info.mtimeMs > STALE_MS) return true;
    return Number.isInteger(pid) && pid > 0 && !pidExists(pid);
  } catch {
    return false;
  }
}
