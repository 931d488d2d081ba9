/**
 * A local file read in chunks into one reused buffer: hashed (`hashFile`), or hashed and scanned as
 * a plain numeric CSV as it arrives (`streamNumericCsv`). The file is never held whole: reading
 * 28 MB into a fresh buffer costs ~20 ms of page faults, more than hashing it (~17 ms), and the
 * buffer then weighs on the garbage collector while the data is prepared.
 *
 * Only a table whose every column is numeric is streamed: row objects (`Table.rows`, for a
 * categorical or a `data.types` override) are built from the file's text, so a table with a text
 * cell is read whole instead (undefined), where that text is at hand.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { ESTIMATE_SAMPLE, PlainCsvScan, estimateRows, readPlainHeader } from './csv-columns.js';

/** Bytes read at a time: 1 MiB keeps the buffer in the caches the scan reads it from. */
export const CHUNK_BYTES = 2 ** 20;
const NEWLINE = 10;

export interface StreamedCsv {
  header: string[];
  count: number;
  /** Every column, as numbers (NaN = missing). */
  numeric: Map<string, Float64Array>;
  /** sha256 (hex) of the bytes scanned, exactly those. */
  sha256: string;
  bytes: number;
}

/** sha256 (hex) and size of a local file, read in chunks. */
export function hashFile(path: string, chunkBytes = CHUNK_BYTES): { sha256: string; bytes: number } {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(Math.min(chunkBytes, fstatSync(fd).size + 1));
    const sha256 = createHash('sha256');
    let bytes = 0;
    for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) {
      sha256.update(buffer.subarray(0, n));
      bytes += n;
    }
    return { sha256: sha256.digest('hex'), bytes };
  } finally {
    closeSync(fd);
  }
}

/**
 * The file at `path` as a plain CSV of numeric columns, read to its end in chunks; undefined when
 * it is not one (a quote, a lone CR, a ragged record, a text cell, no header line): read it whole.
 */
export function streamNumericCsv(path: string, chunkBytes = CHUNK_BYTES): StreamedCsv | undefined {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    let buffer = Buffer.allocUnsafe(Math.max(1, Math.min(chunkBytes, size + 1)));
    const sha256 = createHash('sha256');
    let total = 0;
    // buffer[0, filled): bytes read and hashed, not yet scanned (the start of a record, or the header).
    let filled = 0;
    let scan: PlainCsvScan | undefined;
    for (;;) {
      // A line longer than the buffer: a larger one (never in a table of numbers, but no limit).
      if (filled === buffer.length) buffer = Buffer.concat([buffer, Buffer.allocUnsafe(buffer.length)]);
      const n = readSync(fd, buffer, filled, buffer.length - filled, null);
      const atEnd = n === 0;
      if (n > 0) {
        sha256.update(buffer.subarray(filled, filled + n));
        total += n;
        filled += n;
      }
      // Whole records only: up to the last line break, or everything at the end of the file.
      let end = atEnd ? filled : filled === 0 ? 0 : buffer.lastIndexOf(NEWLINE, filled - 1) + 1;
      let from = 0;
      const start = scan || end === 0 ? undefined : readPlainHeader(buffer.subarray(0, end), atEnd);
      // Only empty lines so far: keep them (and a byte order mark) until the header line is in.
      if (start === 'more') end = 0;
      else if (!scan && end > 0) {
        if (!start) return undefined;
        const sample = buffer.subarray(start.bodyStart, Math.min(end, start.bodyStart + ESTIMATE_SAMPLE));
        scan = new PlainCsvScan(
          start.header,
          estimateRows(sample, Math.max(0, size - start.bodyStart), start.header.length),
        );
        from = start.bodyStart;
      }
      if (scan && end > from) {
        // A view: past its end it reads `undefined`, which ends the scan's loops (csv-columns.ts).
        if (!scan.scan(buffer.subarray(from, end)) || !scan.allNumeric()) return undefined;
      }
      if (atEnd) break;
      buffer.copyWithin(0, end, filled);
      filled -= end;
    }
    if (!scan) return undefined;
    return {
      header: scan.header,
      count: scan.count,
      numeric: scan.numericColumns(),
      sha256: sha256.digest('hex'),
      bytes: total,
    };
  } finally {
    closeSync(fd);
  }
}
