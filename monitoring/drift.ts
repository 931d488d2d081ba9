/**
 * Drift and live quality from window summaries, against a version's reference statistics. Pure:
 * the same statistics, summaries, settings and clock give the same `MonitoringStatus`.
 *
 * A feature is compared as one vector of counts per side: a numeric feature's bins then its
 * missing count; a categorical feature's reference categories (in the reference's order), then
 * `other` (every value the reference does not name), then missing. So a column that starts
 * arriving empty drifts like one whose values moved.
 */
import { parseDuration } from '../resources/training-run.js';
import type { EndpointMonitoring, QualityMetric } from '../resources/monitoring.js';
import { PREDICTION_KEY, type FeatureStatistics, type ReferenceStatistics } from './statistics.js';
import type { FeatureCounts, QualityCounts, WindowSummary } from './window-summary.js';
import type { FeatureDrift, MonitoringStatus } from './status.js';

/**
 * PSI replaces an empty bin's share by this (on either side), or one empty bin would make the index
 * infinite. 1e-4 is the usual choice: a bin empty in training that receives 1% of a window then
 * adds (0.01 - 0.0001)·ln(100) ≈ 0.046, a visible but not alarming share of the 0.2 threshold.
 */
export const PSI_EPSILON = 1e-4;

const total = (counts: readonly number[]): number => counts.reduce((sum, n) => sum + n, 0);

/** Shares of a count vector (all zero when it is empty). */
export function proportions(counts: readonly number[]): number[] {
  const n = total(counts);
  return counts.map((c) => (n === 0 ? 0 : c / n));
}

/** Population stability index Σ (a - e)·ln(a / e) over shares, empty shares raised to PSI_EPSILON. */
export function psi(expected: readonly number[], actual: readonly number[]): number {
  const e = proportions(expected);
  const a = proportions(actual);
  let sum = 0;
  for (let i = 0; i < e.length; i++) {
    const p = Math.max(e[i], PSI_EPSILON);
    const q = Math.max(a[i] ?? 0, PSI_EPSILON);
    sum += (q - p) * Math.log(q / p);
  }
  return sum;
}

/** Jensen-Shannon distance, base 2: the square root of the divergence, 0 (same) to 1 (disjoint). */
export function jsDistance(expected: readonly number[], actual: readonly number[]): number {
  const p = proportions(expected);
  const q = proportions(actual);
  let divergence = 0;
  for (let i = 0; i < p.length; i++) {
    const m = (p[i] + (q[i] ?? 0)) / 2;
    if (p[i] > 0) divergence += 0.5 * p[i] * Math.log2(p[i] / m);
    if (q[i] > 0) divergence += 0.5 * q[i] * Math.log2(q[i] / m);
  }
  // Rounding can leave a tiny negative divergence for identical vectors.
  return Math.sqrt(Math.min(1, Math.max(0, divergence)));
}

/** Kolmogorov-Smirnov statistic from binned counts: the largest gap between the two cumulative shares. */
export function ksStatistic(expected: readonly number[], actual: readonly number[]): number {
  const p = proportions(expected);
  const q = proportions(actual);
  let cp = 0;
  let cq = 0;
  let gap = 0;
  for (let i = 0; i < p.length; i++) {
    cp += p[i];
    cq += q[i] ?? 0;
    gap = Math.max(gap, Math.abs(cp - cq));
  }
  return gap;
}

/** Several summaries (instances, windows) added up. */
export interface MergedWindow {
  windowStart: string;
  windowEnd: string;
  count: number;
  features: Record<string, FeatureCounts>;
  prediction?: FeatureCounts;
  quality?: QualityCounts;
  versions: number[];
  instances: number;
}

