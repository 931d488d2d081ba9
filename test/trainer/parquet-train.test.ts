/**
 * Parquet end to end (issue 17 item 8): the example validates and trains from the built CLI, and
 * Parquet and CSV of the same table train the same model with the same seed, bit for bit (weights'
 * sha256 and metrics.json metrics), for a forecast (TIMESTAMP time column) and a classification
 * (STRING target). Run `npm run build` first: the CLI runs from dist/.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveTraining } from '../../trainer/main.js';
import { runTraining } from '../../trainer/run-training.js';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { runCli } from '../e2e/cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-parquet-train-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const sha256 = async (file: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
const metricsOf = async (out: string): Promise<unknown> =>
  (JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')) as { metrics: unknown }).metrics;

describe('Parquet from the CLI', () => {
  it('validates and trains the example; CSV of the same table gives the same weights and metrics', async () => {
    const validated = runCli(['validate', 'examples/trainer/seattle-temperature-parquet.yaml']);
    expect(validated.out).toContain('1 resource in 1 file valid');
    expect(validated.code).toBe(0);

    const parquetOut = join(dir, 'parquet');
    const csvOut = join(dir, 'csv');
    const parquet = runCli([
      'train',
      '--spec',
      'examples/trainer/seattle-temperature-parquet.yaml',
      '--out',
      parquetOut,
    ]);
    expect(parquet.out).toContain('done in');
    expect(parquet.code).toBe(0);
    const csv = runCli(['train', '--spec', 'examples/trainer/seattle-temperature.yaml', '--out', csvOut]);
    expect(csv.code).toBe(0);

    expect(await sha256(join(parquetOut, 'weights.bin'))).toBe(await sha256(join(csvOut, 'weights.bin')));
    expect(await metricsOf(parquetOut)).toEqual(await metricsOf(csvOut));
    const run = JSON.parse(await readFile(join(parquetOut, 'run.json'), 'utf8')) as {
      data: { sha256: string };
    };
    expect(run.data.sha256).toBe(await sha256('examples/data/seattle-weather.parquet'));
  }, 60_000);
});

describe('Parquet in process', () => {
  it('classification with a STRING target: bit-identical to the CSV', async () => {
    const train = async (uri: string, out: string) => {
      const resolved = await resolveTraining(
        { specFile: 'examples/trainer/seattle-weather.yaml', out: join(dir, out) },
        { MLFORM_BACKEND: 'wasm' },
      );
      if (!resolved.ok) throw new Error(JSON.stringify(resolved.diagnostics));
      const spec = structuredClone(resolved.value.resource.manifest.spec) as TrainingRunSpec;
      spec.trainer.builtin!.data.uri = uri;
      spec.trainer.builtin!.hyperparameters.epochs = 4;
      await runTraining({
        spec,
        baseDir: resolved.value.baseDir,
        outDir: resolved.value.outDir,
        onEvent: () => {},
        env: { MLFORM_BACKEND: 'wasm' },
      });
      return resolved.value.outDir;
    };
    const fromParquet = await train('file://../data/seattle-weather.parquet', 'weather-parquet');
    const fromCsv = await train('file://../data/seattle-weather.csv', 'weather-csv');
    expect(await sha256(join(fromParquet, 'weights.bin'))).toBe(await sha256(join(fromCsv, 'weights.bin')));
    expect(await metricsOf(fromParquet)).toEqual(await metricsOf(fromCsv));
    const preprocess = JSON.parse(await readFile(join(fromParquet, 'preprocess.json'), 'utf8')) as {
      target: { labels: string[] };
    };
    expect(preprocess.target.labels).toEqual(['drizzle', 'fog', 'rain', 'snow', 'sun']);
  }, 60_000);
});
