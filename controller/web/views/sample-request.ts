/**
 * A request body a served model accepts, for the endpoint page's editable sample: one instance
 * with typical values, from the version's preprocess.json (numeric and date: the fitted mean;
 * categorical: the first category; boolean: false) or, for your own trainer, artifact.json's
 * feature list. Forecasting models get a window of `window.size` history rows. Both files are
 * artifact content: read field by field, bounded, and only names and numbers are used.
 */
import { MISSING_CATEGORY } from '../../../artifact/preprocess/values.js';

const MAX_FEATURES = 500;
const MAX_NAME = 256;

type Value = number | string | boolean;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const name = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME ? v : undefined;

/** Readable numbers: 4 significant digits is a typical value, not a fitted constant. */
const typical = (v: unknown): number =>
  typeof v === 'number' && Number.isFinite(v) ? Number(v.toPrecision(4)) : 0;

/** Epoch days as a date (`2021-03-04`). */
function dateOf(days: unknown, offset = 0): string {
  const ms =
    (typeof days === 'number' && Number.isFinite(days) ? Math.round(days) + offset : offset) * 86_400_000;
  const date = new Date(Math.min(Math.max(ms, -8.64e15), 8.64e15));
  return date.toISOString().slice(0, 10);
}

function featureValue(f: Record<string, unknown>): Value | undefined {
  switch (f.type) {
    case 'numeric':
      return typical(f.mean);
    case 'date':
      return dateOf(f.mean);
    case 'boolean':
      return false;
    case 'categorical': {
      const vocabulary = Array.isArray(f.vocabulary) ? f.vocabulary : [];
      const first = vocabulary.find((v): v is string => typeof v === 'string' && v !== MISSING_CATEGORY);
      return first !== undefined ? first.slice(0, MAX_NAME) : '';
    }
    default:
      return undefined;
  }
}

/** The instance from preprocess.json; undefined when the file is not one. */
export function instanceFromPreprocess(preprocess: unknown): Record<string, unknown> | undefined {
  if (!isRecord(preprocess) || !Array.isArray(preprocess.features)) return undefined;
  const row: Record<string, Value> = {};
  for (const f of preprocess.features.slice(0, MAX_FEATURES)) {
    if (!isRecord(f)) return undefined;
    const key = name(f.name);
    const value = featureValue(f);
    if (key === undefined || value === undefined) return undefined;
    row[key] = value;
  }
  const window = preprocess.window;
  if (!isRecord(window)) return row;
  // Forecasting: the target's observed values are inputs too, rows oldest first, one day apart.
  const size = Number.isSafeInteger(window.size) ? Math.min(Math.max(window.size as number, 1), 366) : 1;
  const target = isRecord(preprocess.target) ? preprocess.target : {};
  const targetName = name(target.name);
  const timeColumn = name(window.timeColumn);
  const timeFeature = preprocess.features.find((f) => isRecord(f) && f.name === timeColumn) as
    Record<string, unknown> | undefined;
  const history = Array.from({ length: size }, (_, i) => ({
    ...row,
    ...(targetName !== undefined && { [targetName]: typical(target.mean) }),
    ...(timeColumn !== undefined && {
      [timeColumn]: dateOf(timeFeature?.mean, i - size + 1),
    }),
  }));
  return { history };
}

/** The instance from artifact.json's `features` (your own trainer): zeros, empty strings, false. */
export function instanceFromDescriptor(descriptor: unknown): Record<string, unknown> | undefined {
  if (!isRecord(descriptor) || !Array.isArray(descriptor.features)) return undefined;
  const row: Record<string, Value> = {};
  for (const f of descriptor.features.slice(0, MAX_FEATURES)) {
    const key = isRecord(f) ? name(f.name) : undefined;
    if (!isRecord(f) || key === undefined) return undefined;
    row[key] = f.type === 'categorical' ? '' : f.type === 'boolean' ? false : 0;
  }
  return Object.keys(row).length > 0 ? row : undefined;
}

/** TF Serving's row format, pretty-printed for editing. */
export function sampleRequest(
  model: string,
  instance: Record<string, unknown>,
): { path: string; body: string } {
  return {
    path: `/v1/models/${encodeURIComponent(model)}:predict`,
    body: JSON.stringify({ instances: [instance] }, null, 2),
  };
}
