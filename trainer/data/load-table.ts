/**
 * Reads a training table from `file://` or `gs://` into plain row objects. Values stay as written
 * (CSV cells are strings); column types are inferred afterwards from all values at once.
 */
import { errorMessage } from '../../resources/error-message.js';
import { createHash, hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';
import { dirname, isAbsolute } from 'node:path';
import { isInside, realLocation } from '../../manifests/tree-root.js';
import { DATA_ROOTS_ENV, isGcsUri, storeFor, toLocalPath } from '../../artifact/storage.js';
import type { DataFormat } from '../../resources/training-run.js';
import type { ColumnType } from '../types.js';
import { ParquetError, readParquetParts } from './parquet.js';
import { parquetParts } from './parquet-parts.js';
import { parsePlainCsv } from './csv-columns.js';
import { hashFile, streamNumericCsv } from './csv-stream.js';

export type TableFormat = DataFormat;

export interface Table {
  /** Row objects (built on first read for the fast CSV path: prefer `count` and `numeric`). */
  rows: Record<string, unknown>[];
  /** Number of rows (without reading `rows`); absent on tables built by hand, see rowCount. */
  count?: number;
  /** Every column, in order of first appearance. */
  columns: string[];
  /** sha256 (hex) of the raw bytes: the data fingerprint recorded in run.json and on versions. */
  sha256: string;
  bytes: number;
  /**
   * Column types known from reading the file (a Parquet schema; CSV columns that parsed as numbers
   * throughout); inference fills in the others, data.types overrides both.
   */
  types?: Record<string, ColumnType>;
  /** CSV columns whose every cell is decimal text or missing, parsed once (NaN = missing). */
  numeric?: ReadonlyMap<string, Float64Array>;
}

export interface LoadTableOptions {
  format?: TableFormat;
  /** Folder `file://` URIs are relative to: the manifest's folder. */
  baseDir: string;
  /**
   * Folders local data must resolve inside (after realpath); undefined: no check (tests, benches).
   * `mlform train` always passes them (`MLFORM_DATA_ROOTS`, see README.md).
   */
  allowedRoots?: readonly string[];
}

/** The roots in `MLFORM_DATA_ROOTS`, or a message saying why the value is unusable. */
export function parseDataRoots(value: string): { roots: string[] } | { problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string' && isAbsolute(p))) {
    return { problem: `${DATA_ROOTS_ENV} must be a JSON array of absolute folder paths` };
  }
  return { roots: parsed as string[] };
}

/**
 * Undefined when a local data URI resolves (realpath of the file, or of its deepest existing
 * folder) inside one of `roots`; else the message to refuse it with. The same rule the manifest
 * loader applies at plan time, applied again where the file is opened.
 */
export async function checkDataLocation(
  uri: string,
  baseDir: string,
  roots: readonly string[],
): Promise<string | undefined> {
  if (isGcsUri(uri)) return undefined;
  const real = await realLocation(toLocalPath(uri, baseDir));
  const realRoots = await Promise.all(roots.map((r) => realLocation(r)));
  if (realRoots.some((root) => isInside(real, root))) return undefined;
  const folders = realRoots.length > 0 ? realRoots.join(', ') : 'none';
  return `resolves to a file in ${dirname(real)}, outside the folders local data may be read from (${folders})`;
}

export const rowCount = (table: Pick<Table, 'rows' | 'count'>): number => table.count ?? table.rows.length;

export class DataLoadError extends Error {
  override readonly name = 'DataLoadError';
  constructor(
    readonly uri: string,
    message: string,
  ) {
    super(`${uri}: ${message}`);
  }
}

