/**
 * `mlform artifact check DIR` through the CLI's own entry (main, in process): the one line for a
 * valid artifact, every diagnostic and exit 1 for a broken one, and `--json`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../controller/cli/main.js';
import { fakeContext } from './handlers/fake-context.js';
import { NAMED } from '../fixtures/onnx-contract/descriptors.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/onnx-contract');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-cli-artifact-'));
  await copyFile(join(FIXTURES, 'named-3.onnx'), join(dir, 'model.onnx'));
  await writeFile(join(dir, 'artifact.json'), JSON.stringify(NAMED));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function run(args: string[]) {
  const { ctx, stdout, stderr } = fakeContext();
  const code = await main(['node', 'mlform', 'artifact', 'check', ...args], ctx);
  return { code, stdout: stdout(), stderr: stderr() };
}

describe('mlform artifact check', () => {
  it('prints one line for an artifact that follows the contract', async () => {
    await writeFile(
      join(dir, 'metrics.json'),
      JSON.stringify({
        formatVersion: 1,
        metrics: { val_mae: 2.1, val_loss: 0.2 },
        baseline: { val_mae: 6.4 },
      }),
    );
    expect(await run([dir])).toEqual({
      code: 0,
      stdout: `✓ ${dir}: onnx regression model, 3 features, metrics val_mae 2.1 (baseline 6.4)\n`,
      stderr: '',
    });
  });

  it('prints every problem with its file, field and fix, and exits 1', async () => {
    await writeFile(
      join(dir, 'metrics.json'),
      JSON.stringify({ formatVersion: 1, metrics: { val_mae: '1.2' }, baseline: {} }),
    );
    await writeFile(join(dir, 'statistics.json'), '{"formatVersion": 1,');
    const { code, stdout, stderr } = await run([dir]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain(
      'metrics.json error [artifact-wrong-type] metrics.val_mae must be a number or null; got string "1.2"\n' +
        '  hint: see docs/artifact.md "metrics.json"',
    );
    expect(stderr).toMatch(
      /statistics\.json error \[artifact-not-json\] not JSON: .*\n {2}hint: write it with json\.dump/,
    );
    expect(stderr).toContain(`✗ ${dir}: not a valid artifact`);

    const json = await run([dir, '--json']);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as {
      ok: boolean;
      format: string;
      task: string;
      diagnostics: unknown[];
    };
    expect(report).toMatchObject({ ok: false, format: 'onnx', task: 'regression' });
    expect(report.diagnostics).toContainEqual({
      severity: 'error',
      code: 'artifact-wrong-type',
      message: 'metrics.val_mae must be a number or null; got string "1.2"',
      hint: 'see docs/artifact.md "metrics.json"',
      file: 'metrics.json',
      path: 'metrics.val_mae',
      pathSegments: ['metrics', 'val_mae'],
    });
    await rm(join(dir, 'statistics.json'));
  });

  it('a missing folder is a clear error', async () => {
    const missing = join(dir, 'nope');
    const { code, stderr } = await run([missing]);
    expect(code).toBe(1);
    expect(stderr).toContain(`error [artifact-not-found] ${missing} does not exist`);
  });
});
