import { createHash } from 'node:crypto';

/**
 * Canonical JSON: object keys sorted, no whitespace, `undefined` members dropped. Two specs that mean
 * the same (key order, defaults written out or not — defaults are applied before hashing) give the
 * same text, hence the same hash.
 *
 * The walk keeps its work on a list (text to emit, or a value to expand), not the call stack: the
 * value comes from a manifest or a saved plan, and its depth is the writer's choice.
 */
export function canonicalJson(value: unknown): string {
  let out = '';
  // Popped from the end: a value's parts are pushed last part first.
  const pending: ({ text: string } | { value: unknown })[] = [{ value }];
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    if ('text' in item) {
      out += item.text;
      continue;
    }
    const v = item.value;
    if (v === null || typeof v !== 'object') {
      if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`cannot hash non-finite number ${v}`);
      out += JSON.stringify(v) ?? 'null';
      continue;
    }
    if (Array.isArray(v)) {
      pending.push({ text: ']' });
      for (let i = v.length - 1; i >= 0; i--) {
        pending.push(v[i] === undefined ? { text: 'null' } : { value: v[i] as unknown });
        if (i > 0) pending.push({ text: ',' });
      }
      out += '[';
      continue;
    }
    const record = v as Record<string, unknown>;
    // Default sort compares UTF-16 code units, the order canonical JSON needs.
    const keys = Object.keys(record)
      .filter((key) => record[key] !== undefined)
      .sort();
    pending.push({ text: '}' });
    for (let i = keys.length - 1; i >= 0; i--) {
      pending.push({ value: record[keys[i]] });
      pending.push({ text: `${i > 0 ? ',' : ''}${JSON.stringify(keys[i])}:` });
    }
    out += '{';
  }
  return out;
}

/** sha256 (hex) of the canonical JSON of a normalised spec: a run's identity. */
export const specHash = (normalizedSpec: unknown): string =>
  createHash('sha256').update(canonicalJson(normalizedSpec)).digest('hex');

/** Short form used in labels and names (`mlform-spec`), like a git short hash. */
export const shortHash = (hash: string): string => hash.slice(0, 12);