export function formatFromUri(uri: string): TableFormat | undefined {
  // indexOf, not a regex: compiling one is ~50 us of a ~1 ms cache hit in a fresh process.
  const query = [uri.indexOf('?'), uri.indexOf('#')].filter((i) => i !== -1);
  const path = (query.length > 0 ? uri.slice(0, Math.min(...query)) : uri).toLowerCase();
  if (path.endsWith('.csv')) return 'csv';
  if (path.endsWith('.json')) return 'json';
  if (path.endsWith('.jsonl') || path.endsWith('.ndjson')) return 'jsonl';
  // A folder URI holds part files: Parquet is the format written that way.
  if (path.endsWith('.parquet') || path.endsWith('/')) return 'parquet';
  return undefined;
}

/**
 * The bytes of a table's source, read once: what the fingerprint hashes and what `parseSource`
 * parses. A CSV / JSON / JSONL file is one part; Parquet is one part per file, in name order.
 */
export interface TableSource {
  uri: string;
  format: TableFormat;
  parts: { name: string; bytes: Buffer }[];
  /** sha256 (hex) of every part's bytes in order (Table.sha256). */
  sha256: string;
  /** Total size in bytes (Table.bytes). */
  bytes: number;
}

/** loadTable: read the bytes once, then parse them. */
export async function loadTable(uri: string, options: LoadTableOptions): Promise<Table> {
  return parseSource(await readSource(uri, options));
}

/**
 * Reads and fingerprints a table's bytes without parsing them (the prepared-data cache needs only
 * the fingerprint on a hit). Checks the format and, with `allowedRoots`, the data location first.
 */
export async function readSource(uri: string, options: LoadTableOptions): Promise<TableSource> {
  return readCheckedSource(uri, await checkSource(uri, options), options.baseDir);
}

/**
 * The format of the table at `uri`, once its location is allowed (`allowedRoots`); throws a
 * DataLoadError saying why not.
 */
export async function checkSource(uri: string, options: LoadTableOptions): Promise<TableFormat> {
  const format = options.format ?? formatFromUri(uri);
  if (!format) {
    throw new DataLoadError(
      uri,
      'cannot tell the format from the extension; set data.format to csv, json, jsonl or parquet',
    );
  }
  if (options.allowedRoots) {
    const refused = await checkDataLocation(uri, options.baseDir, options.allowedRoots);
    if (refused) throw new DataLoadError(uri, refused);
  }
  return format;
}

/** readSource after checkSource. */
export async function readCheckedSource(
  uri: string,
  format: TableFormat,
  baseDir: string,
): Promise<TableSource> {
  const files =
    format === 'parquet'
      ? await parquetFiles(uri, baseDir)
      : [{ uri, name: uri.slice(uri.lastIndexOf('/') + 1) }];
  const parts = [];
  for (const file of files) parts.push({ name: file.name, bytes: await readBytes(file.uri, baseDir) });
  const bytes = parts.reduce((sum, part) => sum + part.bytes.length, 0);
  return { uri, format, parts, sha256: sha256Of(parts), bytes };
}

/**
 * A local CSV file of numeric columns read in chunks, hashed and parsed as it is read
 * (csv-stream.ts), with the fast path's Table; undefined when the file is not one (read it whole:
 * readCheckedSource, parseSource). `rows`, asked only for an override to another type, reads the
 * file again and checks it is the same bytes.
 */
export function streamCsvTable(uri: string, path: string): Table | undefined {
  const streamed = localRead(uri, path, () => streamNumericCsv(path));
  if (!streamed) return undefined;
  checkHeader(uri, streamed.header);
  if (streamed.count === 0) throw new DataLoadError(uri, 'the file holds no rows');
  const { header, count, numeric, sha256, bytes } = streamed;
  let rows: Record<string, string>[] | undefined;
  return {
    get rows() {
      return (rows ??= sameBytes(uri, path, sha256, (again) => parsePlainCsv(again)?.rows()));
    },
    count,
    columns: header,
    sha256,
    bytes,
    types: Object.fromEntries(header.map((c) => [c, 'numeric' as const])),
    numeric,
  };
}

