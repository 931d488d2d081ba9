/**
 * Schedule `triggers` from the CLI: `validate` points at a trigger whose endpoint is not
 * monitored, with the fix; `plan` of a signal-only Schedule creates it as one that fires on a
 * signal only (the fire itself needs observed monitoring: test/engine/apply-trigger-local.test.ts).
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/cli.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const STACK = 'test/fixtures/signal-stack/stack.yaml';

describe('Schedule triggers from the CLI', () => {
  it('validate refuses a trigger on an endpoint without monitoring, with the fix', () => {
    const { code, stdout } = runCli(['validate', 'test/fixtures/invalid/trigger-unmonitored.yaml'], 30_000);
    expect(code).toBe(1);
    expect(stdout).toContain(
      'test/fixtures/invalid/trigger-unmonitored.yaml:31:25 error [trigger-unmonitored] DeployedEndpoint "mpg-api" has no `monitoring`: nothing would fire this trigger',
    );
    expect(stdout).toContain(
      'hint: add `monitoring: {}` (or `monitoring: {window: 1h}`) to the spec of DeployedEndpoint "mpg-api"',
    );
  });

  it('plan creates a signal-only schedule after the endpoint it watches', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlform-cli-triggers-'));
    dirs.push(dir);
    await writeFile(join(dir, 'mlform.yaml'), 'stack: signals\nprovider: local\n');
    await cp(STACK, join(dir, 'stack.yaml'));
    await cp('examples/data/iris.csv', join(dir, 'data', 'iris.csv'));
    const { code, out } = runCli(['plan', dir], 60_000);
    expect(code).toBe(0);
    expect(out).toContain('  # fires on a signal only\n  + Schedule/iris-on-drift\n');
    expect(out.indexOf('+ DeployedEndpoint/iris-api')).toBeLessThan(out.indexOf('+ Schedule/iris-on-drift'));
  });
});
