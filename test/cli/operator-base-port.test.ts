/**
 * MLFORM_BASE_PORT: the operator's first port for new local endpoints (default 8501, 0: any free
 * port). A value that is not one is an error before anything runs, not a silent default.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorSettings } from '../../controller/cli/operator.js';
import { runCli } from '../security/cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-base-port-'));
  await writeFile(join(dir, 'mlform.yaml'), 'stack: base-port\nprovider: local\n');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('MLFORM_BASE_PORT', () => {
  it('reads 0 and unprivileged ports, and marks anything else', () => {
    const port = (value: string | undefined) => operatorSettings({}, { MLFORM_BASE_PORT: value }).basePort;
    expect(port(undefined)).toBeUndefined();
    expect(port('')).toBeUndefined();
    expect(port('0')).toBe(0);
    expect(port(' 18501 ')).toBe(18501);
    for (const bad of ['80', '65536', '8501.5', '-1', 'http', '1e4']) expect(port(bad), bad).toBeNaN();
  });

  it('refuses a bad value with an error naming the variable', () => {
    const r = runCli(['plan', dir], { env: { ...process.env, MLFORM_BASE_PORT: '80', NO_COLOR: '1' } });
    expect(r.code, r.all).toBe(1);
    expect(r.all).toContain('$MLFORM_BASE_PORT must be 0 (any free port) or a port from 1024 to 65535');
  });
});
