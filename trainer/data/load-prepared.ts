/**
 * The data pipeline's one entry point: `data.uri` -> PreparedData. The source bytes are read once
 * and hashed; the prepared-data cache (prepared-cache.ts) is asked by that fingerprint; the bytes
 * are parsed only on a miss (or without a cache). A tuning trial or a retrain on unchanged data
 * then costs a read, a sha256 and the cache file, not a parse and a preparation.
 */
import type { BuiltinTrainer } from '../../resources/training-run.js';
import type { PreparedData } from '../types.js';
import { parseSource, readSource, type LoadTableOptions, type Table } from './load-table.js';
import { prepareByFingerprint } from './prepared-cache.js';

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
}

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
  const { data, hit } = await prepareByFingerprint({
    builtin,
    fingerprint: source.sha256,
    table,
    dir: options.cacheDir,
    log: options.log,
    mlformVersion: options.mlformVersion,
  });
  return { data, source: { sha256: source.sha256, bytes: source.bytes }, cached: hit, table };
}
