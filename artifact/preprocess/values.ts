/**
 * Raw cell values -> numbers or category strings, for one column type. Training (values from CSV or
 * JSON files) and serving (values from JSON requests) both come through here, so a value means the
 * same thing in both; they differ only in how forgiving they are about text:
 *
 * - `table` mode reads files: CSV has no types, so numeric text ("3.5") is a number.
 * - `request` mode validates an API request: a numeric feature must be a JSON number.
 *
 * Missing values are `null`, `undefined` and the strings '', 'NA', 'NaN', 'null' in both modes.
 * The hot path returns primitives (NaN or `null` for missing) and allocates only on errors.
 */
import type { ColumnType } from './types.js';

export type ParseMode = 'table' | 'request';

/** A value that cannot be read as its column's type. */
export class ValueError {
  constructor(readonly message: string) {}
}

/** The category a missing categorical value is counted under. */
export const MISSING_CATEGORY = '<missing>';

const ZERO = 48;
const DASH = 45;
const SLASH = 47;
const COLON = 58;
const DOT = 46;
const SPACE = 32;
const PLUS = 43;
const MINUS = 45;
const UPPER_T = 84;
const UPPER_Z = 90;

const isDigit = (code: number): boolean => code >= ZERO && code <= ZERO + 9;
const isSpace = (code: number): boolean => code === SPACE || (code >= 9 && code <= 13);

const MISSING_TEXT = new Set(['', 'NA', 'NaN', 'null']);

export function isMissing(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (typeof value === 'number') return value !== value; // NaN
  return typeof value === 'string' && isMissingText(value);
}

function isMissingText(text: string): boolean {
  const n = text.length;
  if (n === 0) return true;
  // Checked per cell on every column: skip trim() unless there is whitespace to trim.
  if (isSpace(text.charCodeAt(0)) || isSpace(text.charCodeAt(n - 1))) return MISSING_TEXT.has(text.trim());
  return n <= 4 && MISSING_TEXT.has(text);
}

/**
 * The number written in plain decimal notation ("3.5", " -2e3 "), else NaN. Number() alone would
 * also accept "", "  " (as 0), "Infinity" and 0x/0o/0b literals, which are not data.
 */
export function numberFromText(text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n)) return NaN;
  let i = 0;
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  const first = text.charCodeAt(i);
  if (!(isDigit(first) || first === PLUS || first === MINUS || first === DOT)) return NaN;
  if (first === ZERO && isRadixLetter(text.charCodeAt(i + 1))) return NaN;
  return n;
}

export const isNumericText = (text: string): boolean => !Number.isNaN(numberFromText(text));

// x, o, b in either case
const isRadixLetter = (code: number): boolean =>
  (code | 32) === 120 || (code | 32) === 111 || (code | 32) === 98;

const TRUE_TEXT = new Set(['true', 'yes']);
const FALSE_TEXT = new Set(['false', 'no']);

/** Words inference recognises as a boolean column. Digits are not: a 0/1 column stays numeric. */
export function booleanWord(text: string): boolean | undefined {
  // Inference asks this of every text cell; most are longer than any of the words.
  if (text.length > 5 && !isSpace(text.charCodeAt(0)) && !isSpace(text.charCodeAt(text.length - 1)))
    return undefined;
  const word = text.trim().toLowerCase();
  if (TRUE_TEXT.has(word)) return true;
  if (FALSE_TEXT.has(word)) return false;
  return undefined;
}

const MS_PER_DAY = 86_400_000;

/**
 * Epoch days (fractional) of an ISO 8601-like date, or undefined: `2012-01-31`, `2012/01/31`,
 * `2012-01-31T10:20`, `2012-01-31 10:20:30.5`, with an optional `Z` or `+02:00` / `-0500` offset.
 * A time without an offset is read as UTC, never local time: the trainer and the server may run in
 * different time zones, and the same string must encode the same number on both.
 *
 * Hand-written over char codes rather than a regex and `Date`: date columns are parsed once for
 * inference, once for fitting and once for encoding, and this runs allocation-free.
 */
