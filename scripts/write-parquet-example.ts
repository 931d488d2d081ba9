/**
 * Writes examples/data/seattle-weather.parquet from examples/data/seattle-weather.csv, with typed
 * columns: `date` as a TIMESTAMP (UTC midnight), the measurements as DOUBLE, `weather` as STRING;
 * snappy-compressed (hyparquet-writer's default). The two files hold the same table, which
 * test/trainer/parquet-train.test.ts trains bit for bit alike.
 *
 *   npx tsx scripts/write-parquet-example.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { parquetWriteBuffer } from 'hyparquet-writer';

const data = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'data');
const rows: Record<string, string>[] = parse(readFileSync(join(data, 'seattle-weather.csv')), {
  columns: true,
  skip_empty_lines: true,
});

const number = (column: string): (number | null)[] =>
  rows.map((row) => (row[column] === '' ? null : Number(row[column])));
const date = (text: string): Date => {
  const time = Date.parse(`${text}T00:00:00Z`);
  if (Number.isNaN(time)) throw new Error(`not a date: ${text}`);
  return new Date(time);
};

const buffer = parquetWriteBuffer({
  columnData: [
    { name: 'date', data: rows.map((row) => date(row.date)), type: 'TIMESTAMP' },
    { name: 'precipitation', data: number('precipitation'), type: 'DOUBLE' },
    { name: 'temp_max', data: number('temp_max'), type: 'DOUBLE' },
    { name: 'temp_min', data: number('temp_min'), type: 'DOUBLE' },
    { name: 'wind', data: number('wind'), type: 'DOUBLE' },
    { name: 'weather', data: rows.map((row) => row.weather), type: 'STRING' },
  ],
});
writeFileSync(join(data, 'seattle-weather.parquet'), new Uint8Array(buffer));
console.log(`wrote ${rows.length} rows, ${buffer.byteLength} bytes`);