function addCounts(into: FeatureCounts | undefined, add: FeatureCounts): FeatureCounts {
  if (into === undefined || into.type !== add.type) {
    // A feature counted as two types (two versions' bins) cannot be added: the first one wins.
    if (into !== undefined) return into;
    return add.type === 'numeric'
      ? { ...add, counts: [...add.counts] }
      : { ...add, categories: { ...add.categories } };
  }
  if (into.type === 'numeric' && add.type === 'numeric') {
    const counts = Array.from({ length: Math.max(into.counts.length, add.counts.length) }, (_, i) => {
      return (into.counts[i] ?? 0) + (add.counts[i] ?? 0);
    });
    return { type: 'numeric', counts, missing: into.missing + add.missing };
  }
  if (into.type === 'categorical' && add.type === 'categorical') {
    // A Map, then fromEntries: a category named `__proto__` stays a category (never a prototype).
    const categories = new Map(Object.entries(into.categories));
    for (const [key, n] of Object.entries(add.categories))
      categories.set(key, (categories.get(key) ?? 0) + n);
    return {
      type: 'categorical',
      categories: Object.fromEntries(categories),
      other: into.other + add.other,
      missing: into.missing + add.missing,
    };
  }
  return into;
}

function addQuality(into: QualityCounts | undefined, add: QualityCounts): QualityCounts {
  if (!into) return { ...add };
  return {
    count: into.count + add.count,
    sumAbsError: into.sumAbsError + add.sumAbsError,
    sumSquaredError: into.sumSquaredError + add.sumSquaredError,
    correct: into.correct + add.correct,
    unmatched: into.unmatched + add.unmatched,
  };
}

/** Adds summaries of several instances and windows into one: counts summed, the window spanned. */
export function mergeSummaries(summaries: readonly WindowSummary[]): MergedWindow {
  const merged: MergedWindow = {
    windowStart: '',
    windowEnd: '',
    count: 0,
    features: {},
    versions: [],
    instances: 0,
  };
  const instances = new Set<string>();
  const versions = new Set<number>();
  const features = new Map<string, FeatureCounts>();
  for (const s of summaries) {
    if (merged.windowStart === '' || Date.parse(s.windowStart) < Date.parse(merged.windowStart))
      merged.windowStart = s.windowStart;
    if (merged.windowEnd === '' || Date.parse(s.windowEnd) > Date.parse(merged.windowEnd))
      merged.windowEnd = s.windowEnd;
    merged.count += s.count;
    for (const [name, counts] of Object.entries(s.features))
      features.set(name, addCounts(features.get(name), counts));
    if (s.prediction) merged.prediction = addCounts(merged.prediction, s.prediction);
    if (s.quality) merged.quality = addQuality(merged.quality, s.quality);
    instances.add(`${s.version}/${s.instance}`);
    versions.add(s.version);
  }
  merged.features = Object.fromEntries(features);
  merged.instances = instances.size;
  merged.versions = [...versions].sort((a, b) => a - b);
  return merged;
}

/** The two count vectors of a feature (see the module comment), or why they cannot be compared. */
export function countVectors(
  reference: FeatureStatistics,
  live: FeatureCounts,
): { expected: number[]; actual: number[]; binned: boolean } | string {
  if (reference.type !== live.type) return `counted as ${live.type}, the reference is ${reference.type}`;
  if (reference.type === 'numeric' && live.type === 'numeric') {
    if (live.counts.length !== reference.counts.length)
      return `${live.counts.length} bins counted, the reference has ${reference.counts.length}`;
    return {
      expected: [...reference.counts, reference.missing],
      actual: [...live.counts, live.missing],
      binned: true,
    };
  }
  if (reference.type === 'categorical' && live.type === 'categorical') {
    const names = Object.keys(reference.categories);
    let other = live.other;
    for (const [key, n] of Object.entries(live.categories))
      if (!Object.hasOwn(reference.categories, key)) other += n;
    return {
      expected: [...names.map((k) => reference.categories[k]), reference.other, reference.missing],
      actual: [
        ...names.map((k) => (Object.hasOwn(live.categories, k) ? live.categories[k] : 0)),
        other,
        live.missing,
      ],
      binned: false,
    };
  }
  return 'types differ';
}