/** A data file whose bytes differ between two reads of one training. */
export const changedWhileRead = (uri: string): DataLoadError =>
  new DataLoadError(uri, 'the file changed while it was being read; run again');

/** sha256 and size of a local file, read in chunks (nothing kept). */
export function fingerprintFile(uri: string, path: string): { sha256: string; bytes: number } {
  return localRead(uri, path, () => hashFile(path));
}

/**
 * `parse` of the file read whole, if it still hashes to `sha256`: a table read in two passes must
 * be of one file's bytes. A file changed in between is an error to run again from.
 */
export function sameBytes<T>(
  uri: string,
  path: string,
  sha256: string,
  parse: (bytes: Buffer) => T | undefined,
): T {
  const bytes = localRead(uri, path, () => readFileSync(path));
  const parsed = hash('sha256', bytes, 'hex') === sha256 ? parse(bytes) : undefined;
  if (parsed === undefined)
    throw new DataLoadError(uri, 'the file changed while it was being read; run again');
  return parsed;
}

/**
 * sha256 (hex) of the parts' bytes in order. One part (every file but a folder of Parquet parts)
 * goes through the one-shot crypto.hash: ~0.2 ms less than a Hash object on a process's first
 * use, a tenth of a cache hit on a small table.
 */
function sha256Of(parts: readonly { bytes: Buffer }[]): string {
  if (parts.length === 1) return hash('sha256', parts[0].bytes, 'hex');
  const sha256 = createHash('sha256');
  for (const part of parts) sha256.update(part.bytes);
  return sha256.digest('hex');
}

/** The rows (and what the reader knows of their columns) of bytes `readSource` read. */
export async function parseSource(source: TableSource): Promise<Table> {
  const { uri, format, sha256, bytes } = source;
  if (format === 'parquet') return parseParquet(source);
  const raw = source.parts[0].bytes;
  if (format === 'csv') {
    // The bytes themselves: decoding 28 MB to a string costs as much as a third of the scan.
    const plain = parsePlainCsv(raw);
    if (plain) {
      checkHeader(uri, plain.header);
      if (plain.count === 0) throw new DataLoadError(uri, 'the file holds no rows');
      // A column that parsed as numbers throughout is what inference would call numeric.
      const types = Object.fromEntries([...plain.numeric.keys()].map((c) => [c, 'numeric' as const]));
      const { header, count, numeric } = plain;
      return {
        // Row objects only if something reads them: an all-numeric table never needs them.
        get rows() {
          return plain.rows();
        },
        count,
        columns: header,
        sha256,
        bytes,
        types,
        numeric,
      };
    }
  }
  // A UTF-8 byte order mark is common in files saved by spreadsheet software.
  const text = raw.toString('utf8').replace(/^\uFEFF/, '');
  const rows =
    format === 'csv'
      ? parseCsvRows(uri, text)
      : format === 'json'
        ? parseJsonRows(uri, text)
        : parseJsonLines(uri, text);
  if (rows.length === 0) throw new DataLoadError(uri, 'the file holds no rows');
  return { rows, count: rows.length, columns: columnsOf(rows), sha256, bytes };
}

/** A Parquet file or folder of part files (parquet-parts.ts). */
async function parquetFiles(uri: string, baseDir: string): Promise<{ uri: string; name: string }[]> {
  const parts = await parquetParts(uri, baseDir).catch((error: unknown) => {
    throw new DataLoadError(uri, `cannot list the Parquet files: ${errorMessage(error)}`);
  });
  if (typeof parts === 'string') throw new DataLoadError(uri, parts);
  return parts;
}

async function parseParquet({ uri, parts, sha256, bytes }: TableSource): Promise<Table> {
  try {
    const { rows, columns, types } = await readParquetParts(parts);
    if (rows.length === 0) throw new DataLoadError(uri, 'the Parquet files hold no rows');
    return { rows, count: rows.length, columns, types, sha256, bytes };
  } catch (error) {
    if (error instanceof ParquetError) throw new DataLoadError(uri, error.message);
    throw error;
  }
}

