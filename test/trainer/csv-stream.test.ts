/**
 * Large CSV files read in chunks (trainer/data/csv-stream.ts): hashed and parsed as they are read,
 * the same numbers and fingerprint as reading them whole, whatever the chunk boundaries cut; a
 * file that is not plain numbers is left to the whole read. Through loadPrepared: the same
 * prepared data with and without the cache, the same statistics.json features, and a file that
 * changes between the fingerprint and the parse is an error, never a mismatched cache entry.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltinTrainer } from '../../resources/training-run.js';
import { parsePlainCsv } from '../../trainer/data/csv-columns.js';
import { hashFile, streamNumericCsv } from '../../trainer/data/csv-stream.js';
import { loadTable } from '../../trainer/data/load-table.js';
import { loadPrepared } from '../../trainer/data/load-prepared.js';
import { prepareData } from '../../trainer/data/prepare.js';
import { referenceFeatures } from '../../monitoring/reference.js';
import { Rng } from '../../trainer/training/rng.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-csv-stream-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const TRICKY = [
  '\uFEFFa,b,c',
  '1,-0.5,NA',
  '',
  '+2,.25,',
  '3.,1e-3,NaN',
  ' 4 ,12345678901234567890,null',
  '5,-0,1E+2',
  '6,0.1234567890123456789,1e5',
];

describe('streamNumericCsv', () => {
  for (const [name, text] of Object.entries({
    'LF, with a last line break': `${TRICKY.join('\n')}\n`,
    'CRLF, without one': TRICKY.join('\r\n'),
    'empty lines first and last': `\n\r\n${TRICKY.join('\n')}\n\n`,
  })) {
    for (const chunk of [1, 3, 7, 16, 64, 4096]) {
      it(`${name}, ${chunk}-byte chunks: the whole read's numbers and the file's sha256`, async () => {
        const path = await file('tricky.csv', text);
        const streamed = streamNumericCsv(path, chunk)!;
        const whole = parsePlainCsv(text)!;
        expect(streamed.header).toEqual(whole.header);
        expect(streamed.count).toBe(whole.count);
        for (const column of whole.header) {
          expect(Array.from(streamed.numeric.get(column)!), column).toEqual(
            Array.from(whole.numeric.get(column)!),
          );
        }
        expect(streamed.sha256).toBe(sha256(text));
        expect(streamed.bytes).toBe(Buffer.byteLength(text));
        expect(hashFile(path, chunk)).toEqual({ sha256: sha256(text), bytes: Buffer.byteLength(text) });
      });
    }
  }

  it('reads 40,000 rows in 64 kB chunks as the whole read does', async () => {
    const rng = new Rng(5);
    const lines = ['x,y,z'];
    for (let i = 0; i < 40_000; i++)
      lines.push(`${rng.next().toFixed(6)},${i},${(rng.next() * 1e4).toFixed(2)}`);
    const text = lines.join('\n');
    const streamed = streamNumericCsv(await file('large.csv', text), 65_536)!;
    const whole = parsePlainCsv(text)!;
    expect(streamed.count).toBe(40_000);
    for (const column of ['x', 'y', 'z'])
      expect(Array.from(streamed.numeric.get(column)!)).toEqual(Array.from(whole.numeric.get(column)!));
  });

  it('leaves text cells, quotes, ragged records, lone CRs and empty files to the whole read', async () => {
    // The text cell comes after many chunks: what was scanned is dropped.
    const late = ['a,b', ...Array.from({ length: 500 }, (_, i) => `${i},1`), 'x,2'].join('\n');
    const cases = [late, 'a,b\n"1",2\n', 'a,b\n1,2\n3,4,5\n', 'a,b\r1,2\r', '', '\n\n'];
    for (const text of cases) expect(streamNumericCsv(await file('not.csv', text), 64), text).toBeUndefined();
  });
});

describe('loadPrepared of a CSV large enough to stream', () => {
  let builtin: BuiltinTrainer;
  let text: string;
  beforeAll(async () => {
    // Over STREAM_FROM (4 MiB): 70,000 rows of 8 columns, a few values missing.
    const rng = new Rng(11);
    const lines = ['f0,f1,f2,f3,f4,f5,f6,y'];
    for (let i = 0; i < 70_000; i++) {
      const row = Array.from({ length: 7 }, () =>
        rng.next() < 0.01 ? '' : (rng.next() * 200 - 100).toFixed(5),
      );
      lines.push(`${row.join(',')},${(rng.next() * 50).toFixed(4)}`);
    }
    text = `${lines.join('\n')}\n`;
    expect(Buffer.byteLength(text)).toBeGreaterThan(4 * 2 ** 20);
    await writeFile(join(dir, 'big.csv'), text);
    builtin = {
      task: 'regression',
      seed: 7,
      data: { uri: 'file://big.csv', target: 'y', validationSplit: 0.2, maxCategories: 8 },
    } as unknown as BuiltinTrainer;
  });

  it('gives what loadTable + prepareData give, with and without the cache, and the same statistics', async () => {
    const table = await loadTable(builtin.data.uri, { baseDir: dir });
    const expected = prepareData(builtin, table);
    const cold = await loadPrepared(builtin, { baseDir: dir });
    const cache = join(dir, 'cache');
    const miss = await loadPrepared(builtin, { baseDir: dir, cacheDir: cache });
    const hit = await loadPrepared(builtin, { baseDir: dir, cacheDir: cache });
    expect([cold.cached, miss.cached, hit.cached]).toEqual([false, false, true]);
    for (const loaded of [cold, miss, hit]) {
      expect(loaded.data).toEqual(expected);
      expect(loaded.source).toEqual({ sha256: sha256(text), bytes: Buffer.byteLength(text) });
    }
    const features = expected.preprocess.features.map((f) => ({ name: f.name, type: 'numeric' as const }));
    const reference = referenceFeatures(table.rows, expected.train.rowIndex!, features);
    expect(await cold.featureStatistics()).toEqual(reference);
    expect(await miss.featureStatistics()).toEqual(reference);
    // Row objects, when asked for, are the file's cells as text.
    expect((await cold.table()).rows).toEqual(table.rows);
  });

  it('refuses a file that changed between its fingerprint and its parse', async () => {
    const cache = join(dir, 'cache-changed');
    await loadPrepared(builtin, { baseDir: dir, cacheDir: cache });
    const hit = await loadPrepared(builtin, { baseDir: dir, cacheDir: cache });
    expect(hit.cached).toBe(true);
    // On a hit the table is parsed only when asked, from a second read: of other bytes now.
    await writeFile(join(dir, 'big.csv'), `${text}1,2,3,4,5,6,7,8\n`);
    try {
      await expect(hit.table()).rejects.toThrow('changed while it was being read');
    } finally {
      await writeFile(join(dir, 'big.csv'), text);
    }
  });
});
