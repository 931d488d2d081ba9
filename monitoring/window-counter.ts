/**
 * Counting served requests into a version's reference bins, per window (issue 15): the model
 * server calls `count` for every request (not only the sampled ones) and `addQuality` for joined
 * feedback, and writes what `takeChanged` returns as window summaries. Pure: no clock, no I/O.
 *
 * Cost per instance: one binary search over at most 99 edges per numeric feature, one Map lookup
 * per categorical feature (bench/serving-monitoring.ts measures the whole request path).
 */
import { dateTextToDays, isMissing, isNumericText } from '../artifact/preprocess/values.js';
import type { FeatureStatistics, ReferenceStatistics } from './statistics.js';
import { windowStart } from './layout.js';
import {
  WINDOW_FORMAT_VERSION,
  type FeatureCounts,
  type QualityCounts,
  type WindowSummary,
} from './window-summary.js';

export interface CounterIdentity {
  endpoint: string;
  model: string;
  version: number;
  instance: string;
}

/** One joined feedback item: the truth against the prediction the request got. */
export type QualityItem =
  | { kind: 'number'; prediction: number; truth: number }
  | { kind: 'label'; prediction: string; truth: string }
  | { kind: 'unmatched' };

/** How one feature's values are binned: compiled once from the reference. */
type Binner =
  | { type: 'numeric'; edges: readonly number[] }
  | { type: 'categorical'; index: ReadonlyMap<string, number>; names: readonly string[] };

interface Tally {
  counts: Float64Array;
  /** Categorical only: values outside the reference's categories. */
  other: number;
  missing: number;
}

interface Window {
  start: number;
  count: number;
  features: Tally[];
  prediction?: Tally;
  quality?: QualityCounts;
  /** Counted into since the last takeChanged. */
  changed: boolean;
}

/** Windows kept after they end, so late feedback still lands in the window it belongs to. */
export const KEPT_WINDOWS = 48;

function binnerOf(stats: FeatureStatistics): Binner {
  if (stats.type === 'numeric') return { type: 'numeric', edges: stats.edges };
  const names = Object.keys(stats.categories);
  return { type: 'categorical', index: new Map(names.map((n, i) => [n, i])), names };
}

const emptyTally = (binner: Binner): Tally => ({
  counts: new Float64Array(binner.type === 'numeric' ? binner.edges.length + 1 : binner.names.length),
  other: 0,
  missing: 0,
});

