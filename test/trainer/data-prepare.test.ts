import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BuiltinTrainer } from '../../resources/training-run.js';
import { encodeInstances } from '../../artifact/preprocess/encode.js';
import { rankCategories } from '../../trainer/data/fit-encoding.js';
import { loadTable, type Table } from '../../trainer/data/load-table.js';
import { prepareData } from '../../trainer/data/prepare.js';
import type { FeatureEncoding, PreparedData } from '../../trainer/types.js';

const examples = join(import.meta.dirname, '../../examples');

function builtin(
  task: BuiltinTrainer['task'],
  data: Partial<BuiltinTrainer['data']>,
  seed = 42,
): BuiltinTrainer {
  return {
    task,
    seed,
    network: { type: 'mlp', layers: [8], activation: 'relu', dropout: 0 },
    hyperparameters: { epochs: 1, batchSize: 32, learningRate: 0.001, optimizer: 'adam' },
    data: { uri: 'file://data.json', target: 'y', validationSplit: 0.2, maxCategories: 64, ...data },
  };
}

const table = (rows: Record<string, unknown>[]): Table => ({
  rows,
  columns: [...new Set(rows.flatMap((r) => Object.keys(r)))],
  sha256: 'test',
  bytes: 0,
});

const feature = <T extends FeatureEncoding['type']>(p: PreparedData, name: string, type: T) => {
  const f = p.preprocess.features.find((x) => x.name === name);
  if (!f || f.type !== type) throw new Error(`no ${type} feature ${name}`);
  return f as Extract<FeatureEncoding, { type: T }>;
};

