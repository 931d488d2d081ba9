/**
 * Parquet input (issue 17 item 8): typed columns, folders of part files in name order with one
 * schema, the fingerprint over the parts' bytes, the folder's containment rule, and gs:// through
 * the real Storage client against the fake (test/fakes/gcp).
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { parquetWriteBuffer, type ColumnSource } from 'hyparquet-writer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gcsStore, setDefaultGcsStore } from '../../artifact/storage.js';
import { loadTable } from '../../trainer/data/load-table.js';
import { prepareData } from '../../trainer/data/prepare.js';
import { inferColumnTypes } from '../../trainer/data/infer-types.js';
import { planColumns } from '../../trainer/data/columns.js';
import type { BuiltinTrainer } from '../../resources/training-run.js';
import { fakeStorageOptions, startFakeGcp, type FakeGcp } from '../fakes/gcp/index.js';

const examples = join(import.meta.dirname, '../../examples');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-parquet-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const parquet = (columns: ColumnSource[]): Buffer => Buffer.from(parquetWriteBuffer({ columnData: columns }));
const part = (x: number[], label: string[]): Buffer =>
  parquet([
    { name: 'x', data: x, type: 'DOUBLE' },
    { name: 'label', data: label, type: 'STRING' },
  ]);
const sha256 = (...buffers: Buffer[]): string => {
  const hash = createHash('sha256');
  for (const b of buffers) hash.update(b);
  return hash.digest('hex');
};

describe('loadTable: one Parquet file', () => {
  it('reads the example with the types its schema declares and a sha256 of the file', async () => {
    const table = await loadTable('file://data/seattle-weather.parquet', { baseDir: examples });
    expect(table.rows).toHaveLength(1461);
    expect(table.columns).toEqual(['date', 'precipitation', 'temp_max', 'temp_min', 'wind', 'weather']);
    // What inference makes of the CSV of the same table.
    const csv = await loadTable('file://data/seattle-weather.csv', { baseDir: examples });
    expect(table.types).toEqual(inferColumnTypes(csv.rows, csv.columns));
    expect(table.types?.date).toBe('date');
    // Timestamps arrive as epoch milliseconds, numbers as numbers: no text in between.
    expect(table.rows[0]).toEqual({
      date: Date.UTC(2012, 0, 1),
      precipitation: 0,
      temp_max: 12.8,
      temp_min: 5,
      wind: 4.7,
      weather: 'drizzle',
    });
    const bytes = await readFile(join(examples, 'data/seattle-weather.parquet'));
    expect(table.sha256).toBe(sha256(bytes));
    expect(table.bytes).toBe(bytes.length);
  });

  it('maps INT64, booleans, nulls and string columns; data.types still overrides', async () => {
    await writeFile(
      join(dir, 'typed.parquet'),
      parquet([
        { name: 'count', data: [1n, 2n, null, 4n], type: 'INT64' },
        { name: 'flag', data: [true, false, null, true], type: 'BOOLEAN' },
        { name: 'code', data: ['4', '6', '8', null], type: 'STRING' },
        { name: 'day', data: ['2024-01-01', null, '2024-01-03', '2024-01-04'], type: 'STRING' },
        { name: 'y', data: [1.5, 2.5, 3.5, 4.5], type: 'DOUBLE' },
      ]),
    );
    const table = await loadTable('file://typed.parquet', { baseDir: dir });
    expect(table.rows[0]).toEqual({ count: 1, flag: true, code: '4', day: '2024-01-01', y: 1.5 });
    expect(table.rows[2]).toEqual({ count: null, flag: null, code: '8', day: '2024-01-03', y: 3.5 });
    // Numeric-looking text stays a category: the writer chose a string over a number type.
    expect(table.types).toEqual({
      count: 'numeric',
      flag: 'boolean',
      code: 'categorical',
      day: 'date',
      y: 'numeric',
    });
    const builtin = {
      task: 'regression',
      data: { uri: 'file://typed.parquet', target: 'y', types: { count: 'categorical' } },
    } as unknown as BuiltinTrainer;
    expect(planColumns(builtin, table).types).toMatchObject({ count: 'categorical', code: 'categorical' });
  });

  it('rejects a nested column, naming it and the fix', async () => {
    await writeFile(
      join(dir, 'nested.parquet'),
      Buffer.from(
        parquetWriteBuffer({
          columnData: [{ name: 'tags', data: [['a'], ['b', 'c']] }],
          schema: [
            { name: 'root', num_children: 1 },
            { name: 'tags', repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST' },
            { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
            { name: 'element', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
          ],
        }),
      ),
    );
    await expect(loadTable('file://nested.parquet', { baseDir: dir })).rejects.toThrow(
      'file://nested.parquet: nested.parquet: column "tags" is nested (a list, map or struct); mlform trains on flat columns',
    );
  });

  it('says so when the bytes are not Parquet', async () => {
    await writeFile(join(dir, 'fake.parquet'), 'a,b\n1,2\n');
    await expect(loadTable('file://fake.parquet', { baseDir: dir })).rejects.toThrow(
      /file:\/\/fake\.parquet: fake\.parquet: not a readable Parquet file/,
    );
  });
});

describe('loadTable: a folder of Parquet part files', () => {
  it('reads every *.parquet in name order, skipping _SUCCESS, dot files and subfolders', async () => {
    const folder = join(dir, 'parts');
    await mkdir(join(folder, 'nested'), { recursive: true });
    const a = part([1, 2], ['a', 'b']);
    const b = part([3], ['c']);
    const c = part([4, 5], ['d', 'e']);
    // Written out of order: the name decides.
    await writeFile(join(folder, 'part-00002.parquet'), c);
    await writeFile(join(folder, 'part-00000.parquet'), a);
    await writeFile(join(folder, 'part-00001.parquet'), b);
    await writeFile(join(folder, '_SUCCESS'), '');
    await writeFile(join(folder, '.part-00000.parquet.crc'), 'x');
    await writeFile(join(folder, 'nested', 'part-00009.parquet'), part([99], ['z']));

    const table = await loadTable('file://parts/', { baseDir: dir });
    expect(table.rows.map((r) => r.x)).toEqual([1, 2, 3, 4, 5]);
    expect(table.sha256).toBe(sha256(a, b, c));
    expect(table.bytes).toBe(a.length + b.length + c.length);
    // format: parquet on the folder without a trailing slash reads the same.
    const same = await loadTable('file://parts', { baseDir: dir, format: 'parquet' });
    expect(same.sha256).toBe(table.sha256);
  });

  it('names the first part file whose schema differs', async () => {
    const folder = join(dir, 'mixed');
    await mkdir(folder);
    await writeFile(join(folder, 'p0.parquet'), part([1], ['a']));
    await writeFile(join(folder, 'p1.parquet'), part([2], ['b']));
    await writeFile(
      join(folder, 'p2.parquet'),
      parquet([
        { name: 'x', data: [3n], type: 'INT64' },
        { name: 'label', data: ['c'], type: 'STRING' },
      ]),
    );
    await writeFile(join(folder, 'p3.parquet'), parquet([{ name: 'x', data: [4], type: 'DOUBLE' }]));
    await expect(loadTable('file://mixed/', { baseDir: dir })).rejects.toThrow(
      `file://mixed/: p2.parquet: its schema differs from p0.parquet's (column "x" is INT64, not DOUBLE); every part file must have the same columns and types`,
    );
  });

  it('refuses a part file that links outside the folder, and an empty folder', async () => {
    const folder = join(dir, 'linked');
    await mkdir(folder);
    await writeFile(join(dir, 'outside.parquet'), part([1], ['a']));
    await symlink(join(dir, 'outside.parquet'), join(folder, 'p0.parquet'));
    await expect(loadTable('file://linked/', { baseDir: dir })).rejects.toThrow(
      /part file p0\.parquet resolves to .*outside\.parquet, outside the folder .*linked; copy the file into the folder/,
    );
    await mkdir(join(dir, 'empty'));
    await expect(loadTable('file://empty/', { baseDir: dir })).rejects.toThrow('holds no *.parquet files');
  });

  it('checks the folder against the allowed roots like a file', async () => {
    await expect(
      loadTable('file://parts/', { baseDir: dir, allowedRoots: [join(dir, 'empty')] }),
    ).rejects.toThrow(/outside the folders local data may be read from/);
  });
});

describe('loadTable: Parquet from gs://', () => {
  let fake: FakeGcp;
  beforeAll(async () => {
    fake = await startFakeGcp();
    setDefaultGcsStore(gcsStore({ client: new Storage(fakeStorageOptions(fake)) }));
  });
  afterAll(async () => {
    setDefaultGcsStore(undefined);
    await fake?.close();
  });

  it('reads one object and a prefix of part objects through the Storage client', async () => {
    const store = gcsStore({ client: new Storage(fakeStorageOptions(fake)) });
    const a = part([1, 2], ['a', 'b']);
    const b = part([3], ['c']);
    await store.write('gs://mlform-test/data/weather/part-1.parquet', b);
    await store.write('gs://mlform-test/data/weather/part-0.parquet', a);
    await store.write('gs://mlform-test/data/weather/_SUCCESS', '');
    await store.write('gs://mlform-test/data/weather/old/part-9.parquet', part([9], ['z']));

    const one = await loadTable('gs://mlform-test/data/weather/part-0.parquet', { baseDir: '/ignored' });
    expect(one.rows).toEqual([
      { x: 1, label: 'a' },
      { x: 2, label: 'b' },
    ]);
    const all = await loadTable('gs://mlform-test/data/weather/', { baseDir: '/ignored' });
    expect(all.rows.map((r) => r.x)).toEqual([1, 2, 3]);
    expect(all.sha256).toBe(sha256(a, b));
    const noSlash = await loadTable('gs://mlform-test/data/weather', {
      baseDir: '/ignored',
      format: 'parquet',
    });
    expect(noSlash.sha256).toBe(all.sha256);
    await expect(loadTable('gs://mlform-test/data/none/', { baseDir: '/' })).rejects.toThrow(
      'gs://mlform-test/data/none/: no *.parquet objects under gs://mlform-test/data/none/',
    );
  });
});

describe('prepareData on Parquet', () => {
  it('prepares the forecasting example from a timestamp time column', async () => {
    const table = await loadTable('file://data/seattle-weather.parquet', { baseDir: examples });
    const builtin = {
      task: 'forecasting',
      seed: 5,
      data: {
        uri: 'file://data/seattle-weather.parquet',
        target: 'temp_max',
        features: ['precipitation'],
        validationSplit: 0.2,
        maxCategories: 50,
        window: { size: 7, horizon: 1, timeColumn: 'date' },
      },
    } as unknown as BuiltinTrainer;
    const prepared = prepareData(builtin, table);
    expect(prepared.columnTypes.date).toBe('date');
    expect(prepared.rows).toMatchObject({ total: 1461, dropped: 0 });
  });
});
