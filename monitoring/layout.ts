/**
 * Where an endpoint's monitoring data lives under its monitoring root (a `file://` folder in the
 * local state directory, or `gs://<bucket>/<stack>/monitoring/<endpoint>/` on gcp). Every name is
 * built here, from validated names and numbers only, so a manifest cannot point a writer elsewhere.
 */
import { joinUri } from '../artifact/storage.js';

/** Prediction log objects: `logs/<yyyy-mm-dd>/<hh>/<time>-<instance>-<seq>.jsonl`. */
export const logsPrefix = (root: string): string => joinUri(root, 'logs');
/** Window summaries: `windows/<windowStart as yyyymmddThhmmZ>/v<version>-<instance>.json`. */
export const windowsPrefix = (root: string): string => joinUri(root, 'windows');
/** Feedback objects (truth as received, JSON lines), for audits and reprocessing. */
export const feedbackPrefix = (root: string): string => joinUri(root, 'feedback');

/** The window folder name of an instant: sorts by time as text. */
export function windowKey(windowStartMs: number): string {
  return new Date(windowStartMs).toISOString().replace(/[-:]/g, '').slice(0, 13) + 'Z';
}

/** Start of the window holding `timeMs`, windows aligned to multiples of their length. */
export const windowStart = (timeMs: number, windowMs: number): number =>
  Math.floor(timeMs / windowMs) * windowMs;
