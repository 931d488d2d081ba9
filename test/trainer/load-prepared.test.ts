/**
 * loadPrepared (issue 17 item 9): the source bytes are read and hashed once, the cache is asked by
 * that fingerprint, and the bytes are parsed only on a miss. The proof that a hit parses nothing:
 * a cache entry filed under the fingerprint of bytes that are not valid JSON is answered from the
 * cache, where parsing them would fail the run.
 */
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltinTrainer } from '../../resources/training-run.js';
import { loadTable } from '../../trainer/data/load-table.js';
import { loadPrepared } from '../../trainer/data/load-prepared.js';
import { prepareData } from '../../trainer/data/prepare.js';
import { preparedKey } from '../../trainer/data/prepared-cache.js';

const examples = join(import.meta.dirname, '../../examples');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-load-prepared-'));
  await copyFile(join(examples, 'data/cars.json'), join(dir, 'cars.json'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const cars = (uri: string): BuiltinTrainer =>
  ({
    task: 'regression',
    seed: 3,
    data: { uri, target: 'Miles_per_Gallon', validationSplit: 0.2, maxCategories: 4 },
  }) as unknown as BuiltinTrainer;

describe('loadPrepared', () => {
  it('without a cache: what loadTable + prepareData give, and the same table', async () => {
    const builtin = cars('file://cars.json');
    const table = await loadTable(builtin.data.uri, { baseDir: dir });
    const loaded = await loadPrepared(builtin, { baseDir: dir });
    expect(loaded.cached).toBe(false);
    expect(loaded.data).toEqual(prepareData(builtin, table));
    expect(loaded.source).toEqual({ sha256: table.sha256, bytes: table.bytes });
    expect((await loaded.table()).rows).toEqual(table.rows);
  });

  it('a miss writes the entry; a hit returns the same data', async () => {
    const cache = join(dir, 'cache-a');
    const builtin = cars('file://cars.json');
    const first = await loadPrepared(builtin, { baseDir: dir, cacheDir: cache });
    const second = await loadPrepared(builtin, { baseDir: dir, cacheDir: cache });
    expect([first.cached, second.cached]).toEqual([false, true]);
    expect(second.data).toEqual(first.data);
    // The rows are still there on a hit (statistics.json), parsed from the bytes read.
    expect((await second.table()).rows).toEqual((await first.table()).rows);
  });

  it('a hit does not parse the data', async () => {
    const cache = join(dir, 'cache-b');
    const builtin = cars('file://cars.json');
    const good = await loadPrepared(builtin, { baseDir: dir, cacheDir: cache });
    const [goodEntry] = await readdir(cache);
    const goodKey = preparedKey(builtin, good.source.sha256);
    expect(goodEntry).toBe(`${goodKey}.bin`);

    // Bytes that do not parse, and the good entry filed (header included) under their key.
    const broken = Buffer.from('[{"Miles_per_Gallon": 18, "Cylinders": 8}, this is not JSON');
    await writeFile(join(dir, 'broken.json'), broken);
    const brokenBuiltin = cars('file://broken.json');
    const brokenKey = preparedKey(brokenBuiltin, createHash('sha256').update(broken).digest('hex'));
    const entry = await readFile(join(cache, goodEntry));
    const at = entry.indexOf(goodKey);
    expect(at).toBeGreaterThan(0);
    entry.write(brokenKey, at, 'latin1');
    await writeFile(join(cache, `${brokenKey}.bin`), entry, { mode: 0o600 });

    const hit = await loadPrepared(brokenBuiltin, { baseDir: dir, cacheDir: cache });
    expect(hit.cached).toBe(true);
    expect(hit.data).toEqual(good.data);
    // Parsing is what fails, and only when something asks for the rows.
    await expect(hit.table()).rejects.toThrow(/not valid JSON/);
    // statistics.json's feature statistics need rows: not kept yet, they parse (and fail) too.
    await expect(hit.featureStatistics()).rejects.toThrow(/not valid JSON/);

    // Kept beside the entry by the run that computed them, a hit reads them instead.
    const statistics = await good.featureStatistics();
    expect(Object.keys(statistics)).toEqual(good.data.preprocess.features.map((f) => f.name));
    const companion = (await readFile(join(cache, `${goodKey}.features.json`), 'utf8')).replace(
      goodKey,
      brokenKey,
    );
    await writeFile(join(cache, `${brokenKey}.features.json`), companion, { mode: 0o600 });
    const again = await loadPrepared(brokenBuiltin, { baseDir: dir, cacheDir: cache });
    expect(await again.featureStatistics()).toEqual(statistics);
    // The same as computed from the rows, through JSON.
    const fresh = await loadPrepared(builtin, { baseDir: dir });
    expect(JSON.stringify(await fresh.featureStatistics())).toBe(JSON.stringify(statistics));
    // Without the entry, the same call parses and fails.
    const empty = join(dir, 'cache-empty');
    await mkdir(empty, { mode: 0o700 });
    await expect(loadPrepared(brokenBuiltin, { baseDir: dir, cacheDir: empty })).rejects.toThrow(
      /not valid JSON/,
    );
  });

  it('a parse error on a miss is the run’s error, not a cache message', async () => {
    const cache = join(dir, 'cache-c');
    await writeFile(join(dir, 'bad.json'), '{"not": "an array"}');
    const messages: string[] = [];
    await expect(
      loadPrepared(cars('file://bad.json'), { baseDir: dir, cacheDir: cache, log: (m) => messages.push(m) }),
    ).rejects.toThrow(/expected a JSON array/);
    expect(messages).toEqual([]);
  });
});
