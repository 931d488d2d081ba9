/**
 * Escaping for where data is shown (SECURITY.md, "output cannot be spoofed"). Manifests, state
 * records, training logs and cloud errors are written by whoever pushes to the branch; printed raw,
 * an erase-line or cursor-up sequence rewrites what a reviewer reads (a fake "Plan: 0 to add"), a
 * bidi override reorders it, and in Markdown a stray fence or `@mention` escapes the code block.
 * Each function here turns such data into text that shows what it is and does nothing else.
 */

/**
 * What a terminal acts on instead of printing: C0 controls (tab and newline included: inside one
 * value they break lines and columns), DEL, C1 controls (U+009B is a one-byte CSI to many
 * terminals), the line/paragraph separators, and the bidirectional controls that reorder text
 * (Trojan Source, CVE-2021-42574): LRM/RLM/ALM, the embeddings/overrides U+202A-U+202E and the
 * isolates U+2066-U+2069.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * C0 as `\x1b` (`\n`, `\r`, `\t` by name), everything else as `\u202e`. JSON text never holds a raw
 * C0 control and `\uXXXX` is a JSON escape, so escaping JSON text keeps it valid and its value equal.
 */
function visible(char: string): string {
  const named = NAMED[char];
  if (named) return named;
  const code = char.charCodeAt(0);
  return code < 0x20
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One value (a description, a name, an error message) for a terminal or a log: one line, inert. */
export function escapeTerminal(value: string): string {
  return value.replace(UNSAFE, visible);
}

/**
 * A block the renderer built from data that is legitimately several lines (a YAML dump of a spec):
 * newlines stay, everything else a terminal would act on is escaped.
 */
export function escapeTerminalBlock(text: string): string {
  return text
    .split('\n')
    .map((line) => escapeTerminal(line))
    .join('\n');
}

/**
 * mlform's own colours: exactly the SGR sequences `style.ts` emits (bold, dim, normal intensity,
 * red, green, yellow, cyan, default colour). Anything else starting with ESC is not ours.
 */
// eslint-disable-next-line no-control-regex -- matching ESC is the point
const OWN_SGR = /\u001b\[(?:1|2|22|31|32|33|36|39)m/y;

/**
 * The last line of defence at the CLI's output streams, after every renderer has escaped its data:
 * whatever control character still reaches stdout or stderr is escaped, except newlines, tabs and
 * (when colour is on) mlform's own SGR sequences. JSON output passes unchanged, because JSON
 * already escapes C0 and the `\u` form used for the rest is a valid JSON escape.
 */
export function sanitizeOutput(text: string, allowColour: boolean): string {
  let out = '';
  let last = 0;
  UNSAFE.lastIndex = 0;
  for (let match = UNSAFE.exec(text); match; match = UNSAFE.exec(text)) {
    const at = match.index;
    const char = match[0];
    if (char === '\n' || char === '\t') continue;
    if (char === '\u001b' && allowColour) {
      OWN_SGR.lastIndex = at;
      const sgr = OWN_SGR.exec(text);
      if (sgr) {
        UNSAFE.lastIndex = at + sgr[0].length;
        continue;
      }
    }
    out += text.slice(last, at) + visible(char);
    last = at + 1;
  }
  UNSAFE.lastIndex = 0;
  return last === 0 ? text : out + text.slice(last);
}

// --- Markdown (the pull-request plan comment) ---------------------------------------------------

/**
 * Inline Markdown text from data: every character CommonMark or GitHub gives a meaning is
 * backslash-escaped (emphasis, links, images, HTML, tables, headings, lists, autolinks), `@` and
 * `#` cannot start a mention or an issue reference, and line breaks cannot start a new block. Control characters are shown as
 * escapes, as in the terminal.
 */
export function escapeMarkdown(value: string): string {
  return (
    escapeTerminal(value)
      .replace(/[\\`*_{}[\]()<>#+\-.!|~&"'=:]/g, (c) => `\\${c}`)
      // GitHub links mentions and references in the rendered text, after backslash escapes are
      // gone: a zero-width space after `@` and `#` is what keeps `@team` and `#12` plain text.
      .replace(/[@#]/g, (c) => `${c}\u200b`)
  );
}

/**
 * An inline code span holding data: the fence is one backtick longer than the longest run inside,
 * padded with spaces when the value starts or ends with a backtick (CommonMark 6.1), so the value
 * cannot close the span. Newlines (which would end a paragraph, and with it the span) are escaped.
 */
export function codeSpan(value: string): string {
  const text = escapeTerminal(value);
  const fence = '`'.repeat(longestRun(text, '`') + 1);
  const pad = text.startsWith('`') || text.endsWith('`') || text === '' ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/**
 * A fenced code block holding data (a plan's text): the fence is longer than any run of backticks
 * or tildes in the body, so no line of it closes the block; the info string is checked so it
 * cannot carry a backtick (which CommonMark forbids in a backtick fence's info string). Lines keep
 * their newlines; other control characters are escaped.
 */
export function fencedBlock(body: string, info = ''): string {
  const text = escapeTerminalBlock(body.replace(/\r\n?/g, '\n'));
  const fence = '`'.repeat(Math.max(3, longestRun(text, '`') + 1));
  const language = info.replace(/[^A-Za-z0-9_+-]/g, '');
  return `${fence}${language}\n${text}${text.endsWith('\n') || text === '' ? '' : '\n'}${fence}`;
}

function longestRun(text: string, char: string): number {
  let longest = 0;
  let run = 0;
  for (const c of text) {
    run = c === char ? run + 1 : 0;
    if (run > longest) longest = run;
  }
  return longest;
}

// --- HTML (the dashboard) ------------------------------------------------------------------------

const HTML: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/** Text or a quoted attribute value in HTML: no tag, entity or attribute can come from data. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => HTML[c]);
}
