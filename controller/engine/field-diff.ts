/** Field-level differences between two JSON values, for the `fields` of updates. */
import { maskCredentials } from '../../resources/credential.js';
import type { FieldChange } from './change.js';

/**
 * Deep equality of JSON values: key order does not matter, and an `undefined` member is the same as
 * an absent one (as in the canonical JSON that spec hashes are made of). Allocation-free, because
 * a plan of thousands of resources compares every spec.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => sameValue(item, b[i]));
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  for (const key in x) if (x[key] !== undefined && !sameValue(x[key], y[key])) return false;
  for (const key in y) if (y[key] !== undefined && x[key] === undefined) return false;
  return true;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/** `spec` + `gate` -> `spec.gate`; keys that are not identifiers are quoted (`annotations["mlform/x"]`). */
export function joinPath(path: string, key: string): string {
  const segment = /^[A-Za-z_][\w-]*$/.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (!path) return segment;
  return segment.startsWith('[') ? `${path}${segment}` : `${path}.${segment}`;
}

/**
 * Leaf differences: objects are compared key by key (so `spec.gate.max` shows alone), arrays and
 * scalars as whole values (`network.layers: [64,32] -> [128,64]` reads better than per index).
 * Absent values are null, so every field survives JSON. Fields are for people (plan text and JSON,
 * saved plans), so values that look like credentials are masked (`***`); the comparison above
 * sees the real values.
 */
export function diffValues(before: unknown, after: unknown, path = ''): FieldChange[] {
  if (sameValue(before, after)) return [];
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((key) => diffValues(before[key], after[key], joinPath(path, key)));
  }
  return [{ path, before: maskCredentials(before ?? null), after: maskCredentials(after ?? null) }];
}
