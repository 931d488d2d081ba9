/**
 * Strings from state, logs and artifacts on their way into a document: credentials redacted
 * (resources/credential.ts) and terminal control characters removed. The browser renders text,
 * never HTML, so this is not about markup: a log line's colour codes and cursor moves are noise in
 * a `<pre>`, a bidi override reorders what a reader sees, and a token in an error must not reach a
 * page that any holder of the dashboard token can open.
 */
import { redactCredentials } from '../../../resources/credential.js';

/** ANSI escape sequences (CSI ... final byte, OSC ... BEL/ST, two-byte ESC x) as a whole. */
// eslint-disable-next-line no-control-regex -- matching escape sequences is the point
const ANSI = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[@-Z\\-_])/g;

/**
 * What is left after the sequences: C0 controls but tab, DEL, C1, the line separators and the bidi
 * controls (the same set controller/ui/escape.ts escapes for terminals).
 */
const CONTROL =
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** One line of text for display: sequences and control characters removed, credentials redacted. */
export const cleanText = (text: string): string =>
  redactCredentials(text.replace(ANSI, '').replace(CONTROL, ''));

/** The same, for an optional value. */
export const cleanOptional = (text: string | undefined | null): string | null =>
  text === undefined || text === null ? null : cleanText(text);
