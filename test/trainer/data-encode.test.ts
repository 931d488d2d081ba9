import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BuiltinTrainer } from '../../resources/training-run.js';
import { decodeOutputs, encodeInstances, type InstanceError } from '../../artifact/preprocess/encode.js';
import { loadTable, type Table } from '../../trainer/data/load-table.js';
import { prepareData } from '../../trainer/data/prepare.js';
import type { PreparedData, Preprocess } from '../../trainer/types.js';

const examples = join(import.meta.dirname, '../../examples');

function builtin(task: BuiltinTrainer['task'], data: Partial<BuiltinTrainer['data']>): BuiltinTrainer {
  return {
    task,
    seed: 42,
    network: { type: 'mlp', layers: [8], activation: 'relu', dropout: 0 },
    hyperparameters: { epochs: 1, batchSize: 32, learningRate: 0.001, optimizer: 'adam' },
    data: { uri: 'file://x', target: 'y', validationSplit: 0.2, maxCategories: 64, ...data },
  };
}

const without = (row: Record<string, unknown>, ...keys: string[]) =>
  Object.fromEntries(Object.entries(row).filter(([k]) => !keys.includes(k)));

/** FNV-1a (32 bit) over UTF-16 code units, written out here so the expected bucket does not come from the code under test. */
const fnv1a32 = (text: string): number => {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
};

/** Offset of feature `index` in an encoded row (one-hot features take their vocabulary or bucket count). */
const slotOf = (features: Preprocess['features'], index: number): number =>
  features
    .slice(0, index)
    .reduce((sum, f) => sum + (f.type === 'categorical' ? (f.hashBuckets ?? f.vocabulary.length) : 1), 0);

const errorsOf = (preprocess: Preprocess, instances: unknown[]): InstanceError[] => {
  const result = encodeInstances(preprocess, instances);
  if (result.ok) throw new Error('expected the request to be rejected');
  return result.errors;
};

