/**
 * Retention of an endpoint's monitoring objects: log and feedback batches and window summaries
 * older than `retention` are deleted by the server itself, every instance sweeping the whole
 * endpoint (deleting is idempotent), so objects of instances long gone go too. An object's age
 * comes from its name (monitoring/layout.ts objectTime): no metadata read per object. At most
 * MAX_DELETES per sweep, oldest first; the rest waits for the next sweep.
 */
import type { ObjectStore } from '../artifact/storage.js';
import { feedbackPrefix, logsPrefix, objectTime, windowsPrefix } from '../monitoring/layout.js';

export const MAX_DELETES = 1000;
const HOUR_MS = 3_600_000;

/**
 * Deletes what ended before `cutoffMs` (now minus the retention); returns how many objects were
 * deleted. `windowMs`: a summary covers [start, start + windowMs).
 */
export async function sweepRetention(
  store: ObjectStore,
  root: string,
  cutoffMs: number,
  windowMs: number,
  maxDeletes = MAX_DELETES,
): Promise<number> {
  const expired: { uri: string; end: number }[] = [];
  for (const [prefix, span] of [
    [logsPrefix(root), HOUR_MS],
    [feedbackPrefix(root), HOUR_MS],
    [windowsPrefix(root), windowMs],
  ] as const) {
    for (const uri of await store.list(prefix)) {
      const start = objectTime(uri);
      // Only names this layout makes: anything else under the root is not the server's to delete.
      if (start !== undefined && start + span <= cutoffMs) expired.push({ uri, end: start + span });
    }
  }
  expired.sort((a, b) => a.end - b.end);
  let deleted = 0;
  for (const { uri } of expired.slice(0, maxDeletes)) {
    await store.remove(uri);
    deleted++;
  }
  return deleted;
}