const median = (values: number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

describe('prepareData on cars.json (regression)', () => {
  let cars: Table;
  let prepared: PreparedData;
  const spec = builtin('regression', { target: 'Miles_per_Gallon' });
  beforeAll(async () => {
    cars = await loadTable('file://data/cars.json', { baseDir: examples });
    prepared = prepareData(spec, cars);
  });

  it('drops the 8 rows without MPG and splits the rest 80/20', () => {
    expect(prepared.rows).toEqual({ total: 406, train: 318, validation: 80, dropped: 8 });
    expect(prepared.train.count + prepared.validation.count).toBe(398);
    expect(prepared.fingerprint).toBe(cars.sha256);
    const used = [...prepared.train.rowIndex!, ...prepared.validation.rowIndex!];
    expect(new Set(used).size).toBe(398);
    for (const i of used) expect(cars.rows[i].Miles_per_Gallon).not.toBeNull();
  });

  it('encodes every column but the target by default; Name (311 values) is hashed, Origin one-hot', () => {
    expect(prepared.preprocess.features.map((f) => `${f.name}:${f.type}`)).toEqual([
      'Name:categorical',
      'Cylinders:numeric',
      'Displacement:numeric',
      'Horsepower:numeric',
      'Weight_in_lbs:numeric',
      'Acceleration:numeric',
      'Year:date',
      'Origin:categorical',
    ]);
    expect(feature(prepared, 'Name', 'categorical')).toEqual({
      name: 'Name',
      type: 'categorical',
      vocabulary: [],
      hashBuckets: 64,
    });
    // Train frequency order: USA, then Japan and Europe.
    expect(feature(prepared, 'Origin', 'categorical').vocabulary).toEqual(['USA', 'Japan', 'Europe']);
    expect(prepared.preprocess.encodedWidth).toBe(64 + 6 + 3);
    expect(prepared.preprocess.inputShape).toEqual([73]);
    expect(prepared.train.x).toHaveLength(318 * 73);
    expect(prepared.targetSize).toBe(1);
  });

  it('fills missing Horsepower with the train median and standardises by train mean/std', () => {
    const train = [...prepared.train.rowIndex!].map((i) => cars.rows[i].Horsepower as number | null);
    const present = train.filter((v): v is number => v !== null);
    expect(present.length).toBeLessThan(train.length); // the split does hold rows with a missing value
    const fill = median(present);
    const hp = feature(prepared, 'Horsepower', 'numeric');
    expect(hp.fill).toBe(fill);
    const filled = train.map((v) => v ?? fill);
    const mean = filled.reduce((a, b) => a + b, 0) / filled.length;
    const std = Math.sqrt(filled.reduce((a, b) => a + (b - mean) ** 2, 0) / filled.length);
    expect(hp.mean).toBeCloseTo(mean, 9);
    expect(hp.std).toBeCloseTo(std, 9);
    // The encoded train column has mean 0 and std 1.
    const slot = 64 + 2; // after Name's 64 buckets, Cylinders and Displacement
    const column = Array.from({ length: prepared.train.count }, (_, s) => prepared.train.x[s * 73 + slot]);
    expect(column.reduce((a, b) => a + b, 0) / column.length).toBeCloseTo(0, 5);
    // A row with a missing value encodes as the median.
    const missingRow = [...prepared.train.rowIndex!].indexOf(
      [...prepared.train.rowIndex!].find((i) => cars.rows[i].Horsepower === null)!,
    );
    expect(prepared.train.x[missingRow * 73 + slot]).toBeCloseTo((fill - mean) / std, 5);
  });

  it('standardises the target with train statistics', () => {
    const y = [...prepared.train.rowIndex!].map((i) => cars.rows[i].Miles_per_Gallon as number);
    const mean = y.reduce((a, b) => a + b, 0) / y.length;
    expect(prepared.preprocess.target).toEqual({
      type: 'numeric',
      name: 'Miles_per_Gallon',
      mean: expect.closeTo(mean, 9),
      std: expect.any(Number),
      mode: 'absolute',
    });
    const target = prepared.preprocess.target as { mean: number; std: number };
    expect(prepared.train.y[0] * target.std + target.mean).toBeCloseTo(y[0], 4);
  });

  it('fits on the training split only: changing validation rows changes no statistic, one train row does', () => {
    const validation = new Set(prepared.validation.rowIndex!);
    const changed = cars.rows.map((row, i) =>
      validation.has(i)
        ? {
            ...row,
            Horsepower: 9999,
            Weight_in_lbs: null,
            Origin: 'Atlantis',
            Name: 'zz',
            Year: '2099-01-01',
          }
        : row,
    );
    const again = prepareData(spec, { ...cars, rows: changed });
    expect(again.preprocess).toEqual(prepared.preprocess);
    expect(again.train.x).toEqual(prepared.train.x);
    expect(again.validation.x).not.toEqual(prepared.validation.x);

    const firstTrain = prepared.train.rowIndex![0];
    const trainChanged = cars.rows.map((row, i) => (i === firstTrain ? { ...row, Horsepower: 9999 } : row));
    const moved = prepareData(spec, { ...cars, rows: trainChanged });
    expect(feature(moved, 'Horsepower', 'numeric').mean).not.toBe(
      feature(prepared, 'Horsepower', 'numeric').mean,
    );
  });

  it('same seed -> identical split; another seed -> another split', () => {
    const same = prepareData(spec, cars);
    expect(same.validation.rowIndex).toEqual(prepared.validation.rowIndex);
    expect(same.train.x).toEqual(prepared.train.x);
    const other = prepareData({ ...spec, seed: 7 }, cars);
    expect(other.validation.rowIndex).not.toEqual(prepared.validation.rowIndex);
    expect(other.rows).toEqual(prepared.rows);
  });

  it('reports unknown columns and unusable targets clearly', () => {
    expect(() => prepareData(builtin('regression', { target: 'Miles_per_galon' }), cars)).toThrow(
      /data\.target: the data has no column "Miles_per_galon" \(did you mean "Miles_per_Gallon"\?\)/,
    );
    expect(() => prepareData(builtin('regression', { target: 'Origin' }), cars)).toThrow(
      /target "Origin" is categorical, but task "regression" predicts a number; use task: classification/,
    );
    expect(() =>
      prepareData(
        builtin('regression', { target: 'Miles_per_Gallon', features: ['Name'], types: { Name: 'numeric' } }),
        cars,
      ),
    ).toThrow(/row 1, column "Name": expected a number, got string "chevrolet chevelle malibu"/);
  });
});

describe('prepareData (classification and encodings)', () => {
  it('iris: sorted label vocabulary and one-hot targets', async () => {
    const iris = await loadTable('file://data/iris.csv', { baseDir: examples });
    const p = prepareData(builtin('classification', { target: 'species' }), iris);
    expect(p.preprocess.target).toEqual({
      type: 'label',
      name: 'species',
      labels: ['setosa', 'versicolor', 'virginica'],
    });
    expect(p.targetSize).toBe(3);
    expect(p.rows).toEqual({ total: 150, train: 120, validation: 30, dropped: 0 });
    expect(p.train.y).toHaveLength(120 * 3);
    for (let s = 0; s < p.train.count; s++) {
      const row = Array.from(p.train.y.subarray(s * 3, s * 3 + 3));
      expect(row.reduce((a, b) => a + b)).toBe(1);
      expect(p.preprocess.target.type === 'label' && p.preprocess.target.labels[row.indexOf(1)]).toBe(
        iris.rows[p.train.rowIndex![s]].species,
      );
    }
  });

  it('categorical: frequency then name, <missing> as a category, unknown -> all zeros, hashing past maxCategories', () => {
    const colours = ['red', 'blue', 'blue', 'green', 'red', null, 'teal', 'blue', 'red', 'green'];
    const rows = Array.from({ length: 200 }, (_, i) => ({ colour: colours[i % colours.length], y: i % 7 }));
    const p = prepareData(builtin('regression', { validationSplit: 0.1 }), table(rows));
    const colour = feature(p, 'colour', 'categorical');
    const counts = new Map<string, number>();
    for (const i of p.train.rowIndex!) {
      const key = rows[i].colour ?? '<missing>';
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(colour.vocabulary).toEqual(rankCategories(counts));
    expect(colour.vocabulary.slice(0, 2).sort()).toEqual(['blue', 'red']);
    expect(colour.vocabulary.slice(2)).toEqual(['green', '<missing>', 'teal']);
    expect(
      rankCategories(
        new Map([
          ['b', 2],
          ['a', 2],
          ['c', 5],
        ]),
      ),
    ).toEqual(['c', 'a', 'b']);

    const slot = (value: string) => colour.vocabulary.indexOf(value);
    const encoded = encodeInstances(p.preprocess, [
      { colour: 'purple' },
      { colour: null },
      { colour: 'blue' },
      {},
    ]);
    if (!encoded.ok) throw new Error('rejected');
    const hot = (k: number) =>
      Array.from(encoded.x.subarray(k * 5, k * 5 + 5)).flatMap((v, i) => (v === 1 ? [i] : []));
    expect(hot(0)).toEqual([]); // unknown: all zeros
    expect(hot(1)).toEqual([slot('<missing>')]);
    expect(hot(2)).toEqual([slot('blue')]);
    expect(hot(3)).toEqual([slot('<missing>')]); // absent = missing

    const hashed = prepareData(
      builtin('regression', { validationSplit: 0.1, maxCategories: 3 }),
      table(rows),
    );
    expect(feature(hashed, 'colour', 'categorical')).toEqual({
      name: 'colour',
      type: 'categorical',
      vocabulary: [],
      hashBuckets: 3,
    });
    expect(hashed.preprocess.encodedWidth).toBe(3);
    // Every row, known value or not, lights exactly one bucket.
    for (let s = 0; s < hashed.train.count; s++)
      expect(Array.from(hashed.train.x.subarray(s * 3, s * 3 + 3)).sort()).toEqual([0, 0, 1]);
    const unseen = encodeInstances(hashed.preprocess, [{ colour: 'never-seen' }]);
    expect(unseen.ok && Array.from(unseen.x).sort()).toEqual([0, 0, 1]);
  });

  it('boolean -> 0/1 with the most frequent value as fill; a constant column encodes as 0; dates standardised', () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({
      member: i % 10 === 0 ? 'NA' : i % 3 === 0 ? 'no' : 'yes',
      constant: 5,
      day: `2024-01-${String((i % 28) + 1).padStart(2, '0')}`,
      y: i,
    }));
    const p = prepareData(builtin('regression', {}), table(rows));
    expect(p.columnTypes).toEqual({ member: 'boolean', constant: 'numeric', day: 'date', y: 'numeric' });
    expect(feature(p, 'member', 'boolean')).toEqual({ name: 'member', type: 'boolean', fill: 1 });
    expect(feature(p, 'constant', 'numeric')).toMatchObject({ mean: 5, std: 1, fill: 5 });
    const day = feature(p, 'day', 'date');
    expect(day.mean).toBeGreaterThan(19_723); // 2024-01-01 in epoch days
    for (let s = 0; s < p.train.count; s++) {
      const row = rows[p.train.rowIndex![s]];
      expect(p.train.x[s * 3]).toBe(row.member === 'NA' ? 1 : row.member === 'yes' ? 1 : 0);
      expect(p.train.x[s * 3 + 1]).toBe(0);
    }
  });

  it('needs at least two rows with a target', () => {
    expect(() =>
      prepareData(
        builtin('regression', {}),
        table([
          { a: 1, y: 1 },
          { a: 2, y: null },
        ]),
      ),
    ).toThrow(/only 1 row\(s\) have a value for the target "y"/);
  });

  it('prepares 100k rows x 10 columns quickly (sanity bound, not a benchmark)', () => {
    const cities = ['Warsaw', 'Paris', 'Rome', 'Oslo', 'Lima'];
    const rows = Array.from({ length: 100_000 }, (_, i) => ({
      a: i % 97,
      b: (i * 7) % 101,
      c: String((i * 13) % 89),
      d: i % 2 === 0 ? null : i * 0.5,
      e: (i * 31) % 1000,
      f: cities[i % 5],
      g: `id${i % 5000}`,
      h: i % 3 === 0,
      i: `2020-01-${String((i % 28) + 1).padStart(2, '0')}`,
      y: (i % 13) + 0.5,
    }));
    const started = performance.now();
    const p = prepareData(builtin('regression', {}), table(rows));
    const ms = performance.now() - started;
    expect(p.train.count + p.validation.count).toBe(100_000);
    // Measured ~0.3 s on 2 shared cores; the bound only catches an accidental quadratic.
    expect(ms).toBeLessThan(5_000);
  });
});
