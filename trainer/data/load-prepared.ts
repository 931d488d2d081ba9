/**
 * The data pipeline's one entry point: `data.uri` -> PreparedData. The source bytes are read once
 * and hashed; the prepared-data cache (prepared-cache.ts) is asked by that fingerprint; the bytes
 * are parsed only on a miss (or without a cache). A tuning trial or a retrain on unchanged data
 * then costs a read, a sha256 and the cache file, not a parse and a preparation.
 */
import type { BuiltinTrainer } from '../../resources/training-run.js';
import type { ColumnType, PreparedData } from '../types.js';
import {
  changedWhileRead,
  checkSource,
  fingerprintFile,
  parseSource,
  readCheckedSource,
  streamCsvTable,
  type LoadTableOptions,
  type Table,
  type TableFormat,
} from './load-table.js';
import { isGcsUri, toLocalPath } from '../../artifact/storage.js';
import { statSync } from 'node:fs';
import { prepareByFingerprint, readCompanion, writeCompanion } from './prepared-cache.js';
import { columnStatistics, numericStatistics } from '../../monitoring/reference.js';
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
  const { uri } = builtin.data;
  const format = await checkSource(uri, { ...options, format: options.format ?? builtin.data.format });
  const { cacheDir, log = () => {} } = options;
  // A large local CSV is read in chunks, never whole (csv-stream.ts): hashed and parsed in one
  // pass without a cache; with one, hashed first (a hit needs nothing else), then parsed on a miss.
  // Each way is a function of its own: a fresh process compiles only the one it takes.
  const path = format === 'csv' && !isGcsUri(uri) ? streamedPath(uri, options.baseDir) : undefined;
  const { fingerprint, table } =
    path === undefined
      ? await readWhole(uri, format, options.baseDir)
      : cacheDir === undefined
        ? await streamOnce(uri, path, format, options.baseDir)
        : fingerprintThenStream(uri, path, format, options.baseDir);
  const { data, hit, key } = await prepareByFingerprint({
    builtin,
    fingerprint: fingerprint.sha256,
    table,
    dir: cacheDir,
    log,
    mlformVersion: options.mlformVersion,
  });
  const cache = cacheDir !== undefined && key !== undefined ? { dir: cacheDir, key } : undefined;
  return {
    data,
    source: fingerprint,
    cached: hit,
    table,
    featureStatistics: () => featureStatisticsOf(data, table, cache, log),
  };
}

interface Source {
  fingerprint: { sha256: string; bytes: number };
  /** The table, parsed on first call. */
  table: () => Promise<Table>;
}

/** The bytes read whole and hashed; parsed from them on first call. */
async function readWhole(uri: string, format: TableFormat, baseDir: string): Promise<Source> {
  const source = await readCheckedSource(uri, format, baseDir);
  let parsed: Promise<Table> | undefined;
  return {
    fingerprint: { sha256: source.sha256, bytes: source.bytes },
    table: () => (parsed ??= parseSource(source)),
  };
}

/** A local CSV streamed, or read whole when it is not a plain table of numbers. */
async function parseLocalCsv(
  uri: string,
  path: string,
  format: TableFormat,
  baseDir: string,
): Promise<Table> {
  return streamCsvTable(uri, path) ?? parseSource(await readCheckedSource(uri, format, baseDir));
}

/** Hashed and parsed in one chunked pass. */
async function streamOnce(uri: string, path: string, format: TableFormat, baseDir: string): Promise<Source> {
  const parsed = await parseLocalCsv(uri, path, format, baseDir);
  return {
    fingerprint: { sha256: parsed.sha256, bytes: parsed.bytes },
    table: () => Promise.resolve(parsed),
  };
}

/**
 * The fingerprint from a chunked hash (all a cache hit needs), the table from a second read on
 * first call, refused unless it is of the bytes the fingerprint (and the cache key) is of.
 */
function fingerprintThenStream(uri: string, path: string, format: TableFormat, baseDir: string): Source {
  const fingerprint = fingerprintFile(uri, path);
  const read = async (): Promise<Table> => {
    const table = await parseLocalCsv(uri, path, format, baseDir);
    if (table.sha256 !== fingerprint.sha256) throw changedWhileRead(uri);
    return table;
  };
  let parsed: Promise<Table> | undefined;
  return { fingerprint, table: () => (parsed ??= read()) };
}

/**
 * statistics.json's features: kept beside the cache entry when an earlier run computed them, else
 * computed from the table (and kept).
 */
async function featureStatisticsOf(
  data: PreparedData,
  table: () => Promise<Table>,
  cache: { dir: string; key: string } | undefined,
  log: (message: string) => void,
): Promise<Record<string, FeatureStatistics>> {
  const features = statisticsFeatures(data);
  if (cache) {
    const kept = await readCompanion(cache.dir, cache.key).catch((error: unknown) => {
      log(`data cache: cannot read the feature statistics of ${cache.key}: ${errorMessage(error)}`);
    });
    if (isStatisticsOf(kept, features)) return kept;
  }
  const computed = tableFeatureStatistics(await table(), data.train.rowIndex ?? [], features);
  if (cache) {
    await writeCompanion(cache.dir, cache.key, computed).catch((error: unknown) => {
      log(`data cache: cannot write the feature statistics of ${cache.key}: ${errorMessage(error)}`);
    });
  }
  return computed;
}

/**
 * Files from this size on are streamed. Below it, one read and the one-shot hash cost less (a
 * chunked read and a Hash object are ~0.3 ms more on a process's first use, a fifth of a cache
 * hit on cars.json) and the page faults of a small buffer are nothing.
 */
const STREAM_FROM = 4 * 2 ** 20;

/** The local path of a CSV file large enough to stream, else undefined (read whole). */
function streamedPath(uri: string, baseDir: string): string | undefined {
  const path = toLocalPath(uri, baseDir);
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return undefined; // the whole read reports it, with its usual message
  }
  return size >= STREAM_FROM ? path : undefined;
}

/**
 * referenceFeatures of the training rows, reading a numeric feature from its parsed column where
 * the table has one (the same numbers its cells parse to): a table of numbers then builds no row
 * objects at all.
 */
function tableFeatureStatistics(
  table: Table,
  train: ArrayLike<number>,
  features: readonly { name: string; type: ColumnType }[],
): Record<string, FeatureStatistics> {
  // fromEntries: a column named `__proto__` is a feature like any other.
  return Object.fromEntries(
    features.map(({ name, type }) => {
      const column = type === 'numeric' ? table.numeric?.get(name) : undefined;
      if (!column) return [name, columnStatistics(table.rows, train, name, type)];
      return [
        name,
        numericStatistics(Float64Array.from({ length: train.length }, (_, i) => column[train[i]])),
      ];
    }),
  );
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