async function readBytes(uri: string, baseDir: string): Promise<Buffer> {
  if (isGcsUri(uri)) {
    try {
      return await storeFor(uri).read(uri);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === 404) throw new DataLoadError(uri, 'object not found');
      throw new DataLoadError(uri, `cannot read: ${errorMessage(error)}`);
    }
  }
  const path = toLocalPath(uri, baseDir);
  // Synchronous on purpose: fs/promises' readFile is an open, fstat, chunked reads and a close,
  // each a thread-pool round trip (~0.5 ms of a cached 100 kB file, a third of a cache hit), and
  // nothing else runs while a training waits for its data.
  return localRead(uri, path, () => readFileSync(path));
}

/** `read` of a local data file, its errors told as the file's (not found, a folder, unreadable). */
function localRead<T>(uri: string, path: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') throw new DataLoadError(uri, `file not found (looked for ${path})`);
    if (code === 'EISDIR') throw new DataLoadError(uri, `is a directory, not a file (${path})`);
    throw new DataLoadError(uri, `cannot read ${path}: ${errorMessage(error)}`);
  }
}

function parseCsvRows(uri: string, text: string): Record<string, unknown>[] {
  try {
    return parseCsv(text, {
      columns: (header: string[]) => checkHeader(uri, header),
      skip_empty_lines: true,
      cast: false,
    });
  } catch (error) {
    if (error instanceof DataLoadError) throw error;
    const line = (error as { lines?: unknown }).lines;
    const where = typeof line === 'number' ? ` at line ${line}` : '';
    throw new DataLoadError(uri, `not valid CSV${where}: ${errorMessage(error)}`);
  }
}

function checkHeader(uri: string, header: string[]): string[] {
  const seen = new Set<string>();
  header.forEach((name, index) => {
    if (name.trim() === '') throw new DataLoadError(uri, `CSV header: column ${index + 1} has no name`);
    if (seen.has(name)) throw new DataLoadError(uri, `CSV header: column "${name}" appears twice`);
    seen.add(name);
  });
  return header;
}

function parseJsonRows(uri: string, text: string): Record<string, unknown>[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new DataLoadError(uri, `not valid JSON${jsonErrorWhere(text, error)}: ${errorMessage(error)}`);
  }
  if (!Array.isArray(data)) {
    throw new DataLoadError(
      uri,
      'expected a JSON array of row objects (or use format: jsonl for one object per line)',
    );
  }
  data.forEach((row, index) => checkRow(uri, row, `element ${index}`));
  return data as Record<string, unknown>[];
}

function parseJsonLines(uri: string, text: string): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (error) {
      throw new DataLoadError(uri, `not valid JSON at line ${i + 1}: ${errorMessage(error)}`);
    }
    rows.push(checkRow(uri, row, `line ${i + 1}`));
  }
  return rows;
}

function checkRow(uri: string, row: unknown, where: string): Record<string, unknown> {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) {
    const got = row === null ? 'null' : Array.isArray(row) ? 'an array' : typeof row;
    throw new DataLoadError(uri, `${where}: expected an object of column values, got ${got}`);
  }
  return row as Record<string, unknown>;
}

/** " at line L" from V8's "... at position N" (Node 20 reports no line itself). */
function jsonErrorWhere(text: string, error: unknown): string {
  const match = /position (\d+)/.exec(errorMessage(error));
  if (!match) return '';
  const position = Number(match[1]);
  let line = 1;
  for (let i = 0; i < position && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return ` at line ${line}`;
}

function columnsOf(rows: Record<string, unknown>[]): string[] {
  const seen = new Set<string>();
  const columns: string[] = [];
  for (const row of rows) {
    for (const key in row) {
      if (!seen.has(key)) {
        seen.add(key);
        columns.push(key);
      }
    }
  }
  return columns;
}
