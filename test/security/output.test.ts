/**
 * Attack (issue 11, point 12): a commit spoofs what a reviewer reads. A RegisteredModel's
 * description holds carriage return, erase-line, cursor-up and conceal sequences, a C1 CSI, a
 * bidi override and a fake `Plan: 0 to add, 0 to change, 0 to destroy.` line. Printed raw, a
 * terminal or CI log shows that fake summary where the real change was. Through the CLI, to a pipe
 * and with colour forced: the real summary and every change show, each sequence shows as a
 * visible escape, and no control byte from the data reaches the output.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let dir: string;

/** ESC, CR, a C1 CSI and the RLO override: what the description carries (YAML escapes). */
const SPOOF =
  'MPG model\\r\\e[2K\\e[1A\\e[2KPlan: 0 to add, 0 to change, 0 to destroy.\\n\\e[8mconcealed\\e[0m \\u009b2K \\u202eevil';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-output-'));
  await writeFile(join(dir, 'mlform.yaml'), 'stack: spoof\nprovider: local\nlocal: {stateDir: .mlform}\n');
  await writeFile(
    join(dir, 'model.yaml'),
    [
      'apiVersion: mlform/v1',
      'kind: RegisteredModel',
      'metadata:',
      '  name: mpg',
      'spec:',
      `  description: "${SPOOF}"`,
      '---',
      'apiVersion: mlform/v1',
      'kind: RegisteredModel',
      'metadata:',
      '  name: second',
      'spec:',
      '  description: plain',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

function mlform(args: string[], env: Record<string, string>) {
  const result = spawnSync(process.execPath, ['bin/mlform.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, CI: 'true', NO_COLOR: '', FORCE_COLOR: '', ...env },
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Every byte a terminal acts on, except newline (and, when colour is on, mlform's own SGR codes). */
function dataControls(text: string, colour: boolean): string[] {
  // eslint-disable-next-line no-control-regex -- mlform's own colour codes are expected
  const withoutOwn = colour ? text.replace(/\u001b\[(?:1|2|22|31|32|33|36|39)m/g, '') : text;
  // eslint-disable-next-line no-control-regex -- looking for control characters is the test
  return [...withoutOwn.matchAll(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g)].map(
    (m) => `U+${m[0].charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

describe('a description with terminal control sequences', () => {
  for (const [label, env, colour] of [
    ['to a pipe', { NO_COLOR: '1' }, false],
    ['with FORCE_COLOR', { FORCE_COLOR: '1' }, true],
  ] as const) {
    it(`plan ${label}: the real summary and both changes, the sequences visible, no raw control byte`, () => {
      const { status, stdout } = mlform(['plan', dir], env);
      expect(status).toBe(0);
      expect(dataControls(stdout, colour)).toEqual([]);
      // eslint-disable-next-line no-control-regex -- dropping mlform's own colour codes
      const plain = stdout.replace(/\u001b\[\d+m/g, '');
      expect(plain).toContain('+ RegisteredModel/mpg');
      expect(plain).toContain('+ RegisteredModel/second');
      expect(plain).toMatch(/^Plan: 2 to add, 0 to change, 0 to destroy\.$/m);
      // The fake summary is there, but inside the escaped description, never on a line of its own.
      expect(plain).not.toMatch(/^Plan: 0 to add/m);
      expect(plain).toContain(
        'MPG model\\r\\x1b[2K\\x1b[1A\\x1b[2KPlan: 0 to add, 0 to change, 0 to destroy.\\n\\x1b[8mconcealed\\x1b[0m \\u009b2K \\u202eevil',
      );
    });
  }

  it('describe shows the spec with the sequences escaped', () => {
    const { status, stdout } = mlform(['describe', 'registeredmodel/mpg', '--file', dir], { NO_COLOR: '1' });
    expect(status).toBe(0);
    expect(dataControls(stdout, false)).toEqual([]);
    expect(stdout).toContain('\\x1b[2K');
    expect(stdout).toContain('\\u202e');
  });

  it('plan -o json stays valid JSON that holds the description exactly, with every control escaped', () => {
    const { status, stdout } = mlform(['plan', dir, '-o', 'json'], { FORCE_COLOR: '1' });
    expect(status).toBe(0);
    expect(dataControls(stdout, false)).toEqual([]);
    const plan = JSON.parse(stdout) as { changes: { address: string; reason: string }[] };
    const change = plan.changes.find((c) => c.address === 'RegisteredModel/mpg');
    expect(change?.reason).toContain(
      'MPG model\r\u001b[2K\u001b[1A\u001b[2KPlan: 0 to add, 0 to change, 0 to destroy.\n\u001b[8mconcealed\u001b[0m \u009b2K \u202eevil',
    );
  });
});