/** The threshold of a feature (or `_prediction`): its own in `drift.features`, else the default. */
export function thresholdOf(settings: EndpointMonitoring, name: string): number {
  const own = settings.drift.features;
  return own && Object.hasOwn(own, name) ? own[name] : settings.drift.threshold;
}

function scoreFeature(
  name: string,
  reference: FeatureStatistics,
  live: FeatureCounts,
  settings: EndpointMonitoring,
): FeatureDrift | string {
  const vectors = countVectors(reference, live);
  if (typeof vectors === 'string') return `${name}: ${vectors}`;
  if (total(vectors.expected) === 0) return `${name}: no training values`;
  const metric = settings.drift.metric;
  const raw =
    metric === 'psi' ? psi(vectors.expected, vectors.actual) : jsDistance(vectors.expected, vectors.actual);
  const score = round(raw);
  const threshold = thresholdOf(settings, name);
  // KS over the present values' bins only (the missing count is not a point on the axis).
  const ks = vectors.binned
    ? round(ksStatistic(vectors.expected.slice(0, -1), vectors.actual.slice(0, -1)))
    : undefined;
  return { name, metric, score, threshold, drifted: score > threshold, ...(ks !== undefined && { ks }) };
}

/** Features by how far past (or how close to) their threshold they are, the worst first. */
export const worstFirst = (features: readonly FeatureDrift[]): FeatureDrift[] =>
  [...features].sort((a, b) => b.score / (b.threshold || 1) - a.score / (a.threshold || 1));

/** Scores are shown and compared at 4 decimals, so a displayed `0.2` is never "past 0.2". */
const round = (x: number): number => Math.round(x * 1e4) / 1e4;

/** The default live metric: accuracy for a model that predicts labels, MAE for numbers. */
export function defaultQualityMetric(reference: Pick<ReferenceStatistics, 'prediction'>): QualityMetric {
  return reference.prediction?.type === 'categorical' ? 'accuracy' : 'mae';
}

/** MAE, RMSE or accuracy of joined feedback, undefined without any. */
export function qualityValue(quality: QualityCounts, metric: QualityMetric): number | undefined {
  if (quality.count === 0) return undefined;
  switch (metric) {
    case 'mae':
      return quality.sumAbsError / quality.count;
    case 'rmse':
      return Math.sqrt(quality.sumSquaredError / quality.count);
    case 'accuracy':
      return quality.correct / quality.count;
  }
}

function scoreQuality(
  reference: ReferenceStatistics,
  quality: QualityCounts | undefined,
  settings: EndpointMonitoring,
): MonitoringStatus['quality'] {
  if (!quality) return undefined;
  const metric = settings.quality?.metric ?? defaultQualityMetric(reference);
  const value = qualityValue(quality, metric);
  if (value === undefined) return undefined;
  const validation = reference.validation;
  const atTraining = validation
    ? [`val_${metric}`, metric]
        .map((k) => (Object.hasOwn(validation, k) ? validation[k] : undefined))
        .find((v) => v !== undefined)
    : undefined;
  const bound = settings.quality;
  const degraded =
    bound !== undefined &&
    bound.metric === metric &&
    ((bound.max !== undefined && value > bound.max) || (bound.min !== undefined && value < bound.min));
  return {
    metric,
    value: round(value),
    count: quality.count,
    ...(atTraining !== undefined && { validation: atTraining }),
    degraded,
  };
}

/** Window length in ms of the settings (`window: 1h`). */
export const windowMs = (settings: Pick<EndpointMonitoring, 'window'>): number =>
  parseDuration(settings.window) * 1000;

/**
 * Drift and live quality of ONE version's summaries against that version's reference: the last
 * complete window (windowEnd <= now) with at least `minSamples` requests, every feature of the
 * reference and `_prediction` scored with its threshold. Summaries of another version must be
 * scored against their own version's statistics: the caller groups them (`scoreEndpoint` does).
 */