/** Bin i holds [edges[i-1], edges[i]): the number of edges at or below the value. */
function binOf(edges: readonly number[], value: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A raw value as the number a binned feature holds, as the trainer read it: numbers, booleans as
 * 0/1, date text as days (a `date` column's reference is binned in days); NaN when unreadable.
 */
function numberOf(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string' && value.trim() !== '') {
    if (isNumericText(value)) return Number(value);
    return dateTextToDays(value) ?? Number.NaN;
  }
  return Number.NaN;
}

function tallyValue(binner: Binner, tally: Tally, value: unknown): void {
  // Numbers first: the common case skips the missing-marker checks on text.
  if (typeof value === 'number') {
    if (value !== value)
      tally.missing++; // NaN
    else if (binner.type === 'numeric') tally.counts[binOf(binner.edges, value)]++;
    else categorical(binner, tally, String(value));
    return;
  }
  if (isMissing(value)) {
    tally.missing++;
    return;
  }
  if (binner.type === 'numeric') {
    const n = numberOf(value);
    if (Number.isFinite(n)) tally.counts[binOf(binner.edges, n)]++;
    else tally.missing++;
    return;
  }
  // Categories are keyed by their text, as the trainer keys them (4 and "4" are one category).
  if (typeof value === 'string' || typeof value === 'boolean') categorical(binner, tally, String(value));
  else tally.other++;
}

function categorical(binner: Extract<Binner, { type: 'categorical' }>, tally: Tally, key: string): void {
  const at = binner.index.get(key);
  if (at === undefined) tally.other++;
  else tally.counts[at]++;
}

function countsOf(binner: Binner, tally: Tally): FeatureCounts {
  if (binner.type === 'numeric') {
    return { type: 'numeric', counts: Array.from(tally.counts), missing: tally.missing };
  }
  const categories: Record<string, number> = {};
  binner.names.forEach((name, i) => (categories[name] = tally.counts[i]));
  return { type: 'categorical', categories, other: tally.other, missing: tally.missing };
}

/** The value a prediction is binned by: the number, or a classification's label. */
function predictionValue(prediction: unknown): unknown {
  if (typeof prediction === 'object' && prediction !== null && 'label' in prediction) {
    return (prediction as { label: unknown }).label;
  }
  return prediction;
}

/**
 * A forecasting instance is `{history: [row, ...]}`: its newest row is what the client sends
 * about now, so that row is counted.
 */
function rowOf(instance: unknown): Record<string, unknown> | undefined {
  if (typeof instance !== 'object' || instance === null || Array.isArray(instance)) return undefined;
  const history = (instance as { history?: unknown }).history;
  if (Array.isArray(history)) return rowOf(history[history.length - 1]);
  return instance as Record<string, unknown>;
}

export class WindowCounter {
  private readonly names: string[];
  private readonly binners: Binner[];
  private readonly predictionBinner: Binner | undefined;
  private readonly windows = new Map<number, Window>();
  private newest = -Infinity;

  /** Without a reference only request counts and quality are kept (drift is then unknown). */
  constructor(
    private readonly identity: CounterIdentity,
    private readonly windowMs: number,
    reference: ReferenceStatistics | undefined,
  ) {
    const features = Object.entries(reference?.features ?? {});
    this.names = features.map(([name]) => name);
    this.binners = features.map(([, stats]) => binnerOf(stats));
    this.predictionBinner = reference?.prediction && binnerOf(reference.prediction);
  }

  private window(timeMs: number): Window {
    const start = windowStart(timeMs, this.windowMs);
    let w = this.windows.get(start);
    if (!w) {
      w = {
        start,
        count: 0,
        features: this.binners.map(emptyTally),
        ...(this.predictionBinner && { prediction: emptyTally(this.predictionBinner) }),
        changed: false,
      };
      this.windows.set(start, w);
      if (start > this.newest) this.newest = start;
    }
    return w;
  }

  /** One request's instances (raw, as the client sent them) and the predictions it got. */
  count(instances: readonly unknown[], predictions: readonly unknown[], timeMs: number): number {
    const w = this.window(timeMs);
    w.count += instances.length;
    w.changed = true;
    const { names, binners } = this;
    for (const instance of instances) {
      const row = rowOf(instance);
      for (let f = 0; f < names.length; f++) tallyValue(binners[f], w.features[f], row?.[names[f]]);
    }
    if (this.predictionBinner && w.prediction) {
      for (const p of predictions) tallyValue(this.predictionBinner, w.prediction, predictionValue(p));
    }
    return w.start;
  }

  /**
   * Feedback joined to a prediction served in the window starting at `windowStartMs`. False when
   * that window is no longer kept (older than KEPT_WINDOWS windows): the caller counts it unmatched.
   */
  addQuality(windowStartMs: number, item: QualityItem): boolean {
    const w = this.windows.get(windowStartMs);
    if (!w) return false;
    const q = (w.quality ??= { count: 0, sumAbsError: 0, sumSquaredError: 0, correct: 0, unmatched: 0 });
    w.changed = true;
    switch (item.kind) {
      case 'unmatched':
        q.unmatched++;
        break;
      case 'number': {
        const error = Math.abs(item.prediction - item.truth);
        q.count++;
        q.sumAbsError += error;
        q.sumSquaredError += error * error;
        break;
      }
      case 'label':
        q.count++;
        if (item.prediction === item.truth) q.correct++;
        break;
    }
    return true;
  }

  /** Feedback that matched no prediction, counted in the window of `timeMs`. */
  addUnmatched(timeMs: number): void {
    this.addQuality(this.window(timeMs).start, { kind: 'unmatched' });
  }

  /** A summary could not be written: it is taken again next time (if the window is still kept). */
  markChanged(windowStartMs: number): void {
    const w = this.windows.get(windowStartMs);
    if (w) w.changed = true;
  }

  /** Whether a window is still kept (feedback can join it). */
  has(windowStartMs: number): boolean {
    return this.windows.has(windowStartMs);
  }

  /**
   * The summaries of the windows counted into since the last call (oldest first), and forgets
   * windows more than KEPT_WINDOWS windows older than the newest.
   */
  takeChanged(): WindowSummary[] {
    const out: WindowSummary[] = [];
    for (const w of [...this.windows.values()].sort((a, b) => a.start - b.start)) {
      if (w.changed) {
        w.changed = false;
        out.push(this.summaryOf(w));
      } else if (w.start < this.newest - KEPT_WINDOWS * this.windowMs) this.windows.delete(w.start);
    }
    return out;
  }

  private summaryOf(w: Window): WindowSummary {
    const features: Record<string, FeatureCounts> = {};
    this.names.forEach((name, i) => (features[name] = countsOf(this.binners[i], w.features[i])));
    return {
      formatVersion: WINDOW_FORMAT_VERSION,
      endpoint: this.identity.endpoint,
      model: this.identity.model,
      version: this.identity.version,
      windowStart: new Date(w.start).toISOString(),
      windowEnd: new Date(w.start + this.windowMs).toISOString(),
      instance: this.identity.instance,
      count: w.count,
      features,
      ...(this.predictionBinner &&
        w.prediction && { prediction: countsOf(this.predictionBinner, w.prediction) }),
      ...(w.quality && { quality: { ...w.quality } }),
    };
  }
}
