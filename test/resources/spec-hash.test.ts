import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { canonicalJson, specHash } from '../../resources/spec-hash.js';
import { loadManifests, type LoadedResource } from '../../manifests/load.js';
import { mulberry32 } from '../../trainer/data/random.js';

const SEED = 20261122;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The same value with every object's keys in a different (seeded) order. */
function shuffleKeys(value: Json, random: () => number): Json {
  if (Array.isArray(value)) return value.map((v) => shuffleKeys(v, random));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [entries[i], entries[j]] = [entries[j], entries[i]];
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, shuffleKeys(v, random)]));
}

/** Every path to a leaf (scalar) value. */
function leafPaths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leafPaths(v, [...prefix, i]));
  if (value !== null && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
  return [prefix];
}

function withLeaf(value: Json, path: (string | number)[], change: (leaf: Json) => Json): Json {
  if (path.length === 0) return change(value);
  const [head, ...rest] = path;
  if (Array.isArray(value)) return value.map((v, i) => (i === head ? withLeaf(v, rest, change) : v));
  const obj = value as { [key: string]: Json };
  return { ...obj, [head]: withLeaf(obj[head as string], rest, change) };
}

const changed = (leaf: Json): Json =>
  // Halving is exact and always representable (adding 1 to 1e16 is not).
  typeof leaf === 'number'
    ? leaf === 0
      ? 1
      : leaf / 2
    : typeof leaf === 'boolean'
      ? !leaf
      : typeof leaf === 'string'
        ? `${leaf}x`
        : 0;

const mulberry = mulberry32;

const jsonObject = fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 4 })) as fc.Arbitrary<{
  [key: string]: Json;
}>;

describe('canonical JSON and the spec hash (property tests)', () => {
  it('is unchanged by key order', () => {
    fc.assert(
      fc.property(jsonObject, fc.integer(), (value, seed) => {
        expect(specHash(shuffleKeys(value, mulberry(seed)))).toBe(specHash(value));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('changes when any leaf value changes', () => {
    fc.assert(
      fc.property(
        jsonObject.filter((v) => leafPaths(v).length > 0),
        fc.nat(),
        (value, pick) => {
          const paths = leafPaths(value);
          const path = paths[pick % paths.length];
          expect(specHash(withLeaf(value, path, changed))).not.toBe(specHash(value));
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('drops undefined members and sorts keys', () => {
    expect(canonicalJson({ b: 1, a: [1, { d: undefined, c: 'x' }] })).toBe('{"a":[1,{"c":"x"}],"b":1}');
  });
});

describe('spec hash of real manifests', () => {
  let dir: string;
  let quickstart: LoadedResource[];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mlform-hash-'));
    const result = await loadManifests([resolve('examples/quickstart')]);
    expect(result.diagnostics).toEqual([]);
    quickstart = result.desired.resources;
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const reload = async (name: string, documents: unknown[]): Promise<LoadedResource[]> => {
    // Below a folder with a .git entry (the tree root), so that the quickstart's ../data is inside.
    await mkdir(join(dir, '.git'), { recursive: true });
    const file = join(dir, 'quickstart', `${name}.yaml`);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, documents.map((d) => stringify(d)).join('---\n'));
    const { desired, diagnostics } = await loadManifests([file]);
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    return desired.resources;
  };

  it('writing the defaults out explicitly, in any key order, keeps every hash', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer(), async (seed) => {
        const random = mulberry(seed);
        // The normalised manifests carry every default: write them out, keys shuffled.
        const docs = quickstart.map((r) => shuffleKeys(r.manifest as unknown as Json, random));
        const again = await reload(`explicit-${run++}`, docs);
        expect(Object.fromEntries(again.map((r) => [r.address, r.specHash]))).toEqual(
          Object.fromEntries(quickstart.map((r) => [r.address, r.specHash])),
        );
      }),
      { seed: SEED, numRuns: 15 },
    );
  });

  it('changes when any value of a normalised spec changes', () => {
    for (const r of quickstart) {
      const spec = r.manifest.spec as unknown as Json;
      for (const path of leafPaths(spec)) {
        expect(specHash(withLeaf(spec, path, changed)), `${r.address} ${path.join('.')}`).not.toBe(
          r.specHash,
        );
      }
    }
  });
});
