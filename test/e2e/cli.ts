/** The built CLI as a user runs it: no colour, CI mode, the wasm backend (what e2e tests spawn). */
import { spawnSync } from 'node:child_process';

export interface CliResult {
  code: number | null;
  stdout: string;
  /** stdout then stderr, for messages and diagnostics. */
  out: string;
}

const CLI_ENV = { NO_COLOR: '1', FORCE_COLOR: undefined, CI: 'true', MLFORM_BACKEND: 'wasm' };

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
