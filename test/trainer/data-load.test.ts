import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadTable } from '../../trainer/data/load-table.js';
import { setDefaultGcsStore, type ObjectStore } from '../../artifact/storage.js';

const examples = join(import.meta.dirname, '../../examples');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-data-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const write = async (name: string, text: string): Promise<string> => {
  await writeFile(join(dir, name), text);
  return `file://${name}`;
};

describe('loadTable', () => {
  it('reads JSON arrays relative to the manifest folder, with a sha256 of the raw bytes', async () => {
    const table = await loadTable('file://data/cars.json', { baseDir: examples });
    expect(table.rows).toHaveLength(406);
    expect(table.columns).toEqual([
      'Name',
      'Miles_per_Gallon',
      'Cylinders',
      'Displacement',
      'Horsepower',
      'Weight_in_lbs',
      'Acceleration',
      'Year',
      'Origin',
    ]);
    const raw = await readFile(join(examples, 'data/cars.json'));
    expect(table.sha256).toBe(createHash('sha256').update(raw).digest('hex'));
    expect(table.bytes).toBe(raw.length);
  });

  it('reads CSV with a header, keeping values as strings', async () => {
    const table = await loadTable('file://data/seattle-weather.csv', { baseDir: examples });
    expect(table.rows).toHaveLength(1461);
    expect(table.columns).toEqual(['date', 'precipitation', 'temp_max', 'temp_min', 'wind', 'weather']);
    expect(table.rows[0]).toEqual({
      date: '2012-01-01',
      precipitation: '0.0',
      temp_max: '12.8',
      temp_min: '5.0',
      wind: '4.7',
      weather: 'drizzle',
    });
  });

  it('reads JSON Lines, skipping blank lines; columns are the union in order of appearance', async () => {
    const uri = await write('rows.jsonl', '{"a":1}\n\n{"a":2,"b":"x"}\n');
    const table = await loadTable(uri, { baseDir: dir });
    expect(table.rows).toEqual([{ a: 1 }, { a: 2, b: 'x' }]);
    expect(table.columns).toEqual(['a', 'b']);
  });

  it('takes the format from the option over the extension, and strips a byte order mark', async () => {
    const uri = await write('data.txt', '\uFEFFx,y\n1,2\n');
    const table = await loadTable(uri, { baseDir: dir, format: 'csv' });
    expect(table.rows).toEqual([{ x: '1', y: '2' }]);
  });

  it('accepts absolute file:/// URIs', async () => {
    await write('abs.json', '[{"a":1}]');
    const table = await loadTable(`file://${join(dir, 'abs.json')}`, { baseDir: '/nowhere' });
    expect(table.rows).toEqual([{ a: 1 }]);
  });

  it.each([
    ['missing.csv', null, /missing\.csv: file not found \(looked for .*missing\.csv\)/],
    ['bad.jsonl', '{"a":1}\n{"a":2\n', /bad\.jsonl: not valid JSON at line 2/],
    ['bad.json', '[{"a":1},\n{"a":2,}\n]', /bad\.json: not valid JSON at line 2/],
    ['object.json', '{"rows":[]}', /object\.json: expected a JSON array of row objects/],
    [
      'scalars.json',
      '[{"a":1}, 3]',
      /scalars\.json: element 1: expected an object of column values, got number/,
    ],
    ['empty.json', '[]', /empty\.json: the file holds no rows/],
    ['header-only.csv', 'a,b\n', /header-only\.csv: the file holds no rows/],
    ['ragged.csv', 'a,b\n1,2\n3,4,5\n', /ragged\.csv: not valid CSV at line 3/],
    ['dupe.csv', 'a,a\n1,2\n', /dupe\.csv: CSV header: column "a" appears twice/],
    ['data.xlsx', 'PK', /data\.xlsx: cannot tell the format from the extension/],
    ['short.parquet', 'PAR1', /short\.parquet: short\.parquet: not a readable Parquet file/],
  ])('%s: a clear error naming the URI', async (name, content, message) => {
    if (content !== null) await write(name, content);
    await expect(loadTable(`file://${name}`, { baseDir: dir })).rejects.toThrow(message);
  });
});

describe('loadTable from gs://', () => {
  afterEach(() => setDefaultGcsStore(undefined));

  it('reads through the object store for gs:// URIs', async () => {
    const objects = new Map([['gs://bucket/train/iris.csv', Buffer.from('a,label\n1,x\n2,y\n')]]);
    const fake: ObjectStore = {
      read: async (uri) => {
        const data = objects.get(uri);
        if (!data) throw Object.assign(new Error('No such object'), { code: 404 });
        return data;
      },
      write: async () => undefined,
      exists: async (uri) => objects.has(uri),
      list: async () => [...objects.keys()],
      remove: async () => undefined,
    };
    setDefaultGcsStore(fake);
    const table = await loadTable('gs://bucket/train/iris.csv', { baseDir: '/ignored' });
    expect(table.rows).toEqual([
      { a: '1', label: 'x' },
      { a: '2', label: 'y' },
    ]);
    await expect(loadTable('gs://bucket/nope.csv', { baseDir: '/' })).rejects.toThrow(
      /gs:\/\/bucket\/nope\.csv: object not found/,
    );
  });
});