export function scoreWindow(
  reference: ReferenceStatistics,
  summaries: readonly WindowSummary[],
  settings: EndpointMonitoring,
  now: Date,
): MonitoringStatus {
  const byWindow = new Map<number, WindowSummary[]>();
  for (const s of summaries) {
    const start = Date.parse(s.windowStart);
    const end = Date.parse(s.windowEnd);
    if (!Number.isFinite(start) || !Number.isFinite(end) || end > now.getTime()) continue;
    const same = byWindow.get(start);
    if (same) same.push(s);
    else byWindow.set(start, [s]);
  }
  const complete = [...byWindow.keys()]
    .sort((a, b) => b - a)
    .map((start) => mergeSummaries(byWindow.get(start)!));
  const scored = complete.find((w) => w.count >= settings.minSamples);
  if (!scored) {
    const last = complete[0];
    return {
      ...(last && { windowStart: last.windowStart, windowEnd: last.windowEnd }),
      count: last?.count ?? 0,
      drift: 'unknown',
      features: [],
      detail: last
        ? `the last complete window counted ${last.count} request(s), fewer than minSamples ${settings.minSamples}`
        : 'no complete window yet',
    };
  }
  const features: FeatureDrift[] = [];
  const skipped: string[] = [];
  const compare = (name: string, ref: FeatureStatistics, live: FeatureCounts | undefined): void => {
    if (!live) return void skipped.push(`${name}: not counted`);
    const result = scoreFeature(name, ref, live, settings);
    if (typeof result === 'string') skipped.push(result);
    else features.push(result);
  };
  for (const [name, ref] of Object.entries(reference.features))
    compare(name, ref, Object.hasOwn(scored.features, name) ? scored.features[name] : undefined);
  if (reference.prediction) compare(PREDICTION_KEY, reference.prediction, scored.prediction);
  const quality = scoreQuality(reference, scored.quality, settings);
  const drift = features.some((f) => f.drifted) ? 'drifted' : features.length > 0 ? 'ok' : 'unknown';
  return {
    windowStart: scored.windowStart,
    windowEnd: scored.windowEnd,
    count: scored.count,
    drift,
    features,
    ...(quality && { quality }),
    ...(skipped.length > 0 && { detail: `not scored: ${skipped.join('; ')}` }),
  };
}

/** A served version and its statistics.json, or why it has none. */
export type VersionReference =
  { version: number; statistics: ReferenceStatistics } | { version: number; detail: string };

/**
 * An endpoint's status from the summaries of every version it serves: each version's summaries are
 * scored against its own reference, and the endpoint reports the version that drifted or degraded
 * (the worst), else the one that received the most requests. A version without statistics.json
 * gives `unknown` with the reason, never an error.
 */
export function scoreEndpoint(
  references: readonly VersionReference[],
  summaries: readonly WindowSummary[],
  settings: EndpointMonitoring,
  now: Date,
): MonitoringStatus {
  const statuses = references.map((ref): MonitoringStatus => {
    const own = summaries.filter((s) => s.version === ref.version);
    const status =
      'statistics' in ref
        ? scoreWindow(ref.statistics, own, settings, now)
        : {
            count: own.reduce((sum, s) => sum + s.count, 0),
            drift: 'unknown' as const,
            features: [],
            detail: ref.detail,
          };
    return { ...status, version: ref.version };
  });
  if (statuses.length === 0)
    return { count: 0, drift: 'unknown', features: [], detail: 'no version is served' };
  const badness = (s: MonitoringStatus): number =>
    (s.drift === 'drifted' ? 2 : 0) + (s.quality?.degraded ? 2 : 0) + (s.drift === 'ok' ? 1 : 0);
  return statuses.reduce((best, s) =>
    badness(s) > badness(best) || (badness(s) === badness(best) && s.count > best.count) ? s : best,
  );
}
