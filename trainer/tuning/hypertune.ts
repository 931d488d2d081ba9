/**
 * A trial of a Vertex AI HyperparameterTuningJob (providers/gcp/README.md "Tuning"): the
 * parameters Vertex passes as `--<parameterId>=<value>` arguments, and the trial's metric
 * reported the way Google's `cloudml-hypertune` package does.
 *
 * The hypertune convention (cloudml-hypertune `HyperTune.report_hyperparameter_tuning_metric`):
 * the metric file is `$CLOUD_ML_HP_METRIC_FILE`, default `/tmp/hypertune/output.metrics`; every
 * report appends an entry to a queue of the last 100 and rewrites the file with one JSON object per
 * line, keys sorted: `{"checkpoint_path": "", "global_step": "<n>", "<metric tag>": "<value>",
 * "timestamp": <epoch seconds>, "trial": "<$CLOUD_ML_TRIAL_ID or 0>"}` (the value and the step are
 * strings). Vertex reads the newest line carrying the study's `metricId` when the trial ends.
 *
 * No TensorFlow.js import here: the gcp provider uses `categoryOf` to build the study spec.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../artifact/storage.js';
import { dirname } from 'node:path';
import type { SearchDimension, SearchSpace, TrialParams } from './search-space.js';

export const HYPERTUNE_DEFAULT_FILE = '/tmp/hypertune/output.metrics';
/** cloudml-hypertune keeps this many entries in the file. */
const MAX_ENTRIES = 100;

type Env = Record<string, string | undefined>;

export const hypertuneFile = (env: Env): string => env.CLOUD_ML_HP_METRIC_FILE || HYPERTUNE_DEFAULT_FILE;

/**
 * A categorical value of the study spec for a `choice` entry that is not a number: strings as they
 * are, anything else (arrays like `[64, 64]`, booleans, objects) as compact JSON.
 */
export const categoryOf = (value: unknown): string =>
  typeof value === 'string' ? value : JSON.stringify(value);

/**
 * The study parameter of layer `layer`'s units (1-based) in a `layers` dimension: `<key>.<layer>`
 * (`network.layers.2`). The key's own parameter is the layer count; layer i's exists only when the
 * count is at least i (a conditional parameter, providers/gcp/vizier.ts).
 */
export const layerUnitsId = (key: string, layer: number): string => `${key}.${layer}`;

/** One metric line, formatted like Python's `json.dumps(body, sort_keys=True)`. */
export function hypertuneLine(
  metric: string,
  value: number,
  options: { trialId?: string; globalStep?: number; timestampSeconds?: number; checkpointPath?: string } = {},
): string {
  const body: Record<string, string | number> = {
    timestamp: options.timestampSeconds ?? Date.now() / 1000,
    trial: options.trialId ?? '0',
    [metric]: String(value),
    global_step: String(Math.trunc(options.globalStep ?? 0)),
    checkpoint_path: options.checkpointPath ?? '',
  };
  const keys = Object.keys(body).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}: ${JSON.stringify(body[k])}`).join(', ')}}`;
}

