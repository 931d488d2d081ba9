/**
 * Issue 11, point 5, as a property: whatever the anchors are called (any Unicode letters, astral
 * planes, combining marks) and however the bomb is laid out (flow or block, sequences or
 * mappings, merge keys), loading returns diagnostics: it never throws, stays within a time and a
 * heap bound, and reports `yaml-alias-expansion` exactly when the aliases expand beyond the cap.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, expect, it } from 'vitest';
import { loadManifests } from '../../manifests/load.js';

const dir = mkdtempSync(join(tmpdir(), 'mlform-sec-yaml-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }));

/** Code points YAML allows in an anchor name that do not also end or start something else. */
const anchorCodePoint = fc.oneof(
  fc.constantFrom(...'abcxyzABCXYZ0189_'.split('').map((c) => c.codePointAt(0) as number)),
  fc.integer({ min: 0x00c0, max: 0x024f }), // Latin with diacritics
  fc.integer({ min: 0x0300, max: 0x036f }), // combining marks (also first: YAML does not mind)
  fc.integer({ min: 0x0370, max: 0x03ff }), // Greek
  fc.integer({ min: 0x0400, max: 0x04ff }), // Cyrillic
  fc.integer({ min: 0x4e00, max: 0x9fff }), // CJK
  fc.integer({ min: 0xe000, max: 0xf8ff }), // private use
  fc.integer({ min: 0x10000, max: 0x10ffff }), // astral: emoji, historic scripts, planes 15-16
);
const isYamlSpaceLike = (cp: number) => /\s/u.test(String.fromCodePoint(cp)) || cp === 0xfeff;
const anchorName = fc
  .array(anchorCodePoint, { minLength: 1, maxLength: 6 })
  .filter((cps) => !cps.some(isYamlSpaceLike))
  .map((cps) => String.fromCodePoint(...cps));

type Layout = 'flow-seq' | 'block-seq' | 'flow-map' | 'merge';

/**
 * `levels` anchors, each holding `fanOut` aliases of the one before: `fanOut ** levels` leaves
 * once expanded. The names are distinct (a redefined anchor would change what the aliases mean).
 */
function bomb(names: string[], fanOut: number, layout: Layout): string {
  const lines = ['apiVersion: mlform/v1', 'kind: RegisteredModel', 'metadata:', '  name: fuzz', '  labels:'];
  const leaves = Array.from({ length: fanOut }, (_, i) => `v${i}: "x"`).join(', ');
  // Merge keys take mappings; the other layouts start from a list of strings.
  lines.push(
    `    l0: &${names[0]} ${layout === 'merge' ? `{${leaves}}` : `[${leaves.replace(/v\d+: /g, '')}]`}`,
  );
  for (let level = 1; level < names.length; level++) {
    const alias = `*${names[level - 1]}`;
    const key = `    l${level}: &${names[level]}`;
    if (layout === 'flow-seq') lines.push(`${key} [${Array(fanOut).fill(alias).join(', ')}]`);
    else if (layout === 'block-seq') lines.push(key, ...Array<string>(fanOut).fill(`      - ${alias}`));
    else if (layout === 'flow-map')
      lines.push(`${key} {${Array.from({ length: fanOut }, (_, i) => `k${i}: ${alias}`).join(', ')}}`);
    else
      lines.push(key, ...Array.from({ length: fanOut }, (_, i) => `      k${i}: {<<: ${alias}, own${i}: 1}`));
  }
  lines.push('spec: {}', '');
  return lines.join('\n');
}

let caseNumber = 0;
async function load(text: string) {
  const file = join(dir, `case-${caseNumber++}.yaml`);
  writeFileSync(file, text);
  const heapBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  const result = await loadManifests([file]);
  const ms = performance.now() - started;
  const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
  rmSync(file);
  return { ...result, ms, heapGrowth };
}

it('loads alias bombs with arbitrary Unicode anchor names within bounds, reporting the expansion', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(anchorName, { minLength: 2, maxLength: 10 }),
      fc.integer({ min: 2, max: 12 }),
      fc.constantFrom<Layout>('flow-seq', 'block-seq', 'flow-map', 'merge'),
      async (names, fanOut, layout) => {
        // Expanded leaves are fanOut ** (levels - 1) times the fanOut scalars of level 0; the
        // parser's cap (100 alias resolutions, weighted by what they hold) sits between these.
        const expansion = fanOut ** (names.length - 1);
        fc.pre(expansion <= 30 || expansion >= 2_000);
        const { diagnostics, ms, heapGrowth } = await load(bomb(names, fanOut, layout));
        expect(ms).toBeLessThan(2_000);
        expect(heapGrowth).toBeLessThan(64 * 1024 * 1024);
        const alias = diagnostics.find((d) => d.code === 'yaml-alias-expansion');
        if (expansion >= 2_000) {
          expect(alias, 'an expansion over the cap is reported').toBeDefined();
          expect(alias?.file).toMatch(/case-\d+\.yaml$/);
          expect(alias?.line).toBeGreaterThanOrEqual(6);
        } else {
          expect(alias, 'a small expansion is not a bomb').toBeUndefined();
          // Labels must be strings: the schema still has its say, at a position.
          expect(diagnostics.some((d) => d.severity === 'error' && d.line !== undefined)).toBe(true);
        }
        expect(
          diagnostics.some((d) => d.code.startsWith('yaml-unresolved') || d.code === 'file-unloadable'),
        ).toBe(false);
      },
    ),
    { numRuns: 100, seed: Number(process.env.FC_SEED ?? Date.now() % 2 ** 31) },
  );
}, 120_000);

it('never throws on arbitrary text made of YAML punctuation and Unicode names (no depth or alias crash)', async () => {
  const piece = fc.oneof(
    fc.constantFrom('[', ']', '{', '}', '- ', '? ', ': ', ', ', '\n', '  ', '<<: ', '"', "'", '#'),
    anchorName.map((n) => `&${n} `),
    anchorName.map((n) => `*${n}`),
  );
  await fc.assert(
    fc.asyncProperty(
      fc.array(piece, { maxLength: 400 }),
      fc.integer({ min: 1, max: 200 }),
      async (pieces, repeat) => {
        const text = `apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata: {name: x}\nspec:\n  a: ${pieces.join('').repeat(repeat)}\n`;
        const { ms, diagnostics } = await load(text);
        expect(ms).toBeLessThan(2_000);
        expect(diagnostics.some((d) => d.code === 'file-unloadable')).toBe(false);
      },
    ),
    { numRuns: 80 },
  );
}, 120_000);
