/**
 * The study's plots as data (tuning-plots.json), computed from tuning.json alone: the history of
 * values with the best so far, one parallel-coordinates axis per space key plus the score, and the
 * Pareto points of a multi-objective study. Pure, so the charts, the JSON and the dashboard agree.
 */
import type { TrialRecord, TuningFile } from '../tuning-file.js';
import type { HistoryPoint, ParallelRow, ParetoPlot, PlotAxis, TuningPlots } from './plots-file.js';

type Goal = TuningFile['goal'];

/** The axis key of the score, after the space's keys. */
export const SCORE_AXIS = 'score';

const better = (goal: Goal, a: number, b: number): boolean => (goal === 'minimize' ? a < b : a > b);

const finite = (value: number | null | undefined): value is number =>
  typeof value === 'number' && Number.isFinite(value);

/**
 * What ranks a trial: its score (the metric worsened by health penalties) when the engine wrote
 * one, else its metric. Only trials the engine ranks (completed or pruned) have one.
 */
export function trialValue(trial: TrialRecord): number | null {
  if (trial.state !== 'completed' && trial.state !== 'pruned') return null;
  const value = trial.score !== undefined ? trial.score : trial.metric;
  return finite(value) ? value : null;
}

/** A parameter value as people read it: lists of layer widths as `64x32`. */
export function formatParam(value: unknown): string | number | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'number')) return value.join('x');
  return JSON.stringify(value);
}

export function historyPoints(file: TuningFile): HistoryPoint[] {
  let best: number | null = null;
  return [...file.trials]
    .sort((a, b) => a.trial - b.trial)
    .map((t) => {
      const value = trialValue(t);
      if (value !== null && (best === null || better(file.goal, value, best))) best = value;
      return { trial: t.trial, state: t.state, value, best };
    });
}

interface Dimension {
  uniform?: number[];
  logUniform?: number[];
  int?: number[];
  choice?: unknown[];
  layers?: unknown;
}

const asDimension = (value: unknown): Dimension =>
  typeof value === 'object' && value !== null ? (value as Dimension) : {};

const range = (pair: number[] | undefined): [number, number] | undefined =>
  Array.isArray(pair) && pair.length === 2 && pair.every(finite) ? [pair[0], pair[1]] : undefined;

