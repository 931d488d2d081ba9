import { createHash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted, no whitespace, `undefined` members dropped. Two specs that mean
 * the same (key order, defaults written out or not — defaults are applied before hashing) give the
 * same text, hence the same hash.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value))
      throw new Error(`cannot hash non-finite number ${value}`);
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** sha256 (hex) of the canonical JSON of a normalised spec: a run's identity. */
export const specHash = (normalizedSpec: unknown): string =>
  createHash('sha256').update(canonicalJson(normalizedSpec)).digest('hex');

/** Short form used in labels and names (`mlform-spec`), like a git short hash. */
export const shortHash = (hash: string): string => hash.slice(0, 12);
