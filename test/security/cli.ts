/**
 * The built CLI as the attack tests run it: a child process of `bin/mlform.js` (build first), plain
 * output, the wasm backend, and none of the operator's settings inherited from whoever runs the
 * tests (a test that wants one passes it in `env`).
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const CLI = resolve('bin/mlform.js');

const OPERATOR_VARIABLES = [
  'MLFORM_STATE_DIR',
  'MLFORM_POLICY',
  'MLFORM_ALLOW_DATA_ROOTS',
  'MLFORM_MAX_LOCAL_TRAININGS',
] as const;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout then stderr. */
  all: string;
  ms: number;
}

export interface CliOptions {
  cwd?: string;
  /** On top of the base environment; `undefined` removes a variable. */
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export function runCli(args: readonly string[], options: CliOptions = {}): CliResult {
  const env: NodeJS.ProcessEnv = { ...process.env, CI: 'true', NO_COLOR: '1', MLFORM_BACKEND: 'wasm' };
  delete env.FORCE_COLOR;
  for (const name of OPERATOR_VARIABLES) delete env[name];
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const started = Date.now();
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    encoding: 'utf8',
    env,
    timeout: options.timeoutMs ?? 60_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return {
    code: result.status,
    stdout: result.stdout,
    stderr: result.stderr,
    all: result.stdout + result.stderr,
    ms: Date.now() - started,
  };
}