/** Reports the trial's metric: the file keeps the last 100 lines, the new one last. Returns the path. */
export async function reportHypertuneMetric(
  metric: string,
  value: number,
  options: { env: Env; globalStep?: number; now?: Date },
): Promise<string> {
  const file = hypertuneFile(options.env);
  await mkdir(dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
  const previous = await readFile(file, 'utf8').catch(() => '');
  const lines = previous.split('\n').filter((l) => l.trim() !== '');
  lines.push(
    hypertuneLine(metric, value, {
      trialId: options.env.CLOUD_ML_TRIAL_ID ?? '0',
      globalStep: options.globalStep,
      timestampSeconds: (options.now ?? new Date()).getTime() / 1000,
    }),
  );
  await writeFile(file, `${lines.slice(-MAX_ENTRIES).join('\n')}\n`, { mode: PRIVATE_FILE_MODE });
  return file;
}

/** The newest value of `metric` in a hypertune file's text (value as a string or a number). */
export function lastReported(
  text: string,
  metric: string,
): { value: number; globalStep: number } | undefined {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  for (let i = lines.length - 1; i >= 0; i--) {
    let entry: unknown;
    try {
      entry = JSON.parse(lines[i]);
    } catch {
      continue;
    }
    if (!entry || typeof entry !== 'object') continue;
    const e = entry as Record<string, unknown>;
    const value = Number(e[metric]);
    if (e[metric] === undefined || e[metric] === '' || !Number.isFinite(value)) continue;
    return { value, globalStep: Number(e.global_step ?? 0) || 0 };
  }
  return undefined;
}

export type ParsedParameterArgs = { ok: true; params: TrialParams } | { ok: false; message: string };

/**
 * Parameters from `--<parameterId>=<value>` (a key of `tuning.space`, as Vertex passes them) and
 * `--hp.<path>=<value>` (any path; bare names mean `hyperparameters.<name>`). Values decode
 * against the space: a `choice` value must be one of its entries (numbers compare as numbers,
 * others by `categoryOf`), `int` must be an integer, `uniform`/`logUniform` a number. A `layers`
 * dimension arrives as its count `--<key>=<n>` and the units of each layer `--<key>.<i>=<units>`
 * (`layerUnitsId`) and becomes the list of units. A `--hp.` path outside the space is JSON, or the
 * text itself when it does not parse. A conditional parameter (`when`) Vertex left out is simply absent.
 */
export function parseParameterArgs(args: readonly string[], space: SearchSpace = {}): ParsedParameterArgs {
  const params: TrialParams = {};
  const units = new Map<string, Map<number, number>>();
  for (const arg of args) {
    const m = /^--([^=]+)=([\s\S]*)$/.exec(arg);
    if (!m) {
      return {
        ok: false,
        message: `unexpected argument "${arg}": parameters are --<parameterId>=<value> or --hp.<path>=<value>`,
      };
    }
    const explicit = m[1].startsWith('hp.');
    const key = explicit ? m[1].slice('hp.'.length) : m[1];
    const layer = explicit ? undefined : layerOf(key, space);
    if (layer) {
      const decoded = decodeValue(key, { int: layer.dimension.layers?.units }, m[2]);
      if (!decoded.ok) return decoded;
      const known = units.get(layer.key) ?? new Map<number, number>();
      known.set(layer.index, decoded.value as number);
      units.set(layer.key, known);
      continue;
    }
    const dimension = Object.hasOwn(space, key) ? space[key] : undefined;
    if (!dimension && !explicit) {
      const known = Object.keys(space);
      return {
        ok: false,
        message: `unknown option "--${key}": not a key of tuning.space${known.length > 0 ? ` (${known.join(', ')})` : ''}; use --hp.<path>=<value> for other parameters`,
      };
    }
    const decoded = dimension?.layers
      ? decodeValue(key, { int: dimension.layers.count }, m[2])
      : dimension
        ? decodeValue(key, dimension, m[2])
        : { ok: true as const, value: parseLoose(m[2]) };
    if (!decoded.ok) return decoded;
    params[key] = decoded.value;
  }
  for (const [key, dimension] of Object.entries(space)) {
    if (!dimension.layers || (params[key] === undefined && !units.has(key))) continue;
    const built = layerList(key, params[key], units.get(key));
    if (!built.ok) return built;
    params[key] = built.value;
  }
  return { ok: true, params };
}

/** `network.layers.2` as layer 2 of the `layers` dimension `network.layers`. */
function layerOf(
  id: string,
  space: SearchSpace,
): { key: string; index: number; dimension: SearchDimension } | undefined {
  const m = /^(.+)\.([1-9]\d*)$/.exec(id);
  if (!m || !Object.hasOwn(space, m[1]) || !space[m[1]].layers) return undefined;
  return { key: m[1], index: Number(m[2]), dimension: space[m[1]] };
}

/** The units of layers 1..count, each of which must have come (Vertex sends exactly those). */
function layerList(
  key: string,
  count: unknown,
  units: ReadonlyMap<number, number> | undefined,
): { ok: true; value: number[] } | { ok: false; message: string } {
  if (typeof count !== 'number') {
    return { ok: false, message: `--${layerUnitsId(key, 1)}: the layer count --${key}=<n> is missing` };
  }
  const list: number[] = [];
  for (let layer = 1; layer <= count; layer++) {
    const u = units?.get(layer);
    if (u === undefined) {
      return {
        ok: false,
        message: `--${key}=${count}: the units of layer ${layer} (--${layerUnitsId(key, layer)}) are missing`,
      };
    }
    list.push(u);
  }
  const extra = [...(units?.keys() ?? [])].find((layer) => layer > count);
  if (extra !== undefined) {
    return {
      ok: false,
      message: `--${layerUnitsId(key, extra)}: layer ${extra} does not exist with --${key}=${count}`,
    };
  }
  return { ok: true, value: list };
}

function parseLoose(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function decodeValue(
  key: string,
  dimension: SearchDimension,
  text: string,
): { ok: true; value: unknown } | { ok: false; message: string } {
  const bad = (what: string) => ({ ok: false as const, message: `--${key}=${text}: ${what}` });
  if (dimension.choice) {
    const number = text.trim() === '' ? NaN : Number(text);
    const found = dimension.choice.find((c) =>
      typeof c === 'number' ? c === number : categoryOf(c) === text,
    );
    if (found === undefined) {
      return bad(`not one of the choices ${dimension.choice.map((c) => categoryOf(c)).join(' | ')}`);
    }
    return { ok: true, value: structuredClone(found) };
  }
  const number = Number(text);
  if (text.trim() === '' || !Number.isFinite(number)) return bad('not a number');
  if (dimension.int) {
    // Vertex may print an integer parameter as `5.0`.
    if (Math.abs(number - Math.round(number)) > 1e-9) return bad('not an integer');
    return { ok: true, value: Math.round(number) };
  }
  return { ok: true, value: number };
}
