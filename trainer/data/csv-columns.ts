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
const DOT = 46;
const PLUS = 43;
const MINUS = 45;
const ZERO = 48;
const LOWER_E = 101;
const UPPER_E = 69;

/** Exact powers of ten: m / 10^k is correctly rounded when m < 2^53 and k <= 22 (Clinger). */
const POWERS = Float64Array.from({ length: 23 }, (_, k) => 10 ** k);
const MAX_DIGITS = 15;

/** Parses `text` (BOM removed) if it is plain CSV; undefined sends it to csv-parse. */
export function parsePlainCsv(text: string): CsvColumns | undefined {
  // Quotes need csv-parse; so does a CR that does not end a line.
  if (text.indexOf('"') !== -1 || (text.indexOf('\r') !== -1 && /\r(?!\n)/.test(text))) return undefined;
  const end = text.length;
  let at = skipEmptyLines(text, 0);
  const headerEnd = lineEnd(text, at);
  if (headerEnd < 0 || at >= end) return undefined;
  const header = trimCr(text.slice(at, headerEnd)).split(',');
  if (header.some((c) => c.indexOf('\r') !== -1)) return undefined;
  const width = header.length;
  at = headerEnd + 1;

  // Counted first, so each column is one array of the right size.
  let count = 0;
  for (let i = at; i < end;) {
    const e = lineEnd(text, i);
    if (e < 0) return undefined;
    if (e > i && !(e === i + 1 && text.charCodeAt(i) === CR)) count++;
    i = e + 1;
  }
  const columns = Array.from({ length: width }, () => new Float64Array(count));
  const numeric = new Uint8Array(width).fill(1);
  let row = 0;
  while (at < end) {
    const e = lineEnd(text, at);
    const stop = e > at && text.charCodeAt(e - 1) === CR ? e - 1 : e;
    if (stop === at) {
      at = e + 1;
      continue; // an empty line
    }
    let cellStart = at;
    for (let column = 0; column < width; column++) {
      let cellEnd: number;
      if (numeric[column] === 1) {
        const values = columns[column];
        const parsedEnd = parseNumberAt(text, cellStart, stop, values, row);
        cellEnd = parsedEnd;
        if (parsedEnd < 0 || (parsedEnd !== stop && text.charCodeAt(parsedEnd) !== COMMA)) {
          cellEnd = cellEndFrom(text, cellStart, stop);
          const value = slowCell(text, cellStart, cellEnd);
          if (value === undefined) numeric[column] = 0;
          else values[row] = value;
        }
      } else {
        cellEnd = cellEndFrom(text, cellStart, stop);
      }
      if (column < width - 1) {
        if (cellEnd === stop) return undefined; // too few cells
        cellStart = cellEnd + 1;
      } else if (cellEnd !== stop) return undefined; // too many cells
    }
    row++;
    at = e + 1;
  }

  const numbers = new Map<string, Float64Array>();
  for (let c = 0; c < width; c++) if (numeric[c] === 1) numbers.set(header[c], columns[c]);
  let rows: Record<string, string>[] | undefined;
  return { header, count, numeric: numbers, rows: () => (rows ??= textRows(text, header)) };
}

/** The index of the '\n' ending the line at `from`, or the text's length for the last line. */
function cellEndFrom(text: string, from: number, stop: number): number {
  const comma = text.indexOf(',', from);
  return comma === -1 || comma > stop ? stop : comma;
}

function lineEnd(text: string, from: number): number {
  const e = text.indexOf('\n', from);
  return e === -1 ? text.length : e;
}

function skipEmptyLines(text: string, from: number): number {
  let at = from;
  while (at < text.length) {
    const code = text.charCodeAt(at);
    if (code === NEWLINE) at++;
    else if (code === CR && text.charCodeAt(at + 1) === NEWLINE) at += 2;
    else break;
  }
  return at;
}

const trimCr = (line: string): string => (line.endsWith('\r') ? line.slice(0, -1) : line);

/**
 * A plain decimal (sign, digits, fraction, exponent) starting at `start`, written to
 * `out[index]`; returns the index of the first character after it, or -1 when it is not one or
 * cannot be computed exactly here (then `slowCell` decides). Exact: see POWERS. Integers in and
 * out keep the hot loop monomorphic.
 */
function parseNumberAt(text: string, start: number, stop: number, out: Float64Array, index: number): number {
  let i = start;
  let sign = 1;
  let code = text.charCodeAt(i);
  if (i < stop && (code === MINUS || code === PLUS)) {
    if (code === MINUS) sign = -1;
    code = text.charCodeAt(++i);
  }
  let mantissa = 0;
  let digits = 0;
  let significant = 0;
  let fraction = 0;
  while (i < stop && code >= ZERO && code <= ZERO + 9) {
    if (significant > 0 || code !== ZERO) significant++;
    mantissa = mantissa * 10 + (code - ZERO);
    digits++;
    code = text.charCodeAt(++i);
  }
  if (i < stop && code === DOT) {
    code = text.charCodeAt(++i);
    while (i < stop && code >= ZERO && code <= ZERO + 9) {
      if (significant > 0 || code !== ZERO) significant++;
      mantissa = mantissa * 10 + (code - ZERO);
      digits++;
      fraction++;
      code = text.charCodeAt(++i);
    }
  }
  let exponent = 0;
  if (digits > 0 && i < stop && (code === LOWER_E || code === UPPER_E)) {
    let expSign = 1;
    code = text.charCodeAt(++i);
    if (i < stop && (code === MINUS || code === PLUS)) {
      expSign = code === MINUS ? -1 : 1;
      code = text.charCodeAt(++i);
    }
    let expDigits = 0;
    while (i < stop && code >= ZERO && code <= ZERO + 9) {
      exponent = exponent * 10 + (code - ZERO);
      expDigits++;
      code = text.charCodeAt(++i);
    }
    if (expDigits === 0 || expDigits > 3) digits = 0;
    exponent *= expSign;
  }
  const scale = fraction - exponent;
  if (digits === 0 || significant > MAX_DIGITS || scale < 0 || scale > 22) return -1;
  out[index] = sign * (mantissa / POWERS[scale]);
  return i;
}

/** Everything else (spaces, long mantissas, large exponents, missing markers): the general rules. */
function slowCell(text: string, start: number, end: number): number | undefined {
  const cell = text.slice(start, end);
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