describe('encodeInstances: tabular', () => {
  let cars: Table;
  let p: PreparedData;
  beforeAll(async () => {
    cars = await loadTable('file://data/cars.json', { baseDir: examples });
    p = prepareData(builtin('regression', { target: 'Miles_per_Gallon' }), cars);
  });

  it('encodes a raw row exactly as training did (train and validation rows, with missing values)', () => {
    const width = p.preprocess.encodedWidth;
    for (const samples of [p.train, p.validation]) {
      const picks = [
        0,
        1,
        samples.count - 1,
        ...[...samples.rowIndex!.keys()].filter((s) => cars.rows[samples.rowIndex![s]].Horsepower === null),
      ];
      const result = encodeInstances(
        p.preprocess,
        picks.map((s) => without(cars.rows[samples.rowIndex![s]], 'Miles_per_Gallon')),
      );
      if (!result.ok) throw new Error(JSON.stringify(result.errors));
      expect(result.count).toBe(picks.length);
      picks.forEach((s, k) =>
        expect(result.x.subarray(k * width, (k + 1) * width)).toEqual(
          samples.x.subarray(s * width, (s + 1) * width),
        ),
      );
    }
  });

  it('encodes the same after preprocess.json is written and read back', () => {
    const instances = cars.rows.slice(0, 20).map((r) => without(r, 'Miles_per_Gallon'));
    const fromFile = JSON.parse(JSON.stringify(p.preprocess)) as Preprocess;
    expect(encodeInstances(fromFile, instances)).toEqual(encodeInstances(p.preprocess, instances));
  });

  it('fills absent and null features like missing cells in training', () => {
    const result = encodeInstances(p.preprocess, [{}, { Horsepower: null, Origin: 'NA' }]);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const width = p.preprocess.encodedWidth;
    const trainRows = [...p.train.rowIndex!].map((i) => cars.rows[i]);
    // Derived here from the train split, not read from preprocess: a numeric or date cell that is
    // missing takes the train median, then scales by the train mean and population std (of the
    // filled column); a missing category is '<missing>', hashed (FNV-1a) or, when the train split
    // had no missing value, outside the vocabulary (all zeros).
    const expected = new Float64Array(width);
    let at = 0;
    for (const f of p.preprocess.features) {
      if (f.type === 'categorical') {
        const size = f.hashBuckets ?? f.vocabulary.length;
        if (f.hashBuckets !== undefined) expected[at + (fnv1a32('<missing>') % f.hashBuckets)] = 1;
        else expect(trainRows.some((r) => r[f.name] === null || r[f.name] === undefined)).toBe(false);
        at += size;
        continue;
      }
      const raw = trainRows.map((r) => r[f.name]);
      const values = raw.map((v) =>
        v === null || v === undefined
          ? NaN
          : f.type === 'date'
            ? Date.parse(String(v)) / 86_400_000
            : Number(v),
      );
      const present = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
      const mid = present.length >> 1;
      const median = present.length % 2 ? present[mid] : (present[mid - 1] + present[mid]) / 2;
      const filled = values.map((v) => (Number.isNaN(v) ? median : v));
      const mean = filled.reduce((a, b) => a + b, 0) / filled.length;
      const std = Math.sqrt(filled.reduce((a, v) => a + (v - mean) ** 2, 0) / filled.length);
      expected[at] = (median - mean) / std;
      at += 1;
    }
    expect(at).toBe(width);
    for (let k = 0; k < 2; k++) {
      const row = [...result.x.subarray(k * width, (k + 1) * width)];
      row.forEach((v, slot) => expect(v, `instance ${k}, slot ${slot}`).toBeCloseTo(expected[slot], 5));
    }

    // And equal to what training wrote for a train row whose Horsepower cell is missing.
    const hp = p.preprocess.features.findIndex((f) => f.name === 'Horsepower');
    const hpSlot = slotOf(p.preprocess.features, hp);
    const missingRow = [...p.train.rowIndex!].findIndex((i) => cars.rows[i].Horsepower === null);
    expect(missingRow).toBeGreaterThanOrEqual(0);
    expect(result.x[width + hpSlot]).toBe(p.train.x[missingRow * width + hpSlot]);
  });

  it('reports every bad field with its instance index', () => {
    const good = without(cars.rows[0], 'Miles_per_Gallon');
    const errors = errorsOf(p.preprocess, [
      5, // 0
      [good], // 1
      null, // 2
      { ...good, Horsepowr: 130 }, // 3
      { ...good, Miles_per_Gallon: 18 }, // 4
      { ...good, Horsepower: 'fast' }, // 5
      { ...good, Horsepower: '130' }, // 6: JSON types are required in requests
      { ...good, Displacement: NaN }, // 7
      { ...good, Weight_in_lbs: Infinity }, // 8
      { ...good, Origin: { name: 'USA' } }, // 9
      { ...good, Cylinders: [8] }, // 10
      { ...good, Acceleration: true }, // 11
      { ...good, Year: '1970-13-01' }, // 12
      { ...good, Name: 42 }, // 13: fine, categories may be numbers
      good, // 14: fine
    ]);
    expect(errors).toEqual([
      { index: 0, field: '', message: 'expected an object of feature values, got number 5' },
      { index: 1, field: '', message: 'expected an object of feature values, got an array' },
      { index: 2, field: '', message: 'expected an object of feature values, got null' },
      { index: 3, field: 'Horsepowr', message: 'unknown feature; did you mean "Horsepower"?' },
      {
        index: 4,
        field: 'Miles_per_Gallon',
        message: 'is the target the model predicts; send only input features',
      },
      { index: 5, field: 'Horsepower', message: 'expected a number, got string "fast"' },
      { index: 6, field: 'Horsepower', message: 'expected a number, got string "130"' },
      { index: 7, field: 'Displacement', message: 'must be a finite number, got NaN' },
      { index: 8, field: 'Weight_in_lbs', message: 'must be a finite number, got Infinity' },
      { index: 9, field: 'Origin', message: 'expected a string, got an object' },
      { index: 10, field: 'Cylinders', message: 'expected a number, got an array' },
      { index: 11, field: 'Acceleration', message: 'expected a number, got boolean true' },
      {
        index: 12,
        field: 'Year',
        message: 'expected an ISO 8601 date such as "2024-01-31", got string "1970-13-01"',
      },
    ]);
  });

  it('decodes regression outputs to original units', () => {
    const target = p.preprocess.target as { mean: number; std: number };
    const out = decodeOutputs(p.preprocess, Float32Array.from([0, 1]), 2);
    expect(out[0]).toBeCloseTo(target.mean, 9);
    expect(out[1]).toBeCloseTo(target.mean + target.std, 5);
    expect(() => decodeOutputs(p.preprocess, Float32Array.from([0]), 2)).toThrow(/expected 2 x 1/);
  });
});

