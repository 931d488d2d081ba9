/**
 * The fast CSV path (issue 17 item 9): the same cells as csv-parse, numbers exactly as
 * `numberFromText` reads them, and csv-parse (with its messages and line numbers) for anything
 * that is not plain.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isMissing, numberFromText } from '../../artifact/preprocess/values.js';
import { parsePlainCsv } from '../../trainer/data/csv-columns.js';

const examples = join(import.meta.dirname, '../../examples/data');
const csvParse = (text: string): Record<string, string>[] =>
  parse(text, { columns: true, skip_empty_lines: true, cast: false }) as Record<string, string>[];

/** What the slow path would make of a column: numbers if every cell is numeric text or missing. */
function expectedNumbers(rows: Record<string, string>[], column: string): Float64Array | undefined {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const cell = rows[i][column];
    const n = numberFromText(cell);
    if (n === n) out[i] = n;
    else if (isMissing(cell)) out[i] = NaN;
    else return undefined;
  }
  return out;
}

function expectSameAsCsvParse(text: string): void {
  const plain = parsePlainCsv(text);
  expect(plain).toBeDefined();
  const rows = csvParse(text);
  expect(plain!.count).toBe(rows.length);
  expect(plain!.rows()).toEqual(rows);
  for (const column of plain!.header) {
    const expected = expectedNumbers(rows, column);
    const got = plain!.numeric.get(column);
    if (expected === undefined) expect(got, column).toBeUndefined();
    else expect(Array.from(got!), column).toEqual(Array.from(expected));
  }
}

describe('parsePlainCsv', () => {
  it.each(['seattle-weather.csv', 'co2-concentration.csv', 'iris.csv'])(
    'reads %s as csv-parse does, numbers bit for bit',
    async (file) => {
      expectSameAsCsvParse(await readFile(join(examples, file), 'utf8'));
    },
  );

  it('handles CRLF, empty lines, missing markers, signs, exponents, spaces and long mantissas', () => {
    expectSameAsCsvParse(
      [
        'a,b,c,d',
        '1,-0.5,NA,x',
        '',
        '+2,.25,,y',
        '3.,1e-3,NaN,z',
        ' 4 ,12345678901234567890,null,0x10',
        '5,-0,1E+2,Infinity',
        '6,0.1234567890123456789,7e400,1e5',
        '',
      ].join('\r\n'),
    );
  });

  it('gives the value Number() gives for any decimal text', () => {
    fc.assert(
      fc.property(
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.integer({ min: 0, max: 20 }),
        (x, digits) => {
          // Rounding to fewer digits can overflow to Infinity, which is not data (numberFromText).
          const texts = [String(x), x.toFixed(digits), x.toExponential(digits)].filter((t) =>
            Number.isFinite(Number(t)),
          );
          const plain = parsePlainCsv(`v\n${texts.join('\n')}\n`);
          expect(Array.from(plain!.numeric.get('v')!)).toEqual(texts.map((t) => Number(t)));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('grows its columns when later lines are shorter than the first ones it estimated from', () => {
    // 64 kB of 2,000-byte lines make an estimate of a few hundred rows; 50,000 short ones follow.
    const long = Array.from({ length: 100 }, (_, i) => `${'x'.repeat(2000)},${i / 8}`);
    const short = Array.from({ length: 50_000 }, (_, i) => `y,${i % 97}`);
    expectSameAsCsvParse(['a,b', ...long, ...short].join('\n'));
  });

  it('leaves quotes, lone CRs and ragged records to csv-parse', () => {
    expect(parsePlainCsv('a,b\n"1,5",2\n')).toBeUndefined();
    expect(parsePlainCsv('a,b\r1,2\r')).toBeUndefined();
    expect(parsePlainCsv('a,b\n1,2\n3,4,5\n')).toBeUndefined();
    expect(parsePlainCsv('a,b\n1\n')).toBeUndefined();
  });
});
