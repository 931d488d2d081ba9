/**
 * Issue 18, item 8, at the unit: every argument `shellCommand` prints is read back by `sh` as
 * exactly that argument, whatever shell syntax it holds, and runs nothing.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellCommand, shellQuote } from '../../controller/cli/shell-quote.js';

const NASTY = [
  `x'; touch /tmp/nope; echo '`,
  `$(id)`,
  '`id`',
  `a"b\\c`,
  `'`,
  `''`,
  ``,
  `~root`,
  `*`,
  `a b\tc`,
  `{"instances":[{"k":"it's"}]}`,
  `-n`,
  `ümlaut ✓`,
];

describe('shellQuote', () => {
  it('sh reads each quoted argument back unchanged', () => {
    const script = `printf '%s\\0' ${NASTY.map(shellQuote).join(' ')}`;
    const out = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
    expect(out.status).toBe(0);
    expect(out.stdout.split('\0').slice(0, -1)).toEqual(NASTY);
  });

  it('leaves plain words alone and escapes control and bidi characters for the terminal', () => {
    expect(shellCommand(['curl', '-s', 'http://127.0.0.1:8501/v1/models/m:predict'])).toBe(
      'curl -s http://127.0.0.1:8501/v1/models/m:predict',
    );
    const shown = shellCommand(['curl', '-d', '{"k":"a\u202eb\u001b[2Jc"}']);
    expect(shown).toBe(`curl -d '{"k":"a\\u202eb\\x1b[2Jc"}'`);
    expect([...shown].filter((c) => c.charCodeAt(0) < 0x20 || c === '\u202e')).toEqual([]);
  });
});
