/**
 * The data pipeline's one entry point: `data.uri` -> PreparedData. The source bytes are read once
 * and hashed; the prepared-data cache (prepared-cache.ts) is asked by that fingerprint; the bytes
 * are parsed only on a miss (or without a cache). A tuning trial or a retrain on unchanged data
 * then costs a read, a sha256 and the cache file, not a parse and a preparation.
 */
import type { BuiltinTrainer } from '../../resources/training-run.js';
import type { ColumnType, PreparedData } from '../types.js';
import { parseSource, readSource, type LoadTableOptions, type Table } from './load-table.js';
import { prepareByFingerprint, readCompanion, writeCompanion } from './prepared-cache.js';
import { referenceFeatures } from '../../monitoring/reference.js';
import type { FeatureStatistics } from '../../monitoring/statistics.js';
import { errorMessage } from '../../resources/error-message.js';

export interface LoadPreparedOptions extends LoadTableOptions {
  /** The prepared-data cache folder (MLFORM_DATA_CACHE); undefined: no cache. */
  cacheDir?: string;
  /** Where cache trouble is reported (it never fails the run). */
  log?: (message: string) => void;
  /** mlform's version, part of the cache key; undefined: read from package.json. */
  mlformVersion?: string;
}

export interface LoadedData {
  data: PreparedData;
  /** The data's fingerprint, as Table.sha256 / Table.bytes (run.json records it). */
  source: { sha256: string; bytes: number };
  /** Whether the cache answered: then nothing was parsed. */
  cached: boolean;
  /**
   * The parsed table, for what needs raw rows (statistics.json): the one parsed on a miss, or
   * parsed now from the bytes already read on a hit (no second read).
   */
  table(): Promise<Table>;
  /**
   * statistics.json's `features` (monitoring/reference.ts): the raw input columns on the training
   * rows. From the cache when an earlier run kept them beside the entry; else computed from
   * `table()` (on a hit, the one parse) and kept there for the next run.
   */
  featureStatistics(): Promise<Record<string, FeatureStatistics>>;
}

/** The raw input features statistics.json describes, with the types the data was read with. */
export const statisticsFeatures = (data: PreparedData): { name: string; type: ColumnType }[] =>
  data.preprocess.features.map((f) => ({ name: f.name, type: data.columnTypes[f.name] ?? f.type }));

export async function loadPrepared(
  builtin: BuiltinTrainer,
  options: LoadPreparedOptions,
): Promise<LoadedData> {
  const source = await readSource(builtin.data.uri, {
    ...options,
    format: options.format ?? builtin.data.format,
  });
  let parsed: Promise<Table> | undefined;
  const table = (): Promise<Table> => (parsed ??= parseSource(source));
  const { cacheDir, log = () => {} } = options;
  const { data, hit, key } = await prepareByFingerprint({
    builtin,
    fingerprint: source.sha256,
    table,
    dir: cacheDir,
    log,
    mlformVersion: options.mlformVersion,
  });
  const featureStatistics = async (): Promise<Record<string, FeatureStatistics>> => {
    const features = statisticsFeatures(data);
    const cache = cacheDir !== undefined && key !== undefined ? { dir: cacheDir, key } : undefined;
    if (cache) {
      const kept = await readCompanion(cache.dir, cache.key).catch((error: unknown) => {
        log(`data cache: cannot read the feature statistics of ${cache.key}: ${errorMessage(error)}`);
      });
      if (isStatisticsOf(kept, features)) return kept;
    }
    const computed = referenceFeatures((await table()).rows, data.train.rowIndex ?? [], features);
    if (cache) {
      await writeCompanion(cache.dir, cache.key, computed).catch((error: unknown) => {
        log(`data cache: cannot write the feature statistics of ${cache.key}: ${errorMessage(error)}`);
      });
    }
    return computed;
  };
  return {
    data,
    source: { sha256: source.sha256, bytes: source.bytes },
    cached: hit,
    table,
    featureStatistics,
  };
}

/** A record with exactly these features' names in order, each an object (what writeCompanion stored). */
function isStatisticsOf(
  value: unknown,
  features: readonly { name: string }[],
): value is Record<string, FeatureStatistics> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const names = Object.keys(value);
  return (
    names.length === features.length &&
    features.every(({ name }, i) => names[i] === name) &&
    Object.values(value).every((v) => typeof v === 'object' && v !== null)
  );
}
