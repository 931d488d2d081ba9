/**
 * Where an endpoint's monitoring data lives under its monitoring root (a `file://` folder in the
 * local state directory, or `gs://<bucket>/<stack>/monitoring/<endpoint>/` on gcp). Every name is
 * built here, from validated names and numbers only, so a manifest cannot point a writer elsewhere.
 */
import { joinUri } from '../artifact/storage.js';

/** Prediction log objects: `logs/<yyyy-mm-dd>/<hh>/<time>-<instance>-<seq>.jsonl`. */
export const logsPrefix = (root: string): string => joinUri(root, 'logs');
/** Window summaries: `windows/<windowStart as yyyymmddThhmmssZ>/v<version>-<instance>.json`. */
export const windowsPrefix = (root: string): string => joinUri(root, 'windows');
/** Feedback objects (truth as received, JSON lines), for audits and reprocessing. */
export const feedbackPrefix = (root: string): string => joinUri(root, 'feedback');

/** The window folder name of an instant, to the second (windows may be 10 s): sorts by time as text. */
export function windowKey(windowStartMs: number): string {
  return new Date(windowStartMs).toISOString().replace(/[-:]/g, '').slice(0, 15) + 'Z';
}

/** Start of the window holding `timeMs`, windows aligned to multiples of their length. */
export const windowStart = (timeMs: number, windowMs: number): number =>
  Math.floor(timeMs / windowMs) * windowMs;

/** A window summary's object: `windows/<windowKey>/v<version>-<instance>.json`. */
export const windowSummaryUri = (
  root: string,
  windowStartMs: number,
  version: number,
  instance: string,
): string => joinUri(windowsPrefix(root), windowKey(windowStartMs), `v${version}-${instance}.json`);

/**
 * One batch of JSON lines under `logs/` or `feedback/`:
 * `<prefix>/<yyyy-mm-dd>/<hh>/<hhmmss.mmm>-<instance>-<seq>.jsonl`, so a day or an hour is one
 * folder to list or delete.
 */
export function batchObjectUri(prefix: string, timeMs: number, instance: string, seq: number): string {
  const iso = new Date(timeMs).toISOString(); // 2026-12-05T07:14:27.123Z
  const time = `${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 23)}`;
  return joinUri(prefix, iso.slice(0, 10), iso.slice(11, 13), `${time}-${instance}-${seq}.jsonl`);
}

/**
 * The instant an object under the monitoring root was written for (the hour of a log or feedback
 * batch, the start of a summary's window), read from its name: retention needs no metadata call.
 * Undefined for a name this layout does not make.
 */
export function objectTime(uri: string): number | undefined {
  const batch = /[/\\](\d{4}-\d{2}-\d{2})[/\\](\d{2})[/\\][^/\\]+\.jsonl$/.exec(uri);
  if (batch) return Date.parse(`${batch[1]}T${batch[2]}:00:00Z`);
  const summary = /[/\\](\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z[/\\][^/\\]+\.json$/.exec(uri);
  if (summary) {
    const [, y, mo, d, h, mi, s] = summary;
    return Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
  }
  return undefined;
}
