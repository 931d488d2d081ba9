/**
 * Field-level differences between two JSON values, for the `fields` of every change. Both walks keep
 * their work on a list, not the call stack (the values come from manifests and saved plans), and
 * read members by own key only: a label or annotation named `constructor` that is absent on one
 * side is absent, not `Object.prototype.constructor` (issue 18, item 11c).
 */
import { maskCredentials } from '../../resources/credential.js';
import { isPlainRecord, mapJsonLeaves } from '../../resources/json-walk.js';
import { ownValue } from '../../resources/own-property.js';
import type { FieldChange } from './change.js';

/**
 * Deep equality of JSON values: key order does not matter, and an `undefined` member is the same as
 * an absent one (as in the canonical JSON that spec hashes are made of). Identical values return
 * at once without allocating, because a plan of thousands of resources compares every spec.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  const pending: [unknown, unknown][] = [[a, b]];
  for (let pair = pending.pop(); pair !== undefined; pair = pending.pop()) {
    const [x, y] = pair;
    if (x === y) continue;
    if (x === null || y === null || typeof x !== 'object' || typeof y !== 'object') return false;
    if (Array.isArray(x) || Array.isArray(y)) {
      if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) pending.push([x[i], y[i]]);
      continue;
    }
    const xr = x as Record<string, unknown>;
    const yr = y as Record<string, unknown>;
    for (const key of Object.keys(xr)) if (xr[key] !== undefined) pending.push([xr[key], ownValue(yr, key)]);
    for (const key of Object.keys(yr))
      if (yr[key] !== undefined && ownValue(xr, key) === undefined) return false;
  }
  return true;
}

/** `spec` + `gate` -> `spec.gate`; keys that are not identifiers are quoted (`annotations["mlform/x"]`). */
export function joinPath(path: string, key: string): string {
  const segment = /^[A-Za-z_][\w-]*$/.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (!path) return segment;
  return segment.startsWith('[') ? `${path}${segment}` : `${path}.${segment}`;
}

/** Strings longer than this show their start and end (a script, a description, a long URI). */
export const LONG_STRING = 120;
const KEEP_HEAD = 60;
const KEEP_TAIL = 40;

/** `abc…xyz (300 chars)`: both ends stay, as two long values often differ at one end only. */
export function shortenString(value: string): string {
  if (value.length <= LONG_STRING) return value;
  return `${value.slice(0, KEEP_HEAD)}…${value.slice(-KEEP_TAIL)} (${value.length} chars)`;
}

/** What a field shows: credentials masked, long strings shortened, absent as null. */
export function displayValue(value: unknown): unknown {
  return mapJsonLeaves(maskCredentials(value ?? null), (v) => (typeof v === 'string' ? shortenString(v) : v));
}

/**
 * Leaf differences: objects are compared key by key (so `spec.gate.max` shows alone), and lists of
 * the same length element by element (`network.layers[1]: 32 -> 64`), an element being diffed like
 * any value. Lists whose length changed show whole (`[64,32] -> [128,64,32]`): an insertion would
 * shift every later index and read as a change of each. Absent values are null, so every field
 * survives JSON. Fields are for people (plan text and JSON, saved plans), so values that look like
 * credentials are masked (`***`) and long strings shortened; the comparison above sees the real
 * values. Fields come in key and index order, depth first.
 */
export function diffValues(before: unknown, after: unknown, path = ''): FieldChange[] {
  const out: FieldChange[] = [];
  const pending: { before: unknown; after: unknown; path: string }[] = [{ before, after, path }];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    if (sameValue(item.before, item.after)) continue;
    const b = item.before;
    const a = item.after;
    if (isPlainRecord(b) && isPlainRecord(a)) {
      const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort();
      // Pushed last key first, so that the first key is diffed first.
      for (let i = keys.length - 1; i >= 0; i--) {
        pending.push({
          before: ownValue(b, keys[i]),
          after: ownValue(a, keys[i]),
          path: joinPath(item.path, keys[i]),
        });
      }
      continue;
    }
    if (Array.isArray(b) && Array.isArray(a) && a.length === b.length) {
      for (let i = a.length - 1; i >= 0; i--)
        pending.push({ before: b[i], after: a[i], path: `${item.path}[${i}]` });
      continue;
    }
    out.push({ path: item.path, before: displayValue(b), after: displayValue(a) });
  }
  return out;
}

/** A member whose JSON is longer than this shows as its own members instead (one line each). */
const WHOLE_LINE = 100;

/**
 * The fields of a resource that appears (`+`, before null) or goes (`-`, after null): its members
 * under `path`, each whole while it fits a line, else by its own members (`spec.trainer.builtin.data`).
 * Every leaf of a new TrainingRun would be some thirty lines; this shows a dozen that read as the
 * manifest does. Lists stay whole. Fields come in key order, depth first.
 */
export function wholeFields(value: unknown, path: string, side: 'create' | 'delete'): FieldChange[] {
  const out: FieldChange[] = [];
  const pending: { value: unknown; path: string }[] = [{ value, path }];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const v = item.value;
    if (isPlainRecord(v) && (item.path === path || JSON.stringify(v).length > WHOLE_LINE)) {
      const keys = Object.keys(v)
        .filter((key) => ownValue(v, key) !== undefined)
        .sort();
      for (let i = keys.length - 1; i >= 0; i--) {
        pending.push({ value: ownValue(v, keys[i]), path: joinPath(item.path, keys[i]) });
      }
      continue;
    }
    const shown = displayValue(v);
    out.push(
      side === 'create'
        ? { path: item.path, before: null, after: shown }
        : { path: item.path, before: shown, after: null },
    );
  }
  return out;
}
