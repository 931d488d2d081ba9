/**
 * The fast CSV path: one pass over the characters of a plain file (no quote characters) that finds
 * the cells and parses every column that is all numbers straight into a Float64Array, so
 * inference, fitting and encoding never parse that text again, and no row object is built unless
 * something asks for `rows` (a categorical or overridden column). csv-parse builds a row object
 * per record and leaves numbers as text, parsed three more times downstream. Anything this path
 * does not handle (quotes, a lone CR, a record with the wrong number of cells) returns undefined:
 * csv-parse then reads the file, with its error messages and line numbers.
 */
import { isMissing, numberFromText } from '../../artifact/preprocess/values.js';

export interface CsvColumns {
  header: string[];
  count: number;
  /** Columns whose every cell is decimal text or missing, as numbers (NaN = missing). */
  numeric: Map<string, Float64Array>;
  /** Row objects with the cells as text, exactly as csv-parse gives them; built on first call. */
  rows(): Record<string, string>[];
}

const COMMA = 44;
const NEWLINE = 10;
const CR = 13;
const QUOTE = 34;
const DOT = 46;
const PLUS = 43;
const MINUS = 45;
const ZERO = 48;
const NINE = 57;
const LOWER_E = 101;
const UPPER_E = 69;

/** Exact powers of ten: m / 10^k is correctly rounded when m < 2^53 and k <= 22 (Clinger). */
const POWERS = Float64Array.from({ length: 23 }, (_, k) => 10 ** k);
/** 2^53: every integer up to it is an exact double. */
const MAX_EXACT = 2 ** 53;

/**
 * Parses a CSV file if it is plain; undefined sends it to csv-parse. Bytes (UTF-8, a byte order
 * mark allowed) are scanned as they are: every character the scan decides on (comma, LF, CR,
 * quote, digits, sign, dot, e) is ASCII, and in UTF-8 no byte of a multi-byte character is, so no
 * decoding is needed until a cell's text is (a header, a cell that is not a plain decimal, `rows`).
 * Text (tests) is encoded first.
 */
export function parsePlainCsv(input: string | Uint8Array): CsvColumns | undefined {
  const buffer =
    typeof input === 'string'
      ? Buffer.from(input, 'utf8')
      : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const start = readPlainHeader(buffer, true);
  if (start === undefined || start === 'more') return undefined;
  const body = buffer.subarray(start.bodyStart);
  const capacity = estimateRows(body.subarray(0, ESTIMATE_SAMPLE), body.length, start.header.length);
  const scan = new PlainCsvScan(start.header, capacity);
  if (!scan.scan(body)) return undefined;
  const { header } = start;
  let rows: Record<string, string>[] | undefined;
  const text = (): string =>
    typeof input === 'string' ? input.replace(/^\uFEFF/, '') : buffer.toString('utf8').replace(/^\uFEFF/, '');
  return {
    header,
    count: scan.count,
    numeric: scan.numericColumns(),
    rows: () => (rows ??= textRows(text(), header)),
  };
}

/**
 * The header of a plain CSV (after a byte order mark and empty lines) and where its records start;
 * undefined when the header has a quote or a CR inside, or there is none; 'more' when `bytes`
 * (not `atEnd`, the whole file) hold no complete header line yet.
 */
export function readPlainHeader(
  bytes: Buffer,
  atEnd: boolean,
): { header: string[]; bodyStart: number } | 'more' | undefined {
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const at = skipEmptyLines(bytes, bom);
  let lineEnd = bytes.indexOf(NEWLINE, at);
  if (lineEnd === -1) {
    if (!atEnd) return 'more';
    if (at >= bytes.length) return undefined;
    lineEnd = bytes.length;
  }
  const text = bytes.toString('utf8', at, stopOf(bytes, at, lineEnd));
  if (text.indexOf('"') !== -1 || text.indexOf('\r') !== -1) return undefined;
  return { header: text.split(','), bodyStart: Math.min(lineEnd + 1, bytes.length) };
}

/** Bytes of a file's start read to estimate its row count. */
export const ESTIMATE_SAMPLE = 64 * 1024;

/**
 * Rows to allocate for `bodyBytes` of records, from the mean line length of `sample` (their
 * start), with a tenth to spare: counting the lines of a whole file first was a pass of its own
 * (~5 ms on 28 MB). Spare rows are never written, so their memory is never touched; a table with
 * longer lines later grows (PlainCsvScan).
 */