export function dateTextToDays(text: string): number | undefined {
  let start = 0;
  let end = text.length;
  while (start < end && isSpace(text.charCodeAt(start))) start++;
  while (end > start && isSpace(text.charCodeAt(end - 1))) end--;
  if (end - start < 10) return undefined;
  const year = digits(text, start, 4);
  const separator = text.charCodeAt(start + 4);
  if (separator !== DASH && separator !== SLASH) return undefined;
  const month = digits(text, start + 5, 2);
  if (text.charCodeAt(start + 7) !== separator) return undefined;
  const day = digits(text, start + 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  let days = daysFromCivil(year, month, day);
  let at = start + 10;
  if (at === end) return days;

  const t = text.charCodeAt(at);
  if (t === UPPER_T || t === SPACE) {
    const hour = digits(text, at + 1, 2);
    const minute = text.charCodeAt(at + 3) === COLON ? digits(text, at + 4, 2) : -1;
    if (hour < 0 || hour > 23 || minute < 0 || minute > 59) return undefined;
    at += 6;
    let seconds = 0;
    if (at < end && text.charCodeAt(at) === COLON) {
      seconds = digits(text, at + 1, 2);
      if (seconds < 0 || seconds > 60) return undefined;
      at += 3;
      if (at < end && text.charCodeAt(at) === DOT) {
        let scale = 0.1;
        at++;
        const first = at;
        for (; at < end && isDigit(text.charCodeAt(at)); at++, scale /= 10)
          seconds += (text.charCodeAt(at) - ZERO) * scale;
        if (at === first) return undefined;
      }
    }
    days += (hour * 3600 + minute * 60 + seconds) / 86_400;
    while (at < end && isSpace(text.charCodeAt(at))) at++;
  }
  if (at === end) return days;

  const zone = text.charCodeAt(at);
  if (zone === UPPER_Z && at + 1 === end) return days;
  if (zone !== PLUS && zone !== MINUS) return undefined;
  const offsetHours = digits(text, at + 1, 2);
  const colon = text.charCodeAt(at + 3) === COLON ? 1 : 0;
  const offsetMinutes = digits(text, at + 3 + colon, 2);
  if (offsetHours < 0 || offsetHours > 23 || offsetMinutes < 0 || offsetMinutes > 59) return undefined;
  if (at + 5 + colon !== end) return undefined;
  const offset = (offsetHours * 60 + offsetMinutes) / 1440;
  return zone === PLUS ? days - offset : days + offset;
}

/** The non-negative integer written in text[at, at + count), or -1 if those are not all digits. */
function digits(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const code = text.charCodeAt(i);
    if (!isDigit(code)) return -1;
    value = value * 10 + code - ZERO;
  }
  return value;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** "string \"abc\"", "an object", ... for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 37)}...` : value;
    return `string ${JSON.stringify(shown)}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** A number; NaN when missing. */
export function parseNumeric(raw: unknown, mode: ParseMode): number | ValueError {
  if (typeof raw === 'number') {
    if (Number.isFinite(raw)) return raw;
    // JSON cannot carry NaN or Infinity, so in a request they mean a client bug, not "missing".
    if (mode === 'request' || !Number.isNaN(raw))
      return new ValueError(`must be a finite number, got ${raw}`);
    return NaN;
  }
  if (typeof raw === 'string') {
    // Numeric text first: it is what every cell of a CSV number column is.
    if (mode === 'table') {
      const n = numberFromText(raw);
      if (n === n) return n;
    }
    if (isMissingText(raw)) return NaN;
  } else if (raw === null || raw === undefined) return NaN;
  return new ValueError(`expected a number, got ${describe(raw)}`);
}

/** 1 or 0; NaN when missing. Accepts booleans, 0/1, and true/false/yes/no/1/0 as text. */
export function parseBoolean(raw: unknown, mode: ParseMode): number | ValueError {
  if (typeof raw === 'boolean') return raw ? 1 : 0;
  if (raw === 0 || raw === 1) return raw;
  if (typeof raw === 'number' && mode === 'table' && Number.isNaN(raw)) return NaN;
  if (isMissing(raw)) return NaN;
  if (typeof raw === 'string') {
    const word = booleanWord(raw);
    if (word !== undefined) return word ? 1 : 0;
    const trimmed = raw.trim();
    if (trimmed === '1' || trimmed === '0') return Number(trimmed);
  }
  return new ValueError(`expected a boolean (true/false), got ${describe(raw)}`);
}

/** Epoch days; NaN when missing. Accepts ISO-like date strings, or numbers as epoch milliseconds. */
export function parseDate(raw: unknown, mode: ParseMode): number | ValueError {
  if (typeof raw === 'string') {
    if (isMissing(raw)) return NaN;
    const days = dateTextToDays(raw);
    return days ?? new ValueError(`expected an ISO 8601 date such as "2024-01-31", got ${describe(raw)}`);
  }
  if (typeof raw === 'number') {
    if (Number.isFinite(raw)) return raw / MS_PER_DAY;
    if (mode === 'request' || !Number.isNaN(raw))
      return new ValueError(`must be a finite number, got ${raw}`);
    return NaN;
  }
  if (raw === null || raw === undefined) return NaN;
  return new ValueError(`expected an ISO 8601 date string, got ${describe(raw)}`);
}

/**
 * The category as a string; `null` when missing. Numbers and booleans are categories too (a
 * column of integer codes overridden as categorical), written the way String() writes them.
 */
export function parseCategory(raw: unknown, mode: ParseMode): string | null | ValueError {
  if (typeof raw === 'string') return isMissing(raw) ? null : raw;
  if (typeof raw === 'number') {
    if (Number.isFinite(raw)) return String(raw);
    return Number.isNaN(raw) && mode === 'table'
      ? null
      : new ValueError(`must be a finite number, got ${raw}`);
  }
  if (typeof raw === 'boolean') return String(raw);
  if (raw === null || raw === undefined) return null;
  return new ValueError(`expected a string, got ${describe(raw)}`);
}

/** Parses a numeric-valued type (numeric, boolean, date) to a number, NaN when missing. */
export function parseNumber(
  type: Exclude<ColumnType, 'categorical'>,
  raw: unknown,
  mode: ParseMode,
): number | ValueError {
  switch (type) {
    case 'numeric':
      return parseNumeric(raw, mode);
    case 'boolean':
      return parseBoolean(raw, mode);
    case 'date':
      return parseDate(raw, mode);
  }
}
