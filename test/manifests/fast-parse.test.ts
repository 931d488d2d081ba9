import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fastParse } from '../../manifests/fast-parse.js';
import { parseYamlFile } from '../../manifests/yaml-document.js';

/** The fast path must read exactly what the slow path reads: same values, same document starts. */
function sameAsSlowPath(text: string): void {
  const fast = fastParse(text);
  const slow = parseYamlFile(text, 'x.yaml');
  expect(fast).toBeDefined();
  expect(fast?.map((d) => d.value)).toEqual(slow.documents.map((d) => d.value));
  expect(fast?.map((d) => [d.line, d.col])).toEqual(slow.documents.map((d) => [d.line, d.col]));
}

describe('fast path parsing', () => {
  const dir = 'examples/quickstart';
  // The manifests only: after the README's quickstart the folder also holds its `.mlform/` state.
  for (const name of readdirSync(dir).filter((n) => /\.ya?ml$/.test(n))) {
    it(`reads ${dir}/${name} like the slow path`, () =>
      sameAsSlowPath(readFileSync(join(dir, name), 'utf8')));
  }

  it('agrees on YAML 1.2 core scalars, merge keys, flow style and document markers', () => {
    sameAsSlowPath(
      [
        '# leading comment',
        'a: yes',
        'b: 0o17',
        'c: 0x1F',
        'd: .inf',
        'e: ~',
        'f: 2012-01-01',
        'g: "quoted: text"',
        "h: 'single'",
        'i: [1, 2.5, -3e2, true, null]',
        'j: {k: v, <<: {m: 1}}',
        'k: |',
        '  block',
        '  text',
        '--- # second document',
        'x: 1',
        '---   {y: 2}',
      ].join('\n'),
    );
  });

  it('leaves files with aliases, empty documents, custom tags or errors to the slow path', () => {
    expect(fastParse('a: &x 1\nb: *x\n')).toBeUndefined();
    expect(fastParse('---\n---\na: 1\n')).toBeUndefined();
    expect(fastParse('a: !custom 1\n')).toBeUndefined();
    expect(fastParse('a: 1\na: 2\n')).toBeUndefined();
    expect(fastParse('')).toBeUndefined();
    // A cron expression's stars are not aliases.
    expect(fastParse('cron: "*/5 * * * *"\nb: 0 9 * * 1\n')).toBeDefined();
  });

  it('never expands an alias, whatever its anchor is called: any & sends the file to the capped path', () => {
    for (const name of ['x', 'ä', '笑', '😂', 'a\u0301', '𝔞']) {
      expect(fastParse(`a: &${name} [1, 2]\nb: *${name}\n`)).toBeUndefined();
      // An alias without an anchor is an error for js-yaml too: never a value here.
      expect(fastParse(`b: *${name}\n`)).toBeUndefined();
    }
    // A & in a string costs only the slower path; the values are the same there.
    expect(fastParse('a: "R&D"\n')).toBeUndefined();
    expect(parseYamlFile('a: "R&D"\n', 'x.yaml').documents[0].value).toEqual({ a: 'R&D' });
  });

  it('leaves files nested deeper than the cap to the slow path, which reports where', () => {
    const nested = (depth: number) => `a: ${'['.repeat(depth - 1)}1${']'.repeat(depth - 1)}\n`;
    expect(fastParse(nested(64))).toBeDefined();
    expect(fastParse(nested(65))).toBeUndefined();
    expect(parseYamlFile(nested(64), 'x.yaml').diagnostics).toEqual([]);
    expect(parseYamlFile(nested(65), 'x.yaml').diagnostics).toMatchObject([
      // The root mapping is level 1: the 64th bracket (column 67) opens level 65.
      { code: 'yaml-too-deep', line: 1, col: 67 },
    ]);
  });
});
