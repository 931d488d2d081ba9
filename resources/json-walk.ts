/**
 * Walks over JSON-like values (manifest specs, labels, saved plans, status documents) with an
 * explicit stack, never recursion: how deep such a value goes is up to whoever wrote it, and a
 * recursive walk turns depth into a `RangeError` (issue 18, item 4). Keys are copied as own data
 * properties, so a key named `__proto__` stays a key instead of replacing the copy's prototype.
 */

export const isPlainRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * A copy of `value` in which every value that is not an array or object went through `leaf`, and
 * every object for which `replace` returns something other than undefined is replaced by that
 * (and not walked further).
 */
export function mapJsonLeaves(
  value: unknown,
  leaf: (v: unknown) => unknown,
  replace?: (record: Record<string, unknown>) => unknown,
): unknown {
  const copyOf = (v: unknown, pending: [object, unknown[] | Record<string, unknown>][]): unknown => {
    if (Array.isArray(v)) {
      const copy: unknown[] = [];
      pending.push([v, copy]);
      return copy;
    }
    if (isPlainRecord(v)) {
      const replaced = replace?.(v);
      if (replaced !== undefined) return replaced;
      const copy: Record<string, unknown> = {};
      pending.push([v, copy]);
      return copy;
    }
    return leaf(v);
  };
  const pending: [object, unknown[] | Record<string, unknown>][] = [];
  const root = copyOf(value, pending);
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    const [source, target] = item;
    if (Array.isArray(source)) {
      for (const v of source) (target as unknown[]).push(copyOf(v, pending));
      continue;
    }
    for (const [k, v] of Object.entries(source)) {
      Object.defineProperty(target, k, {
        value: copyOf(v, pending),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  return root;
}
