/**
 * Columns the fast CSV path parsed once (Table.numeric) prepare to the same bits as the row path
 * (csv-parse rows, types inferred), including missing cells, a categorical column, and a numeric
 * column overridden to categorical (read as its text, "4.0" stays "4.0"); and an all-number table
 * never builds its row objects.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltinTrainer } from '../../resources/training-run.js';
import { loadTable, type Table } from '../../trainer/data/load-table.js';
import { prepareData } from '../../trainer/data/prepare.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-pipeline-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const CSV = [
  'a,b,code,kind,y',
  ...Array.from({ length: 60 }, (_, i) => {
    const a = i % 7 === 0 ? '' : (Math.sin(i) * 10).toFixed(3);
    const b = i % 11 === 0 ? 'NA' : String(i * 0.25 - 3);
    const code = ['4.0', '6', '8'][i % 3];
    const kind = ['x', 'y', 'z', ''][i % 4];
    const y = i % 13 === 5 ? '' : (i * 0.5 + Math.cos(i)).toFixed(4);
    return `${a},${b},${code},${kind},${y}`;
  }),
].join('\n');

const builtin = (types?: Record<string, 'categorical'>): BuiltinTrainer =>
  ({
    task: 'regression',
    seed: 9,
    data: {
      uri: 'file://t.csv',
      target: 'y',
      validationSplit: 0.25,
      maxCategories: 10,
      ...(types && { types }),
    },
  }) as unknown as BuiltinTrainer;

/** The same file as the row path sees it: csv-parse's rows, no parsed columns, no known types. */
function rowTable(fast: Table): Table {
  const rows = parse(CSV, { columns: true, skip_empty_lines: true }) as Record<string, unknown>[];
  return { rows, columns: fast.columns, sha256: fast.sha256, bytes: fast.bytes };
}

describe('prepareData from parsed columns', () => {
  it.each([[undefined], [{ code: 'categorical' as const }]])(
    'equals the row path bit for bit (types %j)',
    async (types) => {
      await writeFile(join(dir, 't.csv'), CSV);
      const fast = await loadTable('file://t.csv', { baseDir: dir });
      expect([...fast.numeric!.keys()]).toEqual(['a', 'b', 'code', 'y']);
      const a = prepareData(builtin(types), fast);
      const b = prepareData(builtin(types), rowTable(fast));
      expect(a.preprocess).toEqual(b.preprocess);
      expect(a.columnTypes).toEqual(b.columnTypes);
      expect(a.rows).toEqual(b.rows);
      expect(Buffer.from(a.train.x.buffer).equals(Buffer.from(b.train.x.buffer))).toBe(true);
      expect(Buffer.from(a.validation.x.buffer).equals(Buffer.from(b.validation.x.buffer))).toBe(true);
      expect(Array.from(a.train.y)).toEqual(Array.from(b.train.y));
      if (types) {
        const code = a.preprocess.features.find((f) => f.name === 'code');
        expect(code).toMatchObject({ type: 'categorical', vocabulary: expect.arrayContaining(['4.0']) });
      }
    },
  );

  it('never builds row objects for an all-number table', async () => {
    await writeFile(join(dir, 'n.csv'), 'x1,x2,y\n1,2,3\n4,,6\n7,8,9\n1,1,1\n');
    const table = await loadTable('file://n.csv', { baseDir: dir });
    let built = false;
    const watched = Object.create(table, {
      rows: {
        get: () => {
          built = true;
          return table.rows;
        },
      },
    }) as Table;
    const data = prepareData({ ...builtin(), data: { ...builtin().data, uri: 'file://n.csv' } }, watched);
    expect(data.rows.total).toBe(4);
    expect(built).toBe(false);
  });
});
