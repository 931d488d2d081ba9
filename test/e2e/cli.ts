/** The built CLI as a user runs it: no colour, CI mode, the wasm backend (what e2e tests spawn). */
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface CliResult {
  code: number | null;
  stdout: string;
  /** stdout then stderr, for messages and diagnostics. */
  out: string;
}

export const CLI_ENV = { NO_COLOR: '1', FORCE_COLOR: undefined, CI: 'true', MLFORM_BACKEND: 'wasm' };

/** `env`: variables the operator sets on top (MLFORM_ALLOW_COMMANDS, ...). */
export function runCli(
  args: readonly string[],
  timeoutMs = 180_000,
  env: Record<string, string> = {},
): CliResult {
  const r = spawnSync(process.execPath, ['bin/mlform.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...CLI_ENV, ...env },
    timeout: timeoutMs,
  });
  return { code: r.status, stdout: r.stdout, out: `${r.stdout}${r.stderr}` };
}

/**
 * A copy of examples/quickstart in a new temporary `root` (its data in `root/data`), without its
 * state and without the manifests whose file names match `leaveOut`.
 */
export async function copyQuickstart(
  prefix: string,
  leaveOut?: RegExp,
): Promise<{ root: string; project: string }> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const project = join(root, 'quickstart');
  await cp('examples/quickstart', project, {
    recursive: true,
    filter: (src) => !src.includes('.mlform') && !(leaveOut?.test(src) ?? false),
  });
  await cp('examples/data/cars.json', join(root, 'data', 'cars.json'));
  return { root, project };
}
