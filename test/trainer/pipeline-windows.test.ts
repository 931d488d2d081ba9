/**
 * Forecasting windows from the columns the fast CSV path parsed (Table.numeric) equal the row path
 * (csv-parse rows, types inferred) bit for bit: missing cells in the target, the time column and a
 * covariate, rows out of time order, a categorical covariate, a level-wandering (window-relative)
 * covariate, and a time column of dates; and an all-number series never builds its rows.
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
  dir = await mkdtemp(join(tmpdir(), 'mlform-windows-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** 200 hours; a few swapped (out of order), gaps in every numeric column. */
function series(withKind: boolean, dates = false): string {
  const hours = Array.from({ length: 200 }, (_, i) => i);
  [hours[40], hours[41]] = [hours[41], hours[40]];
  [hours[120], hours[150]] = [hours[150], hours[120]];
  return [
    `t,rain,trend,${withKind ? 'kind,' : ''}load`,
    ...hours.map((h, i) => {
      const day = new Date(Date.UTC(2020, 0, 1) + h * 86_400_000).toISOString().slice(0, 10);
      const t = i === 77 ? '' : dates ? day : String(h);
      const rain = i % 9 === 0 ? '' : (Math.sin(h * 0.7) * 3).toFixed(3);
      const trend = i % 17 === 3 ? 'NA' : (h * 0.37 + Math.cos(h)).toFixed(4);
      const kind = ['a', 'b', ''][h % 3];
      const load = i % 23 === 4 ? '' : (50 + 10 * Math.sin(h / 4) + h * 0.05).toFixed(5);
      return `${t},${rain},${trend},${withKind ? `${kind},` : ''}${load}`;
    }),
  ].join('\n');
}

const forecasting = (): BuiltinTrainer =>
  ({
    task: 'forecasting',
    seed: 4,
    data: {
      uri: 'file://s.csv',
      target: 'load',
      validationSplit: 0.2,
      maxCategories: 8,
      window: { size: 6, horizon: 2, timeColumn: 't', season: 24 },
    },
  }) as unknown as BuiltinTrainer;

function rowTable(csv: string, fast: Table): Table {
  const rows = parse(csv, { columns: true, skip_empty_lines: true }) as Record<string, unknown>[];
  return { rows, columns: fast.columns, sha256: fast.sha256, bytes: fast.bytes };
}

describe('forecasting windows from parsed columns', () => {
  it.each([
    ['numbers only', false, false],
    ['a categorical covariate', true, false],
    ['a time column of dates', false, true],
  ])('equal the row path bit for bit (%s)', async (_name, withKind, dates) => {
    const csv = series(withKind, dates);
    await writeFile(join(dir, 's.csv'), csv);
    const fast = await loadTable('file://s.csv', { baseDir: dir });
    expect(fast.numeric?.has('load')).toBe(true);
    const a = prepareData(forecasting(), fast);
    const b = prepareData(forecasting(), rowTable(csv, fast));
    expect(a).toEqual(b);
    for (const split of ['train', 'validation'] as const) {
      expect(Buffer.from(a[split].x.buffer).equals(Buffer.from(b[split].x.buffer))).toBe(true);
      expect(Buffer.from(a[split].y.buffer).equals(Buffer.from(b[split].y.buffer))).toBe(true);
    }
    expect(a.preprocess.features.some((f) => 'relative' in f && f.relative === true)).toBe(true);
  });

  it('an all-number series never builds its row objects', async () => {
    await writeFile(join(dir, 's.csv'), series(false));
    const fast = await loadTable('file://s.csv', { baseDir: dir });
    const table: Table = {
      ...fast,
      columns: fast.columns,
      get rows(): Record<string, unknown>[] {
        throw new Error('row objects were built');
      },
    };
    expect(prepareData(forecasting(), table).train.count).toBeGreaterThan(100);
  });
});