describe('encodeInstances: classification from CSV', () => {
  it('JSON-typed instances encode like the CSV text rows they came from; outputs decode to labels', async () => {
    const weather = await loadTable('file://data/seattle-weather.csv', { baseDir: examples });
    const p = prepareData(builtin('classification', { target: 'weather' }), weather);
    const width = p.preprocess.encodedWidth;
    const rows = [...p.validation.rowIndex!].slice(0, 10).map((i) => weather.rows[i]);
    const instances = rows.map((r) => ({
      date: r.date,
      precipitation: Number(r.precipitation),
      temp_max: Number(r.temp_max),
      temp_min: Number(r.temp_min),
      wind: Number(r.wind),
    }));
    const result = encodeInstances(p.preprocess, instances);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.x).toEqual(p.validation.x.subarray(0, 10 * width));

    const predictions = decodeOutputs(p.preprocess, Float32Array.from([0.1, 0.1, 0.6, 0.1, 0.1]), 1);
    expect(predictions).toEqual([
      {
        label: 'rain',
        probabilities: {
          drizzle: expect.closeTo(0.1, 6),
          fog: expect.closeTo(0.1, 6),
          rain: expect.closeTo(0.6, 6),
          snow: expect.closeTo(0.1, 6),
          sun: expect.closeTo(0.1, 6),
        },
      },
    ]);
  });

  it('boolean features accept booleans and yes/no, reject other values', () => {
    const rows = Array.from({ length: 40 }, (_, i) => ({ member: i % 2 === 0, y: i % 3 === 0 ? 'a' : 'b' }));
    const p = prepareData(builtin('classification', {}), {
      rows,
      columns: ['member', 'y'],
      sha256: '',
      bytes: 0,
    });
    const ok = encodeInstances(p.preprocess, [{ member: true }, { member: 'no' }, { member: 0 }]);
    expect(ok.ok && Array.from(ok.x)).toEqual([1, 0, 0]);
    expect(errorsOf(p.preprocess, [{ member: 'maybe' }])).toEqual([
      { index: 0, field: 'member', message: 'expected a boolean (true/false), got string "maybe"' },
    ]);
  });
});

describe('encodeInstances: forecasting histories', () => {
  let co2: Table;
  let p: PreparedData;
  beforeAll(async () => {
    co2 = await loadTable('file://data/co2-concentration.csv', { baseDir: examples });
    p = prepareData(
      builtin('forecasting', { target: 'CO2', window: { size: 12, horizon: 1, timeColumn: 'Date' } }),
      co2,
    );
  });
  const history = (lastRow: number, size = 12) =>
    co2.rows.slice(lastRow - size + 1, lastRow + 1).map((r) => ({
      Date: r.Date,
      CO2: Number(r.CO2),
      'adjusted CO2': Number(r['adjusted CO2']),
    }));

  it('a history encodes exactly like the training window; decoding adds the last value back', () => {
    const size = 12 * p.preprocess.encodedWidth;
    const picks = [0, 50, p.validation.count - 1];
    // horizon 1: the window ends the row before the target row.
    const result = encodeInstances(
      p.preprocess,
      picks.map((s) => ({ history: history(p.validation.rowIndex![s] - 1, 14) })),
    );
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    picks.forEach((s, k) => {
      expect(result.x.subarray(k * size, (k + 1) * size)).toEqual(
        p.validation.x.subarray(s * size, (s + 1) * size),
      );
      expect(result.anchor![k]).toBe(p.validation.anchor![s]);
    });
    const outputs = Float32Array.from(picks.map((s) => p.validation.y[s]));
    const predictions = decodeOutputs(p.preprocess, outputs, picks.length, result.anchor);
    picks.forEach((s, k) =>
      expect(predictions[k]).toBeCloseTo(Number(co2.rows[p.validation.rowIndex![s]].CO2), 4),
    );
    expect(() => decodeOutputs(p.preprocess, outputs, picks.length)).toThrow(/anchor/);
  });

  it('reports malformed histories', () => {
    const h = history(100);
    const errors = errorsOf(p.preprocess, [
      h, // 0: a bare array
      {}, // 1
      { history: h.slice(0, 5) }, // 2
      { history: h, horizon: 3 }, // 3
      { history: [...h.slice(0, 11), 'row'] }, // 4
      { history: [...h.slice(0, 11), { ...h[11], CO2: null }] }, // 5
      { history: [...h.slice(0, 11), { ...h[11], temperature: 3 }] }, // 6
      { history: [...h.slice(0, 10), h[11], h[10]] }, // 7: out of order
    ]);
    expect(errors).toEqual([
      { index: 0, field: '', message: 'expected {"history": [rows, oldest first]}, got an array' },
      {
        index: 1,
        field: 'history',
        message: 'required: an array of at least 12 rows, oldest first; got undefined',
      },
      { index: 2, field: 'history', message: 'needs at least 12 rows (window.size), got 5' },
      { index: 3, field: 'horizon', message: 'unknown field; a forecasting instance is {"history": [...]}' },
      { index: 4, field: 'history[11]', message: 'expected an object of column values, got string "row"' },
      {
        index: 5,
        field: 'history[11].CO2',
        message: "required: the target's observed values are inputs for forecasting",
      },
      { index: 6, field: 'history[11].temperature', message: 'unknown feature' },
      { index: 7, field: 'history[11].Date', message: 'history must be in time order, oldest first' },
    ]);
  });
});
