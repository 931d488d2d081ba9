/**
 * Parquet files -> the rows and declared column types of a Table. Values keep their Parquet type:
 * numbers stay numbers (INT64 and DECIMAL become doubles), booleans stay booleans, timestamps and
 * dates become epoch milliseconds (what `parseDate` reads a number as), nulls stay null (missing,
 * like an empty CSV cell). Read with hyparquet (pure JS) and hyparquet-compressors (snappy, gzip,
 * zstd, brotli, lz4).
 */
import { parquetMetadata, parquetRead, parquetSchema } from 'hyparquet';
import type { FileMetaData, ParquetParsers, SchemaElement } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { errorMessage } from '../../resources/error-message.js';
import { dateTextToDays, isMissing } from '../../artifact/preprocess/values.js';
import type { ColumnType } from '../types.js';

/** One Parquet file: where it came from (for messages) and its bytes. */
export interface ParquetPart {
  name: string;
  bytes: Buffer;
}

export interface ParquetRows {
  rows: Record<string, unknown>[];
  columns: string[];
  /** Types the schema fixes (numbers, booleans, timestamps, strings); data.types still wins. */
  types: Record<string, ColumnType>;
}

/** A readable column: its name, physical/logical type as text (for messages) and mlform type. */
interface ColumnInfo {
  name: string;
  declared: string;
  kind: 'number' | 'boolean' | 'time' | 'string';
}

/** Thrown with the part's name; load-table.ts adds the URI. */
export class ParquetError extends Error {}

const MS_PER_DAY = 86_400_000;

// Times arrive as epoch milliseconds, not Date objects: a number is what the date parser reads.
const TIME_AS_MILLISECONDS: Partial<ParquetParsers> = {
  timestampFromMilliseconds: (ms: bigint) => Number(ms),
  timestampFromMicroseconds: (us: bigint) => Number(us) / 1e3,
  timestampFromNanoseconds: (ns: bigint) => Number(ns) / 1e6,
  dateFromDays: (days: number) => days * MS_PER_DAY,
};

/** Reads every part in order; all parts must have the first part's schema. */
export async function readParquetParts(parts: readonly ParquetPart[]): Promise<ParquetRows> {
  const rows: Record<string, unknown>[] = [];
  let first: { name: string; columns: ColumnInfo[] } | undefined;
  for (const part of parts) {
    const buffer = part.bytes.buffer.slice(
      part.bytes.byteOffset,
      part.bytes.byteOffset + part.bytes.byteLength,
    );
    let metadata: FileMetaData;
    try {
      metadata = parquetMetadata(buffer as ArrayBuffer);
    } catch (error) {
      throw new ParquetError(`${part.name}: not a readable Parquet file: ${errorMessage(error)}`);
    }
    const columns = columnsOf(part.name, metadata);
    if (!first) first = { name: part.name, columns };
    else checkSameSchema(first, part.name, columns);
    await readRows(part.name, buffer as ArrayBuffer, metadata, columns, rows);
  }
  if (!first) throw new ParquetError('no Parquet files to read');
  const types: Record<string, ColumnType> = {};
  for (const column of first.columns) types[column.name] = typeOf(column, rows);
  return { rows, columns: first.columns.map((c) => c.name), types };
}

function columnsOf(name: string, metadata: FileMetaData): ColumnInfo[] {
  const tree = parquetSchema(metadata);
  return tree.children.map((child): ColumnInfo => {
    const element = child.element;
    if (child.children.length > 0 || element.repetition_type === 'REPEATED') {
      throw new ParquetError(
        `${name}: column "${element.name}" is nested (a list, map or struct); mlform trains on flat columns: flatten it when writing the file`,
      );
    }
    const declared = describeType(element);
    const kind = kindOf(element);
    if (!kind) {
      throw new ParquetError(
        `${name}: column "${element.name}" has Parquet type ${declared}, which is not a number, boolean, timestamp or string; drop it or convert it when writing the file`,
      );
    }
    return { name: element.name, declared, kind };
  });
}

function describeType(element: SchemaElement): string {
  const logical = element.logical_type?.type ?? element.converted_type;
  return logical ? `${element.type ?? 'group'} (${logical})` : (element.type ?? 'group');
}

