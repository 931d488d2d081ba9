/**
 * Reads a run's log for its page, incrementally: the builder keeps, per run, what it parsed and
 * where the log continues, so a live page's stream rebuilding its document on every snapshot
 * reads only the new lines. At most LOG_BYTES are read per run (paged from the start through
 * `trainingRuns.logs`); a finished run whose log is read to its end is not asked again.
 */
import { runRef } from '../../../resources/address.js';
import { ACTIVE_RUN_STATES, type ObservedRun, type Provider } from '../../../providers/provider.js';
import type { ViewIO } from '../snapshot.js';
import { emptyLogState, readLogLines, type RunLogState } from './run-events.js';

/** ~4 MiB of log per run: hundreds of thousands of epoch events. */
export const LOG_BYTES = 4 * 2 ** 20;
/** Pages per build, so one request never loops long on a provider that pages in small steps. */
const MAX_PAGES = 16;
/** Runs whose parsed log is kept. */
const CACHED_RUNS = 32;

interface Entry {
  state: RunLogState;
  next: number;
  bytes: number;
  /** The run had finished and its log gave nothing more. */
  complete: boolean;
}

export class RunLogReader {
  private readonly entries = new WeakMap<Provider, Map<string, Entry>>();

  async read(io: ViewIO, run: ObservedRun): Promise<RunLogState> {
    let runs = this.entries.get(io.provider);
    if (!runs) {
      runs = new Map();
      this.entries.set(io.provider, runs);
    }
    // A run record re-created under the same number is another run: createdAt tells them apart.
    const key = `${runRef(run)}@${run.createdAt}`;
    let entry = runs.get(key);
    if (entry) runs.delete(key); // re-inserted below: the map's order is the recency order
    entry ??= { state: emptyLogState(), next: 0, bytes: 0, complete: false };
    runs.set(key, entry);
    while (runs.size > CACHED_RUNS) runs.delete(runs.keys().next().value as string);

    const finished = !ACTIVE_RUN_STATES.includes(run.state);
    for (let pages = 0; !entry.complete && entry.bytes < LOG_BYTES && pages < MAX_PAGES; pages++) {
      const page = await readPage(io, run, entry.next);
      if (!page) break;
      let lines = page.lines;
      let bytes = 0;
      const kept: string[] = [];
      for (const line of lines) {
        bytes += Buffer.byteLength(line, 'utf8') + 1;
        if (entry.bytes + bytes > LOG_BYTES) break;
        kept.push(line);
      }
      lines = kept;
      readLogLines(entry.state, lines);
      entry.bytes += bytes;
      const advanced = page.next !== entry.next && page.lines.length > 0;
      entry.next = page.next;
      if (!advanced) {
        entry.complete = finished && page.diagnostics.length === 0;
        break;
      }
    }
    return entry.state;
  }
}

/** A provider that throws (a network error) gives no page this time; the next build tries again. */
async function readPage(io: ViewIO, run: ObservedRun, from: number) {
  try {
    return await io.provider.trainingRuns.logs(io.ctx, { name: run.name, number: run.number, from });
  } catch {
    return undefined;
  }
}
