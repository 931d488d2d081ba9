/**
 * Commands the CLI prints for a person to paste (issue 18, item 8). Their arguments come from data
 * (a model's category values, names, URLs): pasted unquoted, `'`, `;`, `$(...)` or a backtick in
 * them is shell syntax and runs. Each argument is one POSIX single-quoted word (the only quoting
 * in which nothing is special; a `'` is written as `'\''`), then escaped for the terminal, so the
 * line shows what it is and a control character in the data cannot rewrite it.
 */
import { escapeTerminal } from '../ui/escape.js';

/** One argument as a single shell word: safe words as they are, anything else single-quoted. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * A command line to paste: every argument quoted, then terminal-escaped. The escapes turn a
 * control or bidi character into `\x1b` / `\u202e` text; in JSON arguments that is the same value
 * (JSON reads `\u202e` as the character), elsewhere the pasted command differs visibly, which is
 * the point: such an argument was never a command to run as shown.
 */
export function shellCommand(args: readonly string[]): string {
  return escapeTerminal(args.map(shellQuote).join(' '));
}