function kindOf(element: SchemaElement): ColumnInfo['kind'] | undefined {
  const logical = element.logical_type?.type;
  const converted = element.converted_type;
  if (logical === 'TIMESTAMP' || logical === 'DATE' || converted === 'DATE') return 'time';
  if (converted === 'TIMESTAMP_MILLIS' || converted === 'TIMESTAMP_MICROS' || element.type === 'INT96')
    return 'time';
  if (converted === 'DECIMAL' || logical === 'DECIMAL' || logical === 'FLOAT16') return 'number';
  if (
    logical === 'STRING' ||
    logical === 'ENUM' ||
    logical === 'UUID' ||
    converted === 'UTF8' ||
    converted === 'ENUM'
  )
    return 'string';
  // Times of day, JSON, BSON, intervals, geometry and raw bytes have no column type here.
  if (logical !== undefined || converted !== undefined) {
    return converted?.startsWith('INT_') || converted?.startsWith('UINT_') || logical === 'INTEGER'
      ? 'number'
      : undefined;
  }
  switch (element.type) {
    case 'BOOLEAN':
      return 'boolean';
    case 'INT32':
    case 'INT64':
    case 'FLOAT':
    case 'DOUBLE':
      return 'number';
    case 'BYTE_ARRAY':
      return 'string'; // hyparquet decodes unannotated byte arrays as UTF-8, as most writers mean them
    default:
      return undefined;
  }
}

function checkSameSchema(
  first: { name: string; columns: ColumnInfo[] },
  name: string,
  columns: readonly ColumnInfo[],
): void {
  const differs = (problem: string): never => {
    throw new ParquetError(
      `${name}: its schema differs from ${first.name}'s (${problem}); every part file must have the same columns and types`,
    );
  };
  const expected = first.columns;
  for (let i = 0; i < Math.max(expected.length, columns.length); i++) {
    const a = expected[i];
    const b = columns[i];
    if (!b) differs(`column "${a.name}" is missing`);
    else if (!a) differs(`it has an extra column "${b.name}"`);
    else if (a.name !== b.name) differs(`column ${i + 1} is "${b.name}", not "${a.name}"`);
    else if (a.declared !== b.declared) differs(`column "${a.name}" is ${b.declared}, not ${a.declared}`);
  }
}

async function readRows(
  name: string,
  buffer: ArrayBuffer,
  metadata: FileMetaData,
  columns: readonly ColumnInfo[],
  into: Record<string, unknown>[],
): Promise<void> {
  const names = columns.map((c) => c.name);
  const numeric = columns.map((c) => c.kind === 'number' || c.kind === 'time');
  let arrays: unknown[][] = [];
  try {
    await parquetRead({
      file: buffer,
      metadata,
      compressors,
      parsers: TIME_AS_MILLISECONDS,
      rowFormat: 'array',
      onComplete: (rows: unknown[][]) => {
        arrays = rows;
      },
    });
  } catch (error) {
    throw new ParquetError(`${name}: cannot read its rows: ${errorMessage(error)}`);
  }
  for (const values of arrays) {
    const row: Record<string, unknown> = {};
    for (let c = 0; c < names.length; c++) {
      const value = values[c];
      // INT64 arrives as bigint; doubles are exact below 2^53, far beyond any feature value.
      row[names[c]] = numeric[c] && typeof value === 'bigint' ? Number(value) : (value ?? null);
    }
    into.push(row);
  }
}

/**
 * The column type a Parquet column fixes. Strings are categorical, unless every present value is an
 * ISO date (a time column written as text); numeric-looking strings stay categories, since the
 * writer chose text over a number type.
 */
function typeOf(column: ColumnInfo, rows: readonly Record<string, unknown>[]): ColumnType {
  switch (column.kind) {
    case 'number':
      return 'numeric';
    case 'boolean':
      return 'boolean';
    case 'time':
      return 'date';
    case 'string': {
      let present = 0;
      for (const row of rows) {
        const value = row[column.name];
        if (isMissing(value)) continue;
        if (typeof value !== 'string' || dateTextToDays(value) === undefined) return 'categorical';
        present++;
      }
      return present > 0 ? 'date' : 'categorical';
    }
  }
}
