/**
 * A run's log read as the dashboard needs it: the `epoch` events become curves, the `trial`
 * events the tuning table, and the last lines the log tail. The log is attacker-written (a custom
 * trainer prints what it likes): a line that is not a JSON event is plain log, events are checked
 * field by field, and every collection is bounded.
 */
import { cleanText } from './safe-text.js';

/** Lines kept for the tail. */
export const TAIL_LINES = 200;
/** Longest tail line kept (a minified JSON blob would fill the page). */
const MAX_LINE_CHARS = 2000;
/** Epochs and series kept: far above what a builtin training reports. */
const MAX_EPOCHS = 10_000;
const MAX_SERIES = 32;
const MAX_TRIALS = 1000;
const MAX_PARAMS = 64;
/** Metric names as the trainers write them (`val_mae`, `loss`). */
const METRIC_NAME = /^[A-Za-z_][A-Za-z0-9_./-]{0,63}$/;

export interface TrialEvent {
  trial: number;
  trials: number;
  params: Record<string, number | string | boolean>;
  state: string;
  metric: number | null;
  /** A `best` event named it. */
  best: boolean;
}

export interface RunLogState {
  /** epoch -> series name -> value. */
  epochs: Map<number, Map<string, number>>;
  seriesNames: Set<string>;
  trials: Map<number, TrialEvent>;
  tail: string[];
}

export const emptyLogState = (): RunLogState => ({
  epochs: new Map(),
  seriesNames: new Set(),
  trials: new Map(),
  tail: [],
});

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const count = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function parseEvent(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return isRecord(value) && typeof value.type === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

function addSeries(state: RunLogState, values: Map<string, number>, name: string, value: unknown): void {
  if (!finite(value) || !METRIC_NAME.test(name)) return;
  if (!state.seriesNames.has(name)) {
    if (state.seriesNames.size >= MAX_SERIES) return;
    state.seriesNames.add(name);
  }
  values.set(name, value);
}

function onEpoch(state: RunLogState, event: Record<string, unknown>): void {
  const epoch = event.epoch;
  if (!count(epoch)) return;
  if (!state.epochs.has(epoch) && state.epochs.size >= MAX_EPOCHS) return;
  // A resumed training reports an epoch again: the later report wins.
  const values = new Map<string, number>();
  addSeries(state, values, 'loss', event.loss);
  if (isRecord(event.metrics))
    for (const [k, v] of Object.entries(event.metrics)) addSeries(state, values, k, v);
  state.epochs.set(epoch, values);
}

export function trialParams(raw: unknown): Record<string, number | string | boolean> {
  const out: Record<string, number | string | boolean> = {};
  if (!isRecord(raw)) return out;
  for (const [k, v] of Object.entries(raw).slice(0, MAX_PARAMS)) {
    const key = cleanText(k).slice(0, 128);
    out[key] =
      typeof v === 'number' || typeof v === 'boolean'
        ? v
        : typeof v === 'string'
          ? cleanText(v).slice(0, 256)
          : cleanText(JSON.stringify(v) ?? 'null').slice(0, 256);
  }
  return out;
}

function onTrial(state: RunLogState, event: Record<string, unknown>): void {
  const { trial, trials } = event;
  if (!count(trial) || !count(trials) || typeof event.state !== 'string') return;
  const previous = state.trials.get(trial);
  if (!previous && state.trials.size >= MAX_TRIALS) return;
  const metric = finite(event.metric) ? event.metric : (previous?.metric ?? null);
  if (event.state === 'best') {
    // The search's verdict, not a state of the trial: its state stays what it was.
    for (const t of state.trials.values()) t.best = false;
    state.trials.set(trial, {
      ...(previous ?? { trial, trials, params: trialParams(event.params), state: 'finished' }),
      metric,
      best: true,
    });
    return;
  }
  state.trials.set(trial, {
    trial,
    trials,
    params: trialParams(event.params),
    state: cleanText(event.state).slice(0, 32),
    metric,
    best: previous?.best ?? false,
  });
}

/** Feeds more lines (in order) into the state. */
export function readLogLines(state: RunLogState, lines: readonly string[]): void {
  for (const raw of lines) {
    const event = parseEvent(raw);
    if (event?.type === 'epoch') onEpoch(state, event);
    else if (event?.type === 'trial') onTrial(state, event);
    const line = cleanText(raw);
    if (line.trim() === '') continue;
    state.tail.push(line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line);
  }
  if (state.tail.length > TAIL_LINES) state.tail.splice(0, state.tail.length - TAIL_LINES);
}

export interface Curves {
  epochs: number[];
  series: { name: string; split: 'train' | 'validation'; values: (number | null)[] }[];
}

/** `val_*` is validation, the rest train; series in a stable order (loss first, then by name). */
export const splitOf = (name: string): 'train' | 'validation' =>
  name.startsWith('val_') ? 'validation' : 'train';

const seriesOrder = (a: string, b: string): number => {
  const base = (n: string) => n.replace(/^val_/, '');
  const rank = (n: string) => (base(n) === 'loss' ? 0 : 1);
  return rank(a) - rank(b) || (base(a) < base(b) ? -1 : base(a) > base(b) ? 1 : a.length - b.length);
};

export function curvesOf(epochs: Map<number, Map<string, number>>, names: Iterable<string>): Curves {
  const numbers = [...epochs.keys()].sort((a, b) => a - b);
  const ordered = [...names].sort(seriesOrder);
  return {
    epochs: numbers,
    series: ordered.map((name) => ({
      name,
      split: splitOf(name),
      values: numbers.map((e) => epochs.get(e)?.get(name) ?? null),
    })),
  };
}

/**
 * history.json (trainer/training/checkpoint.ts `HistoryEntry[]`) as curves; undefined when it is
 * not a list of `{epoch, metrics}` with increasing epochs.
 */
export function historyCurves(value: unknown): Curves | undefined {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_EPOCHS) return undefined;
  const state = emptyLogState();
  let last = 0;
  for (const entry of value) {
    if (!isRecord(entry) || !count(entry.epoch) || entry.epoch <= last || !isRecord(entry.metrics))
      return undefined;
    last = entry.epoch;
    onEpoch(state, { epoch: entry.epoch, loss: entry.metrics.loss, metrics: entry.metrics });
  }
  return curvesOf(state.epochs, state.seriesNames);
}
