/**
 * The prepared-data cache (issue 17 item 9): a hit returns the same arrays as preparing again; the
 * key follows the data bytes and the spec; a damaged file is recomputed and replaced; a folder
 * others can write to is not used; the folder is trimmed to MAX_ENTRIES; and `mlform train` with
 * MLFORM_DATA_CACHE trains the same model from the cache. Run `npm run build` first (CLI part).
 */
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltinTrainer } from '../../resources/training-run.js';
import { loadTable } from '../../trainer/data/load-table.js';
import { prepareData } from '../../trainer/data/prepare.js';
import { MAX_ENTRIES, prepareCached, preparedKey } from '../../trainer/data/prepared-cache.js';
import { runCli } from '../e2e/cli.js';

const examples = join(import.meta.dirname, '../../examples');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-cache-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const forecast = {
  task: 'forecasting',
  seed: 5,
  data: {
    uri: 'file://data/seattle-weather.csv',
    target: 'temp_max',
    features: ['precipitation', 'weather'],
    validationSplit: 0.2,
    maxCategories: 64,
    window: { size: 7, horizon: 1, timeColumn: 'date' },
  },
} as unknown as BuiltinTrainer;

const entries = async (folder: string) => (await readdir(folder)).filter((n) => n.endsWith('.bin'));

describe('prepareCached', () => {
  it('a hit equals a fresh preparation; another seed is another entry; damage is repaired', async () => {
    const cache = join(dir, 'a');
    const table = await loadTable(forecast.data.uri, { baseDir: examples });
    const fresh = prepareData(forecast, table);
    const first = await prepareCached(forecast, table, cache);
    expect(await entries(cache)).toEqual([`${preparedKey(forecast, table.sha256)}.bin`]);
    const hit = await prepareCached(forecast, table, cache);
    expect(hit).toEqual(fresh);
    expect(first).toEqual(fresh);
    expect(hit.train.anchor).toBeInstanceOf(Float64Array);

    const other = { ...forecast, seed: 6 };
    await prepareCached(other, table, cache);
    expect(await entries(cache)).toHaveLength(2);

    const file = join(cache, `${preparedKey(forecast, table.sha256)}.bin`);
    const bytes = await readFile(file);
    await writeFile(file, bytes.subarray(0, bytes.length - 10));
    expect(await prepareCached(forecast, table, cache)).toEqual(fresh);
    expect((await readFile(file)).length).toBe(bytes.length);
  });

  it('does not use a folder others can write to', async () => {
    const cache = join(dir, 'open');
    await mkdir(cache);
    await chmod(cache, 0o777);
    const table = await loadTable(forecast.data.uri, { baseDir: examples });
    const messages: string[] = [];
    await prepareCached(forecast, table, cache, (m) => messages.push(m));
    expect(messages).toEqual([`data cache ${cache} is writable by others: not used`]);
    expect(await entries(cache)).toEqual([]);
  });

  it(`keeps the newest ${MAX_ENTRIES} entries`, async () => {
    const cache = join(dir, 'full');
    await mkdir(cache, { mode: 0o700 });
    const old = new Date(Date.now() - 86_400_000);
    for (let i = 0; i < MAX_ENTRIES; i++) {
      const name = join(cache, `${createHash('sha256').update(String(i)).digest('hex')}.bin`);
      await writeFile(name, 'stale');
      await utimes(name, old, old);
    }
    const table = await loadTable(forecast.data.uri, { baseDir: examples });
    await prepareCached(forecast, table, cache);
    const left = await entries(cache);
    expect(left).toHaveLength(MAX_ENTRIES);
    expect(left).toContain(`${preparedKey(forecast, table.sha256)}.bin`);
  });
});

describe('MLFORM_DATA_CACHE from the CLI', () => {
  it('the second training reads the cache and trains the same weights', async () => {
    const cache = join(dir, 'cli');
    const project = join(dir, 'project');
    await mkdir(project);
    await copyFile(join(examples, 'data/iris.csv'), join(project, 'iris.csv'));
    await writeFile(
      join(project, 'iris.yaml'),
      [
        'apiVersion: mlform/v1',
        'kind: TrainingRun',
        'metadata: {name: iris-cached}',
        'spec:',
        '  trainer:',
        '    builtin:',
        '      task: classification',
        '      data: {uri: file://iris.csv, target: species}',
        '      network: {type: mlp, layers: [8]}',
        '      hyperparameters: {epochs: 3, batchSize: 16, learningRate: 0.01}',
        '      seed: 2',
        '',
      ].join('\n'),
    );
    const train = (out: string) =>
      runCli(['train', '--spec', join(project, 'iris.yaml'), '--out', join(dir, out)], 120_000, {
        MLFORM_DATA_CACHE: cache,
      });
    const a = train('iris-a');
    expect(a.code, a.out).toBe(0);
    expect(await entries(cache)).toHaveLength(1);
    const b = train('iris-b');
    expect(b.code, b.out).toBe(0);
    const weights = async (out: string) => (await readFile(join(dir, out, 'weights.bin'))).toString('hex');
    expect(await weights('iris-b')).toBe(await weights('iris-a'));
  }, 120_000);
});