export function estimateRows(sample: Buffer, bodyBytes: number, width: number): number {
  let lines = 0;
  for (let at = sample.indexOf(NEWLINE); at !== -1; at = sample.indexOf(NEWLINE, at + 1)) lines++;
  // A record is at least its commas and a line break: never more rows than that allows.
  const most = Math.floor(bodyBytes / Math.max(2, width)) + 1;
  if (lines === 0) return Math.min(64, most);
  return Math.min(most, Math.ceil(((bodyBytes * lines) / sample.length) * 1.1) + 16);
}

/**
 * The records of a plain CSV, scanned region by region (each a run of whole records, as a file
 * read in chunks gives them): every column that is all numbers goes straight into a Float64Array
 * (NaN = missing); a column with a cell that is no number stops being parsed (`numeric[c]` 0).
 */
export class PlainCsvScan {
  /** 1 while every cell of the column so far is a number or missing. */
  readonly numeric: Uint8Array;
  private readonly columns: Float64Array[];
  count = 0;

  constructor(
    readonly header: string[],
    capacity: number,
  ) {
    this.numeric = new Uint8Array(header.length).fill(1);
    this.columns = header.map(() => new Float64Array(Math.max(1, capacity)));
  }

  /**
   * Scans `region` (whole records; the last may end at the region's end, the file's last line).
   * False when the file is not plain: a quote, a CR not followed by LF, a record with the wrong
   * number of cells. Past the region's end a view reads `undefined`, which stops every loop.
   */
  scan(region: Buffer): boolean {
    // Quotes need csv-parse; so does a CR that does not end a line.
    if (region.indexOf(QUOTE) !== -1 || hasLoneCr(region)) return false;
    const rows = scanRecords(region, this.columns, this.numeric, this.count);
    if (rows < 0) return false;
    this.count = rows;
    return true;
  }

  /** Whether every column so far is numeric. */
  allNumeric(): boolean {
    return this.numeric.indexOf(0) === -1;
  }

  /** The numeric columns, `count` rows each (views: rows allocated and never written stay untouched). */
  numericColumns(): Map<string, Float64Array> {
    const numbers = new Map<string, Float64Array>();
    this.header.forEach((name, c) => {
      if (this.numeric[c] === 1) numbers.set(name, this.columns[c].subarray(0, this.count));
    });
    return numbers;
  }
}

/**
 * The records of `bytes` from row number `row` on, cell after cell, with no pass to find the
 * lines first: a numeric column's cell is parsed where it starts and must end at a delimiter
 * (comma, CR, LF or the end); anything else is read as text by `slowCell`, and a column with a
 * cell that is no number stops being parsed. Returns the row count after them, or -1 when a record
 * has too few or too many cells. A CR is always followed by LF here (hasLoneCr), so a CR ends a
 * record.
 */
function scanRecords(bytes: Buffer, columns: Float64Array[], numeric: Uint8Array, firstRow: number): number {
  const end = bytes.length;
  const width = columns.length;
  const last = width - 1;
  let at = 0;
  let row = firstRow;
  let capacity = columns[0].length;
  while (at < end) {
    let code = bytes[at];
    if (code === NEWLINE) {
      at++;
      continue; // an empty line
    }
    if (code === CR) {
      at += 2;
      continue; // an empty line, CRLF
    }
    if (row === capacity) capacity = grow(columns, row);
    for (let column = 0; column < width; column++) {
      let cellEnd = -1;
      if (numeric[column] === 1) {
        cellEnd = parseNumberAt(bytes, at, columns[column], row);
        code = cellEnd < 0 ? 0 : bytes[cellEnd];
        if (!(code === COMMA || code === NEWLINE || code === CR || cellEnd === end)) {
          cellEnd = cellEndFrom(bytes, at);
          const value = slowCell(bytes.toString('utf8', at, cellEnd));
          if (value === undefined) numeric[column] = 0;
          else columns[column][row] = value;
        }
      } else {
        cellEnd = cellEndFrom(bytes, at);
      }
      code = bytes[cellEnd];
      if (column < last) {
        if (code !== COMMA) return -1; // too few cells
        at = cellEnd + 1;
      } else if (code === COMMA) {
        return -1; // too many cells
      } else {
        at = cellEnd + (code === CR ? 2 : 1);
      }
    }
    row++;
  }
  return row;
}

/** Replaces every column by one half as long again (the estimate fell short); returns the new capacity. */
function grow(columns: Float64Array[], rows: number): number {
  const capacity = Math.ceil(rows * 1.5) + 16;
  for (let c = 0; c < columns.length; c++) {
    const larger = new Float64Array(capacity);
    larger.set(columns[c].subarray(0, rows));
    columns[c] = larger;
  }
  return capacity;
}

