/**
 * Options of the local provider and their defaults. Everything a test needs to change (where the
 * CLI is, how long to wait, which ports) is an option rather than a constant.
 */
import { resolve } from 'node:path';
import type { ProviderContext } from '../provider.js';
import { findCliPath } from './mlform-cli.js';

export interface LocalProviderOptions {
  /** State directory, relative to `ctx.projectDir` (mlform.yaml's `local.stateDir`) or absolute. */
  stateDir?: string;
  /** Set by the operator (`--state-dir`, `MLFORM_STATE_DIR`): wins over `stateDir`, may be anywhere. */
  operatorStateDir?: string;
  /** `bin/mlform.js`; default: found by walking up from this module (works from dist/ and source). */
  cliPath?: string;
  /** Node binary the CLI runs with; default `process.execPath`. */
  nodePath?: string;
  /** Extra environment for training and serving processes (on top of this process's). */
  env?: Record<string, string>;
  /** How long `deployedEndpoints.put` waits for `/v2/health/ready`. */
  readyTimeoutMs?: number;
  /** Timeout of one health request in `deployedEndpoints.list`. */
  healthTimeoutMs?: number;
  /** SIGTERM -> SIGKILL grace when cancelling a run or stopping a serving process. */
  stopTimeoutMs?: number;
  /** First port tried for a new endpoint (TF Serving's 8501); 0: any free port the OS gives. */
  basePort?: number;
  /** A run recorded without a pid is `queued` this long, then failed (launch interrupted). */
  launchGraceMs?: number;
  /** Files read at once while listing. */
  concurrency?: number;
  /** Clock, for lease expiry in tests. */
  now?: () => Date;
  /** Training processes at once (training-slots.ts); the tighter of this and MLFORM_MAX_LOCAL_TRAININGS, else the cores. */
  maxLocalTrainings?: number;
}

export interface LocalSettings {
  stateDir: string;
  cli: { nodePath: string; cliPath: () => string };
  env: Record<string, string>;
  readyTimeoutMs: number;
  healthTimeoutMs: number;
  stopTimeoutMs: number;
  basePort: number;
  launchGraceMs: number;
  concurrency: number;
  now: () => Date;
  maxLocalTrainings?: number;
}

export const DEFAULT_STATE_DIR = '.mlform';

export function resolveSettings(options: LocalProviderOptions = {}): LocalSettings {
  let cliPath = options.cliPath;
  return {
    stateDir: options.operatorStateDir ?? options.stateDir ?? DEFAULT_STATE_DIR,
    cli: {
      nodePath: options.nodePath ?? process.execPath,
      // Found lazily: importing the provider must not fail where the CLI is never launched.
      cliPath: () => (cliPath ??= findCliPath()),
    },
    env: options.env ?? {},
    readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
    healthTimeoutMs: options.healthTimeoutMs ?? 300,
    stopTimeoutMs: options.stopTimeoutMs ?? 15_000,
    basePort: options.basePort ?? 8501,
    launchGraceMs: options.launchGraceMs ?? 15_000,
    concurrency: options.concurrency ?? 64,
    now: options.now ?? (() => new Date()),
    ...(options.maxLocalTrainings !== undefined && { maxLocalTrainings: options.maxLocalTrainings }),
  };
}

/** Absolute state directory of a project. */
export const stateRoot = (settings: LocalSettings, ctx: ProviderContext): string =>
  resolve(ctx.projectDir, settings.stateDir);

/** Environment of a child process: ours, the configured extras, minus what would redirect it. */
export function childEnv(settings: LocalSettings, drop: readonly string[] = []): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...settings.env };
  for (const key of drop) delete env[key];
  return env;
}
