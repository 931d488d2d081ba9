/**
 * A training's train.log: the trainer's JSON-lines ProgressEvents (stdout) mixed with its stderr.
 * Progress and the failure reason are read from the tail only, so observing a long training costs
 * the same as observing a short one.
 */
import { open } from 'node:fs/promises';
import type { RunProgress } from '../provider.js';
import type { ProgressEvent } from '../../trainer/types.js';

/** Enough for hundreds of epoch events; a training's latest state is always near the end. */
const TAIL_BYTES = 256 * 1024;
/** Most one `logs` call returns; `logs --follow` continues from `next`. */
const PAGE_BYTES = 1024 * 1024;

/**
 * Up to `maxBytes` from `from`; a negative `from` counts from the end of the file. `start` is where
 * the text begins. A missing file reads as empty (a run whose process has not written yet).
 */
async function readRange(
  path: string,
  from: number,
  maxBytes: number,
): Promise<{ text: string; start: number }> {
  let file;
  try {
    file = await open(path, 'r');
  } catch {
    return { text: '', start: 0 };
  }
  try {
    const { size } = await file.stat();
    const start = from < 0 ? Math.max(0, size + from) : Math.min(from, size);
    const length = Math.min(maxBytes, size - start);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await file.read(buffer, 0, length, start);
    return { text: buffer.toString('utf8', 0, bytesRead), start };
  } finally {
    await file.close();
  }
}

/** The last complete lines of the log. */
export async function readLogTail(path: string, maxBytes: number = TAIL_BYTES): Promise<string[]> {
  const { text, start } = await readRange(path, -maxBytes, maxBytes);
  const lines = text.split('\n');
  // Starting mid-file, the first line is a fragment.
  if (start > 0) lines.shift();
  return lines.filter((l) => l.trim() !== '');
}

/** Complete lines from byte offset `from`; `next` is where the next call continues. */
export async function readLogLines(path: string, from = 0): Promise<{ lines: string[]; next: number }> {
  const start = Math.max(0, from);
  const { text } = await readRange(path, start, PAGE_BYTES);
  const end = text.lastIndexOf('\n');
  if (end < 0) {
    // A line longer than a page would otherwise stall `logs --follow` forever: hand it out in pieces.
    const whole = Buffer.byteLength(text, 'utf8') >= PAGE_BYTES;
    return whole
      ? { lines: [text], next: start + Buffer.byteLength(text, 'utf8') }
      : { lines: [], next: start };
  }
  const complete = text.slice(0, end + 1);
  return {
    lines: complete.split('\n').filter((l) => l !== ''),
    next: start + Buffer.byteLength(complete, 'utf8'),
  };
}

function parseEvent(line: string): ProgressEvent | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as unknown;
    return typeof value === 'object' && value !== null && 'type' in value
      ? (value as ProgressEvent)
      : undefined;
  } catch {
    return undefined;
  }
}

const TRIAL_DONE = new Set(['finished', 'failed', 'pruned', 'best']);

export interface LogSummary {
  progress?: RunProgress;
  /** The last `error` event's message. */
  error?: string;
  /** The last line that is not an event (a crash's stack trace ends there). */
  lastText?: string;
}

export function summarizeLog(lines: readonly string[]): LogSummary {
  const summary: LogSummary = {};
  let epochs: number | undefined;
  let progress: RunProgress | undefined;
  const trials = new Map<number, string>();
  let trialCount: number | undefined;
  for (const line of lines) {
    const event = parseEvent(line);
    if (!event) {
      summary.lastText = line.trim();
      continue;
    }
    switch (event.type) {
      case 'start':
        epochs = event.epochs;
        progress = { epoch: event.resumedFromEpoch ?? 0, epochs: event.epochs };
        break;
      case 'epoch':
        progress = {
          epoch: event.epoch,
          epochs: event.epochs,
          loss: event.loss,
          metrics: event.metrics,
          etaSeconds: event.etaSeconds,
        };
        break;
      case 'trial':
        trialCount = event.trials;
        trials.set(event.trial, event.state);
        break;
      case 'error':
        summary.error = event.message;
        break;
      default:
        break;
    }
  }
  if (trialCount !== undefined) {
    // Tuning: trial workers' epochs are not in this log; the trial count is the progress.
    const done = [...trials.values()].filter((state) => TRIAL_DONE.has(state)).length;
    progress = {
      ...(progress ?? { epoch: 0, epochs: epochs ?? 0 }),
      trial: { done: Math.min(done, trialCount), of: trialCount },
    };
  }
  if (progress) summary.progress = progress;
  return summary;
}
