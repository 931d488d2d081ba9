import { describe, expect, it } from 'vitest';
import {
  codeSpan,
  escapeHtml,
  escapeMarkdown,
  escapeTerminal,
  escapeTerminalBlock,
  fencedBlock,
  sanitizeOutput,
} from '../../controller/ui/escape.js';
import { renderLogLine } from '../../controller/cli/commands/logs.js';
import { applyLine } from '../../controller/ui/apply-progress.js';
import { renderColumns } from '../../controller/ui/resource-table.js';
import { renderDiagnostic } from '../../controller/ui/diagnostics-view.js';
import { createStyle } from '../../controller/ui/style.js';

// eslint-disable-next-line no-control-regex -- the tests look for control characters
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

describe('escapeTerminal', () => {
  it('shows C0, DEL, C1 and bidi controls as escapes, newlines and tabs included', () => {
    expect(escapeTerminal('a\u001b[2Kb\r\n\t\u0007\u007f\u009b\u202e\u2066\u200f z')).toBe(
      'a\\x1b[2Kb\\r\\n\\t\\x07\\u007f\\u009b\\u202e\\u2066\\u200f z',
    );
  });

  it('leaves printable text, Unicode letters and emoji alone', () => {
    const text = 'Zażółć gęślą jaźń — 模型 🚀 "quoted" \\back';
    expect(escapeTerminal(text)).toBe(text);
  });

  it('escapeTerminalBlock keeps the newlines of a multi-line block', () => {
    expect(escapeTerminalBlock('a: "x\u001b[8m"\nb: 1\r')).toBe('a: "x\\x1b[8m"\nb: 1\\r');
  });
});

describe('sanitizeOutput (the CLI stream filter)', () => {
  const own = createStyle(true);
  it('keeps mlform’s own colours when colour is on, escapes any other sequence', () => {
    const text = `${own.red('error')} ${own.bold('x')} \u001b[8mhidden\u001b[2K\u001b]8;;http://evil\u0007link\n`;
    expect(sanitizeOutput(text, true)).toBe(
      `${own.red('error')} ${own.bold('x')} \\x1b[8mhidden\\x1b[2K\\x1b]8;;http://evil\\x07link\n`,
    );
  });

  it('escapes every ESC when colour is off', () => {
    expect(sanitizeOutput('\u001b[31mred\u001b[39m\n', false)).toBe('\\x1b[31mred\\x1b[39m\n');
  });

  it('keeps JSON valid: C1 and bidi become \\u escapes that parse back to the same value', () => {
    const value = { d: 'a\u009b2K\u202eb\u007f' };
    const out = sanitizeOutput(JSON.stringify(value), false);
    expect(out).not.toMatch(CONTROL);
    expect(JSON.parse(out)).toEqual(value);
  });

  it('returns text without controls unchanged', () => {
    expect(sanitizeOutput('plain\ttext\n', false)).toBe('plain\ttext\n');
  });
});

describe('renderers escape data', () => {
  const style = createStyle(false);
  it('a log line written by a training script', () => {
    expect(renderLogLine('\u001b[2K\u001b[1AEpoch 9/9 done', style)).toBe('\\x1b[2K\\x1b[1AEpoch 9/9 done');
    expect(renderLogLine('{"type":"error","message":"boom\\u001b[8m"}', style)).toBe('error: boom\\x1b[8m');
    // A JSON line whose fields are not what the trainer writes is shown, not a crash.
    expect(renderLogLine('{"type":"epoch","loss":"\\u001b[2K"}', style)).toBe(
      '{"type":"epoch","loss":"\\u001b[2K"}',
    );
  });

  it('a table cell, escaped before the columns are measured', () => {
    const table = renderColumns(['A', 'B'], [['x\u001b[2K', 'y']]);
    expect(table).toBe('A          B\nx\\x1b[2K   y');
  });

  it('a diagnostic message and its code frame', () => {
    const text = renderDiagnostic(
      { severity: 'error', code: 'x', message: 'bad "\u001b[2K"', file: 'm.yaml', line: 1, col: 1 },
      style,
      () => ['description: "\u001b[8m"'],
    );
    expect(text).not.toMatch(CONTROL);
    expect(text).toContain('bad "\\x1b[2K"');
    expect(text).toContain('description: "\\x1b[8m"');
  });

  it('an apply progress line', () => {
    const line = applyLine(
      {
        type: 'skipped',
        change: { address: 'RegisteredModel/m', action: 'create' } as never,
        reason: 'x\u001b[1A\rPlan: 0',
      } as never,
      style,
    );
    expect(line).toBe('RegisteredModel/m: skipped (x\\x1b[1A\\rPlan: 0)');
  });
});

describe('Markdown', () => {
  it('escapeMarkdown: no HTML, link, image, emphasis, mention or reference survives', () => {
    const out = escapeMarkdown('<img src=x onerror=alert(1)> [a](http://e) ![i](x) **b** @team #12 `c`');
    expect(out).not.toMatch(/(^|[^\\])<img/);
    expect(out).not.toMatch(/\]\(/);
    expect(out).not.toMatch(/(^|[^\\])\*\*/);
    expect(out).not.toMatch(/@team/);
    expect(out).not.toMatch(/#12/);
    expect(out).toContain('\\<img');
    expect(out).toContain('@\u200bteam');
  });

  it('escapeMarkdown keeps a value on one line', () => {
    expect(escapeMarkdown('a\n# heading')).not.toContain('\n');
  });

  it('codeSpan: a fence longer than any backtick run in the value', () => {
    expect(codeSpan('a')).toBe('`a`');
    expect(codeSpan('a`b')).toBe('``a`b``');
    expect(codeSpan('``x')).toBe('``` ``x ```');
    expect(codeSpan('a\nb')).toBe('`a\\nb`');
  });

  it('fencedBlock: no line of the body can close the block', () => {
    const body = 'line\n```\n</details>\n````more\n~~~';
    const block = fencedBlock(body, 'diff');
    const lines = block.split('\n');
    const fence = lines[0].replace(/diff$/, '');
    expect(fence).toBe('`````');
    expect(lines.at(-1)).toBe(fence);
    expect(lines.slice(1, -1).some((l) => l.trim().startsWith(fence))).toBe(false);
    expect(fencedBlock('x', 'a`b <c>')).toBe('```abc\nx\n```');
  });
});

describe('escapeHtml', () => {
  it('no tag, entity or attribute from data', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y' \``)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39; &#96;',
    );
  });
});