/** Lists (layer widths) by depth, then width by width; others as strings. */
const compareShown = (a: string, b: string): number => {
  const [pa, pb] = [a.split('x').map(Number), b.split('x').map(Number)];
  if (pa.every(Number.isFinite) && pb.every(Number.isFinite)) {
    if (pa.length !== pb.length) return pa.length - pb.length;
    for (let i = 0; i < pa.length; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
    return 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
};

function spaceAxis(key: string, dimension: Dimension, trials: readonly TrialRecord[]): PlotAxis {
  const logDomain = range(dimension.logUniform);
  if (logDomain && logDomain[0] > 0) return { key, label: key, kind: 'log', domain: logDomain };
  const linear = range(dimension.uniform) ?? range(dimension.int);
  if (linear) return { key, label: key, kind: 'linear', domain: linear };
  // choice keeps the manifest's order; anything else (layers) the observed values, sorted.
  const shown = (values: unknown[]) => values.map((v) => String(formatParam(v)));
  const categories = Array.isArray(dimension.choice) ? shown(dimension.choice) : [];
  const observed = trials.map((t) => t.params[key]).filter((v) => v !== undefined && v !== null);
  const extra = [...new Set(shown(observed))].filter((v) => !categories.includes(v));
  return { key, label: key, kind: 'categorical', categories: [...categories, ...extra.sort(compareShown)] };
}

/** Position of a value on an axis, 0 at the bottom and 1 at the top; null when it has none. */
export function axisPosition(axis: PlotAxis, value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (axis.kind === 'categorical') {
    const categories = axis.categories ?? [];
    const index = categories.indexOf(String(formatParam(value)));
    if (index < 0) return null;
    return categories.length === 1 ? 0.5 : index / (categories.length - 1);
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || !axis.domain) return null;
  const [lo, hi] = axis.kind === 'log' ? axis.domain.map(Math.log) : axis.domain;
  const v = axis.kind === 'log' ? Math.log(value) : value;
  if (!Number.isFinite(v)) return null;
  if (hi === lo) return 0.5;
  return Math.min(1, Math.max(0, (v - lo) / (hi - lo)));
}

/** The range the scores span; widened when they are all equal, so the axis has a length. */
function scoreDomain(values: readonly number[]): [number, number] {
  if (values.length === 0) return [0, 1];
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  if (lo < hi) return [lo, hi];
  const pad = Math.max(Math.abs(lo) * 0.1, 1e-9);
  return [lo - pad, hi + pad];
}

export function parallelCoordinates(
  file: TuningFile,
  valueLabel: string,
): { axes: PlotAxis[]; rows: ParallelRow[] } {
  const trials = [...file.trials].sort((a, b) => a.trial - b.trial);
  const paramAxes = Object.entries(file.space).map(([key, d]) => spaceAxis(key, asDimension(d), trials));
  const scores = trials.map(trialValue);
  const scoreAxis: PlotAxis = {
    key: SCORE_AXIS,
    label: valueLabel,
    kind: 'linear',
    domain: scoreDomain(scores.filter(finite)),
  };
  const axes = [...paramAxes, scoreAxis];
  const rows = trials.map((t, i) => {
    const raw = [...paramAxes.map((axis) => t.params[axis.key]), scores[i]];
    return {
      trial: t.trial,
      state: t.state,
      score: scores[i],
      positions: axes.map((axis, k) => axisPosition(axis, raw[k])),
      values: raw.map(formatParam).map((v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)),
    };
  });
  return { axes, rows };
}

/** Indices of the points no other point beats on both coordinates (ties are kept). */
function front2d(points: readonly { x: number; y: number }[], goals: [Goal, Goal]): Set<number> {
  const atLeast = (goal: Goal, a: number, b: number) => (goal === 'minimize' ? a <= b : a >= b);
  const dominates = (p: { x: number; y: number }, q: { x: number; y: number }) =>
    atLeast(goals[0], p.x, q.x) && atLeast(goals[1], p.y, q.y) && (p.x !== q.x || p.y !== q.y);
  return new Set(points.flatMap((q, i) => (points.some((p) => dominates(p, q)) ? [] : [i])));
}

/** The first two objectives of a multi-objective study; undefined for a single objective. */
export function paretoPlot(file: TuningFile): ParetoPlot | undefined {
  const second = file.objectives?.[0];
  if (!second) return undefined;
  const goal = (g: string): Goal => (g === 'maximize' ? 'maximize' : 'minimize');
  const points = file.trials
    .filter((t) => (t.state === 'completed' || t.state === 'pruned') && t.values)
    .map((t) => ({ trial: t.trial, x: t.values?.[0], y: t.values?.[1] }))
    .filter((p): p is { trial: number; x: number; y: number } => finite(p.x) && finite(p.y));
  const goals: [Goal, Goal] = [file.goal, goal(second.goal)];
  // The engine's front is over every objective; without it (mid-study), the front of these two.
  const computed = front2d(points, goals);
  const onFront = (trial: number, i: number) => (file.pareto ? file.pareto.includes(trial) : computed.has(i));
  return {
    x: { metric: file.metric, goal: goals[0] },
    y: { metric: second.metric, goal: goals[1] },
    points: points.map((p, i) => ({ ...p, front: onFront(p.trial, i) })),
  };
}

/** Everything but the importance, which needs a fitted surrogate (importance.ts). */
export function studyPlots(file: TuningFile): TuningPlots {
  const valueLabel =
    file.penalties && Object.keys(file.penalties).length > 0 ? `score (${file.metric})` : file.metric;
  const pareto = paretoPlot(file);
  return {
    formatVersion: 1,
    metric: file.metric,
    goal: file.goal,
    valueLabel,
    history: historyPoints(file),
    parallel: parallelCoordinates(file, valueLabel),
    ...(pareto && { pareto }),
  };
}