/** Whether some CR is not followed by LF (a line break csv-parse understands and this scan does not). */
function hasLoneCr(bytes: Buffer): boolean {
  for (let cr = bytes.indexOf(CR); cr !== -1; cr = bytes.indexOf(CR, cr + 1)) {
    if (bytes[cr + 1] !== NEWLINE) return true;
  }
  return false;
}

/** The end of the line from `at` to `e` without its CR. */
const stopOf = (bytes: Buffer, at: number, e: number): number => (e > at && bytes[e - 1] === CR ? e - 1 : e);

/** The index of the comma, CR or LF ending the cell at `from`, or the length for the file's last cell. */
function cellEndFrom(bytes: Buffer, from: number): number {
  const end = bytes.length;
  for (let i = from; i < end; i++) {
    const code = bytes[i];
    if (code === COMMA || code === NEWLINE || code === CR) return i;
  }
  return end;
}

function skipEmptyLines(bytes: Buffer, from: number): number {
  let at = from;
  while (at < bytes.length) {
    const code = bytes[at];
    if (code === NEWLINE) at++;
    else if (code === CR && bytes[at + 1] === NEWLINE) at += 2;
    else break;
  }
  return at;
}

const trimCr = (line: string): string => (line.endsWith('\r') ? line.slice(0, -1) : line);

/**
 * A plain decimal (sign, digits, fraction, exponent) starting at `start`, written to
 * `out[index]`; returns the index of the first byte after it, or -1 when it is not one or cannot
 * be computed exactly here (then `slowCell` decides). Exact: see POWERS; the mantissa is summed in
 * doubles, exact while below 2^53, and once at or above it never comes back below, so checking it at the end
 * is enough. No bounds checks: the byte at `stop` (CR, LF, or past the end: undefined) is no
 * digit, sign, dot or exponent, so every loop stops there by itself. Integers in and out keep the
 * hot loop monomorphic.
 */
function parseNumberAt(bytes: Uint8Array, start: number, out: Float64Array, index: number): number {
  let i = start;
  let code = bytes[i];
  const negative = code === MINUS;
  if (negative || code === PLUS) code = bytes[++i];
  let mantissa = 0;
  const digitsFrom = i;
  while (code >= ZERO && code <= NINE) {
    mantissa = mantissa * 10 + (code - ZERO);
    code = bytes[++i];
  }
  let digits = i - digitsFrom;
  let fraction = 0;
  if (code === DOT) {
    const fractionFrom = ++i;
    code = bytes[i];
    while (code >= ZERO && code <= NINE) {
      mantissa = mantissa * 10 + (code - ZERO);
      code = bytes[++i];
    }
    fraction = i - fractionFrom;
    digits += fraction;
  }
  let exponent = 0;
  if (digits > 0 && (code === LOWER_E || code === UPPER_E)) {
    code = bytes[++i];
    const negativeExponent = code === MINUS;
    if (negativeExponent || code === PLUS) code = bytes[++i];
    const exponentFrom = i;
    while (code >= ZERO && code <= NINE) {
      exponent = exponent * 10 + (code - ZERO);
      code = bytes[++i];
    }
    const exponentDigits = i - exponentFrom;
    if (exponentDigits === 0 || exponentDigits > 3) digits = 0;
    if (negativeExponent) exponent = -exponent;
  }
  const scale = fraction - exponent;
  if (digits === 0 || mantissa >= MAX_EXACT || scale < 0 || scale > 22) return -1;
  const value = mantissa / POWERS[scale];
  out[index] = negative ? -value : value;
  return i;
}

/** Everything else (spaces, long mantissas, large exponents, missing markers): the general rules. */
function slowCell(cell: string): number | undefined {
  const n = numberFromText(cell);
  if (n === n) return n;
  return isMissing(cell) ? NaN : undefined;
}

function textRows(text: string, header: readonly string[]): Record<string, string>[] {
  const rows: Record<string, string>[] = [];
  const lines = text.split('\n');
  let seenHeader = false;
  for (const raw of lines) {
    const line = trimCr(raw);
    if (line === '') continue;
    if (!seenHeader) {
      seenHeader = true;
      continue;
    }
    const cells = line.split(',');
    const row: Record<string, string> = {};
    for (let c = 0; c < header.length; c++) row[header[c]] = cells[c];
    rows.push(row);
  }
  return rows;
}
