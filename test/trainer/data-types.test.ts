import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inferColumnType, inferColumnTypes } from '../../trainer/data/infer-types.js';
import { loadTable } from '../../trainer/data/load-table.js';
import {
  dateTextToDays,
  isMissing,
  numberFromText,
  parseBoolean,
  parseCategory,
  parseDate,
  parseNumeric,
  ValueError,
} from '../../artifact/preprocess/values.js';

const examples = join(import.meta.dirname, '../../examples');
const column = (...values: unknown[]) => values.map((v) => ({ c: v }));

describe('column type inference', () => {
  it('cars.json: Origin categorical, Cylinders numeric (few integer codes), Year date', async () => {
    const cars = await loadTable('file://data/cars.json', { baseDir: examples });
    expect(inferColumnTypes(cars.rows, cars.columns)).toEqual({
      Name: 'categorical',
      Miles_per_Gallon: 'numeric', // with real nulls
      Cylinders: 'numeric',
      Displacement: 'numeric',
      Horsepower: 'numeric',
      Weight_in_lbs: 'numeric',
      Acceleration: 'numeric',
      Year: 'date',
      Origin: 'categorical',
    });
  });

  it('CSV strings: numeric text is numeric, ISO dates are dates', async () => {
    const weather = await loadTable('file://data/seattle-weather.csv', { baseDir: examples });
    expect(inferColumnTypes(weather.rows, weather.columns)).toEqual({
      date: 'date',
      precipitation: 'numeric',
      temp_max: 'numeric',
      temp_min: 'numeric',
      wind: 'numeric',
      weather: 'categorical',
    });
  });

  it.each([
    [['1', '2.5', '-3e2', ' 4 ', 'NA', ''], 'numeric'],
    [[0, 1, 1, 0, null], 'numeric'], // 0/1 stays numeric
    [[true, false, null], 'boolean'],
    [['yes', 'No', 'TRUE', 'false', 'NaN'], 'boolean'],
    [['2020-01-01', '2020-01-02T10:00:00Z', 'null'], 'date'],
    [['1', 'two'], 'categorical'],
    [['2020-01-01', '5'], 'categorical'], // a mix is not any single type
    [[1, '2020-01-01'], 'categorical'],
    [['0x1f', '2'], 'categorical'],
    [['Infinity'], 'categorical'],
    [[{ a: 1 }], 'categorical'],
    [[null, undefined, 'NA'], 'numeric'], // nothing present: encodes as a constant
  ])('%j -> %s', (values, type) => {
    expect(inferColumnType(column(...values), 'c')).toBe(type);
  });

  it('data.types overrides inference; an unknown column is an error with a suggestion', () => {
    const rows = [{ Cylinders: 4, Origin: 'USA' }];
    expect(inferColumnTypes(rows, ['Cylinders', 'Origin'], { Cylinders: 'categorical' })).toEqual({
      Cylinders: 'categorical',
      Origin: 'categorical',
    });
    expect(() => inferColumnTypes(rows, ['Cylinders', 'Origin'], { Cylinder: 'categorical' })).toThrow(
      /data\.types\.Cylinder: the data has no column "Cylinder" \(did you mean "Cylinders"\?\)/,
    );
  });
});

describe('values', () => {
  it('missing values: null, undefined, "", "NA", "NaN", "null", NaN', () => {
    for (const v of [null, undefined, '', 'NA', 'NaN', 'null', ' NA ', NaN]) expect(isMissing(v)).toBe(true);
    for (const v of [0, 'na', 'none', false, 'N/A ok']) expect(isMissing(v)).toBe(false);
  });

  it('numeric text is plain decimal notation', () => {
    expect(numberFromText(' -2.5e3 ')).toBe(-2500);
    expect(numberFromText('.5')).toBe(0.5);
    for (const text of ['', '  ', '0x10', '0b1', 'Infinity', '1,000', '1_000', 'abc'])
      expect(numberFromText(text)).toBeNaN();
  });

  it('table mode reads text; request mode wants JSON types', () => {
    expect(parseNumeric('3.5', 'table')).toBe(3.5);
    expect(parseNumeric('3.5', 'request')).toBeInstanceOf(ValueError);
    expect(parseNumeric('NA', 'request')).toBeNaN();
    expect(parseNumeric(NaN, 'table')).toBeNaN();
    expect((parseNumeric(NaN, 'request') as ValueError).message).toMatch(/finite/);
    expect((parseNumeric(Infinity, 'table') as ValueError).message).toMatch(/finite/);
    expect((parseNumeric('fast', 'table') as ValueError).message).toBe(
      'expected a number, got string "fast"',
    );
    expect(parseBoolean('Yes', 'request')).toBe(1);
    expect(parseBoolean(0, 'request')).toBe(0);
    expect(parseBoolean('maybe', 'table')).toBeInstanceOf(ValueError);
    expect(parseCategory(8, 'request')).toBe('8');
    expect(parseCategory('', 'request')).toBeNull();
    expect(parseCategory({}, 'table')).toBeInstanceOf(ValueError);
    expect(parseDate(86_400_000, 'request')).toBe(1);
  });

  it('dates are epoch days, read as UTC whatever the local time zone', () => {
    expect(dateTextToDays('1970-01-01')).toBe(0);
    expect(dateTextToDays('1970-01-02T12:00')).toBe(1.5);
    expect(dateTextToDays('1970-01-02 12:00:00')).toBe(1.5);
    expect(dateTextToDays('1970-01-02T12:00:00+12:00')).toBe(1);
    expect(dateTextToDays('1970-01-02T12:00:00-0600')).toBe(1.75);
    expect(dateTextToDays('2000/02/29')).toBe(Date.UTC(2000, 1, 29) / 86_400_000);
    expect(dateTextToDays('1958-03-01')).toBe(Date.UTC(1958, 2, 1) / 86_400_000);
    for (const bad of [
      '2021-02-30',
      '1900-02-29',
      '2012-13-01',
      '2012-1-5',
      '20120105',
      '2012-01-05T25:00',
      '2012-01-05x',
    ]) {
      expect(dateTextToDays(bad)).toBeUndefined();
    }
  });
});

describe('inference that reads the numbers on the way', () => {
  it('gives each inferred numeric or date column as parsing it as that type would', () => {
    const values: Record<string, unknown[]> = {
      numbers: [1.5, ' -2e3 ', 'NA', null, '', 4, 'NaN'],
      dates: ['2012-01-31', null, '2012-02-01T06:00Z', 'null', '1970-01-01', '2012/03/01', ''],
      words: ['a', 'b', 'c', 'd', 'e', 'f', 'g'],
      infinite: [1, 2, Infinity, 3, 4, 5, 6],
    };
    const rows = values.numbers.map((_, i) =>
      Object.fromEntries(Object.keys(values).map((c) => [c, values[c][i]])),
    );
    const parsed = new Map<string, Float64Array>();
    const types = inferColumnTypes(rows, Object.keys(values), {}, parsed);
    expect(types).toEqual({ numbers: 'numeric', dates: 'date', words: 'categorical', infinite: 'numeric' });
    const asType = (column: string, parse: (v: unknown) => number | ValueError) =>
      values[column].map((v) => parse(v));
    expect(Array.from(parsed.get('numbers')!)).toEqual(asType('numbers', (v) => parseNumeric(v, 'table')));
    expect(Array.from(parsed.get('dates')!)).toEqual(asType('dates', (v) => parseDate(v, 'table')));
    // Infinity is no value for parseNumeric: that column is left to parse (and report) as before.
    expect([...parsed.keys()].sort()).toEqual(['dates', 'numbers']);
  });
});
