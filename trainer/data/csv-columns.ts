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
  const bom = buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf ? 3 : 0;
  const bytes = buffer.subarray(bom);
  // Quotes need csv-parse; so does a CR that does not end a line.
  if (bytes.indexOf(QUOTE) !== -1 || hasLoneCr(bytes)) return undefined;
  const end = bytes.length;
  let at = skipEmptyLines(bytes, 0);
  const headerEnd = lineEnd(bytes, at);
  if (headerEnd < 0 || at >= end) return undefined;
  const header = bytes.toString('utf8', at, stopOf(bytes, at, headerEnd)).split(',');
  if (header.some((c) => c.indexOf('\r') !== -1)) return undefined;
  const width = header.length;
  at = headerEnd + 1;

  // Counted first, so each column is one array of the right size.
  let count = 0;
  for (let i = at; i < end;) {
    const e = lineEnd(bytes, i);
    if (e > i && !(e === i + 1 && bytes[i] === CR)) count++;
    i = e + 1;
  }
  const columns = Array.from({ length: width }, () => new Float64Array(count));
  const numeric = new Uint8Array(width).fill(1);
  if (!scanRecords(bytes, at, columns, numeric)) return undefined;

  const numbers = new Map<string, Float64Array>();
  for (let c = 0; c < width; c++) if (numeric[c] === 1) numbers.set(header[c], columns[c]);
  let rows: Record<string, string>[] | undefined;
  const text = (): string =>
    typeof input === 'string' ? input.replace(/^\uFEFF/, '') : bytes.toString('utf8');
  return { header, count, numeric: numbers, rows: () => (rows ??= textRows(text(), header)) };
}

/**
 * The records from `at` to the end, cell after cell, with no pass to find the lines first: a
 * numeric column's cell is parsed where it starts and must end at a delimiter (comma, CR, LF or
 * the end); anything else is read as text by `slowCell`, and a column with a cell that is no
 * number stops being parsed. False when a record has too few or too many cells. A CR is always
 * followed by LF here (hasLoneCr), so a CR ends a record.
 */
function scanRecords(bytes: Buffer, from: number, columns: Float64Array[], numeric: Uint8Array): boolean {
  const end = bytes.length;
  const width = columns.length;
  const last = width - 1;
  let at = from;
  let row = 0;
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
        if (code !== COMMA) return false; // too few cells
        at = cellEnd + 1;
      } else if (code === COMMA) {
        return false; // too many cells
      } else {
        at = cellEnd + (code === CR ? 2 : 1);
      }
    }
    row++;
  }
  return true;
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

/** The index of the '\n' ending the line at `from`, or the length for the last line. */
function lineEnd(bytes: Buffer, from: number): number {
  const e = bytes.indexOf(NEWLINE, from);
  return e === -1 ? bytes.length : e;
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
