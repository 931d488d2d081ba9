/**
 * A nested config (a training spec, say) as a two-column markdown table for the TEXT tab, which
 * renders GitHub-style tables.
 */

/**
 * Leaf values of `value` keyed by path: `a.b`, `list[0].c`. Empty objects and arrays are kept as
 * `{}` / `[]` so they stay visible; undefined, functions and symbols are dropped, as JSON would.
 */
export function flattenConfig(value: unknown): [string, string][] {
  const rows: [string, string][] = [];
  const seen = new Set<object>();
  const visit = (node: unknown, path: string): void => {
    if (node === undefined || typeof node === 'function' || typeof node === 'symbol') return;
    if (node === null) {
      rows.push([path, 'null']);
    } else if (node instanceof Date) {
      rows.push([path, node.toISOString()]);
    } else if (typeof node === 'object') {
      if (seen.has(node)) {
        rows.push([path, '[circular]']);
        return;
      }
      seen.add(node);
      if (Array.isArray(node)) {
        if (node.length === 0) rows.push([path, '[]']);
        node.forEach((item, i) => visit(item, `${path}[${i}]`));
      } else {
        const entries = Object.entries(node);
        if (entries.length === 0) rows.push([path, '{}']);
        for (const [key, item] of entries) visit(item, path === '' ? key : `${path}.${key}`);
      }
      seen.delete(node);
    } else {
      rows.push([path, String(node)]);
    }
  };
  visit(value, '');
  return rows;
}

/**
 * Keeps a cell on one line and literal: `|` would end the cell, `*`, `_`, `[`, backticks and `\`
 * would format, and `<` would open HTML that TensorBoard's sanitizer strips.
 */
const escapeCell = (text: string): string =>
  text
    .replace(/\r?\n/g, ' ')
    .replace(/[\\`*_[\]|]/g, (char) => `\\${char}`)
    .replace(/</g, '&lt;');

export function markdownTable(
  rows: readonly (readonly [string, string])[],
  header: readonly [string, string] = ['key', 'value'],
): string {
  const line = ([key, value]: readonly [string, string]): string =>
    `| ${escapeCell(key)} | ${escapeCell(value)} |`;
  return [line(header), '| --- | --- |', ...rows.map(line)].join('\n');
}
