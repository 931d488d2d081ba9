/**
 * Numeric and date features of row tables (JSON here) are parsed once (parsed-columns.ts) for
 * fitting and encoding. The prepared inputs must stay what the serving encoder makes of the raw
 * rows (RowEncoder.encode, bit for bit) and the fit what the row path fits (fitScalar over the
 * training rows' cells); a column with a bad value still fails with the row path's message.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltinTrainer } from '../../resources/training-run.js';
import { ProblemList } from '../../artifact/preprocess/data-error.js';
import { RowEncoder } from '../../artifact/preprocess/row-encoder.js';
import { fitScalar, numericColumn } from '../../trainer/data/fit-encoding.js';
import { loadTable } from '../../trainer/data/load-table.js';
import { prepareData } from '../../trainer/data/prepare.js';

const examples = join(import.meta.dirname, '../../examples/data');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-parsed-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const regression = (uri: string, target: string, maxCategories = 8): BuiltinTrainer =>
  ({
    task: 'regression',
    seed: 11,
    data: { uri, target, validationSplit: 0.25, maxCategories },
  }) as unknown as BuiltinTrainer;

async function expectRowPathEquality(builtin: BuiltinTrainer, baseDir: string): Promise<void> {
  const table = await loadTable(builtin.data.uri, { baseDir });
  const data = prepareData(builtin, table);
  const encoder = new RowEncoder(data.preprocess.features);
  for (const split of [data.train, data.validation]) {
    const expected = new Float32Array(split.count * encoder.width);
    split.rowIndex!.forEach((row, s) =>
      encoder.encode(table.rows[row], expected, s * encoder.width, 'table'),
    );
    expect(Buffer.from(split.x.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
  }
  const train = Int32Array.from(data.train.rowIndex!).sort();
  for (const feature of data.preprocess.features) {
    if (feature.type !== 'numeric' && feature.type !== 'date') continue;
    const values = numericColumn(table.rows, train, feature.name, feature.type, new ProblemList());
    expect(feature, feature.name).toEqual(fitScalar(feature.name, feature.type, values));
  }
}

describe('parsed numeric and date columns of row tables', () => {
  it('cars.json: numbers, a date column and categoricals encode as the serving encoder does', async () => {
    await expectRowPathEquality(regression('file://cars.json', 'Miles_per_Gallon', 23), examples);
  });

  it('missing values, nulls, numbers as text and dates with times', async () => {
    const rows = Array.from({ length: 80 }, (_, i) => ({
      a: i % 7 === 0 ? null : Math.sin(i) * 10,
      b: i % 5 === 0 ? '' : String(i * 0.5 - 3),
      when: i % 9 === 0 ? null : new Date(Date.UTC(2021, 0, 1 + i, i % 24)).toISOString(),
      kind: ['x', 'y', 'z'][i % 3],
      y: i % 11 === 3 ? null : i * 0.25 + Math.cos(i),
    }));
    await writeFile(join(dir, 'rows.json'), JSON.stringify(rows));
    const builtin = regression('file://rows.json', 'y');
    const data = prepareData(builtin, await loadTable(builtin.data.uri, { baseDir: dir }));
    expect(data.preprocess.features.map((f) => f.type)).toEqual([
      'numeric',
      'numeric',
      'date',
      'categorical',
    ]);
    await expectRowPathEquality(builtin, dir);
  });

  it('a numeric column with a bad value fails as before, naming the cell', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => ({ a: i === 4 ? 'four' : i, y: i * 2 }));
    await writeFile(join(dir, 'bad.json'), JSON.stringify(rows));
    const builtin = {
      ...regression('file://bad.json', 'y'),
      data: { ...regression('file://bad.json', 'y').data, types: { a: 'numeric' } },
    } as BuiltinTrainer;
    const table = await loadTable(builtin.data.uri, { baseDir: dir });
    expect(() => prepareData(builtin, table)).toThrow(/column "a"/);
  });
});
