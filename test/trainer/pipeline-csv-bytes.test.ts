/**
 * The fast CSV path scans the file's bytes (no decoding to a string first): UTF-8 text in cells and
 * headers, a byte order mark, and the exactness bound of the number scan (mantissas around 2^53)
 * read as csv-parse and Number() read them.
 */
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { parsePlainCsv } from '../../trainer/data/csv-columns.js';

describe('parsePlainCsv on bytes', () => {
  it('reads UTF-8 cells and headers and skips a byte order mark', () => {
    const text = 'città,größe,y\r\nZürich,1.5,2\r\n東京,,3\r\nSão Paulo,-2e3,4\r\n';
    const plain = parsePlainCsv(Buffer.from(`\uFEFF${text}`, 'utf8'));
    expect(plain?.header).toEqual(['città', 'größe', 'y']);
    expect(plain?.rows()).toEqual(parse(text, { columns: true, skip_empty_lines: true }));
    expect(Array.from(plain!.numeric.get('größe')!)).toEqual([1.5, NaN, -2000]);
    expect(plain!.numeric.has('città')).toBe(false);
  });

  it('gives Number() for mantissas around 2^53, where the exact scan gives way', () => {
    const texts = [
      '9007199254740991', // 2^53 - 1: exact
      '9007199254740992', // 2^53
      '9007199254740993', // 2^53 + 1: rounds
      '900719925474099.3',
      '0.9007199254740993',
      '-12345678901234567e-5',
      '99999999999999999',
      '1.0000000000000002',
      '0.30000000000000004',
    ];
    const plain = parsePlainCsv(Buffer.from(`v\n${texts.join('\n')}\n`, 'utf8'));
    const got = Array.from(plain!.numeric.get('v')!);
    expect(got).toEqual(texts.map(Number));
    got.forEach((n, i) => expect(Object.is(n, Number(texts[i])), texts[i]).toBe(true));
  });
});
