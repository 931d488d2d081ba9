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
  // Plain loops and string concatenation: this runs for every resource on every plan.
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += value[i] === undefined ? 'null' : canonicalJson(value[i]);
    }
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  // Default sort compares UTF-16 code units, the order canonical JSON needs.
  const keys = Object.keys(record).sort();
  let out = '{';
  let first = true;
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) continue;
    if (!first) out += ',';
    out += `${JSON.stringify(key)}:${canonicalJson(member)}`;
    first = false;
  }
  return `${out}}`;
}

/** sha256 (hex) of the canonical JSON of a normalised spec: a run's identity. */
export const specHash = (normalizedSpec: unknown): string =>
  createHash('sha256').update(canonicalJson(normalizedSpec)).digest('hex');

/** Short form used in labels and names (`mlform-spec`), like a git short hash. */
export const shortHash = (hash: string): string => hash.slice(0, 12);
