/**
 * Options of the local provider and their defaults. Everything a test needs to change (where the
 * CLI is, how long to wait, which ports) is an option rather than a constant.
 */
import { resolve } from 'node:path';
import type { ProviderContext } from '../provider.js';
import { findCliPath } from './mlform-cli.js';
import { commandPolicyFromEnv, type CommandPolicy } from './sandbox.js';

export interface LocalProviderOptions {
  /** State directory, relative to `ctx.projectDir` (mlform.yaml's `local.stateDir`) or absolute. */
  stateDir?: string;
  /** Set by the operator (`--state-dir`, `MLFORM_STATE_DIR`): wins over `stateDir`, may be anywhere. */
  operatorStateDir?: string;
  /** `bin/mlform.js`; default: found by walking up from this module (works from dist/ and source). */
  cliPath?: string;
  /** Node binary the CLI runs with; default `process.execPath`. */
  nodePath?: string;
  /** Extra environment for training and serving processes (on top of the allow-listed part of this process's). */
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
  /** Commands from manifests (sandbox.ts); default: from the operator's environment. */
  commands?: CommandPolicy;
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
  commands: CommandPolicy;
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
    commands: options.commands ?? commandPolicyFromEnv(process.env),
  };
}

/** Absolute state directory of a project. */
export const stateRoot = (settings: LocalSettings, ctx: ProviderContext): string =>
  resolve(ctx.projectDir, settings.stateDir);

/**
 * Variables a training or serving process gets from ours (issue 18, item 11d). An allow-list: the
 * controller's environment holds its secrets (webhook secret, git token, status token, whatever
 * an operator exported), and a trainer runs code paths that manifests steer, so anything not
 * needed stays behind. Kept: the OS basics, locale and time zone, Node's own settings, proxies
 * and CA certificates (gs:// data), Google credentials and the storage emulator, TensorFlow and
 * CUDA settings, and the MLFORM_* variables train and serve read. The launcher adds what a launch
 * needs (MLFORM_DATA_ROOTS, the serving launch key) explicitly.
 */
const CHILD_ENV_NAMES: ReadonlySet<string> = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'LANG',
  'LANGUAGE',
  'TZ',
  'TMPDIR',
  'TMP',
  'TEMP',
  'NODE_OPTIONS',
  'NODE_EXTRA_CA_CERTS',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'STORAGE_EMULATOR_HOST',
  'LD_LIBRARY_PATH',
  'OMP_NUM_THREADS',
  'NO_COLOR',
  // mlform train / serve: the backend; the gcp endpoint override for gs:// and Secret Manager.
  'MLFORM_BACKEND',
  'MLFORM_GCP_API_ENDPOINT',
  'MLFORM_DEBUG',
]);

/** Families kept by prefix: locale, Google credentials and SDK config, TensorFlow, CUDA/NVIDIA. */
const CHILD_ENV_PREFIXES = ['LC_', 'GOOGLE_', 'CLOUDSDK_', 'GCE_METADATA_', 'TF_', 'CUDA_', 'NVIDIA_'];

export const isChildEnvName = (name: string): boolean =>
  CHILD_ENV_NAMES.has(name) || CHILD_ENV_PREFIXES.some((prefix) => name.startsWith(prefix));

/**
 * Environment of a child process: the allow-listed part of ours, the configured extras (the
 * operator's, through the provider options), minus what would redirect it.
 */
export function childEnv(settings: LocalSettings, drop: readonly string[] = []): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && isChildEnvName(name)) env[name] = value;
  }
  Object.assign(env, settings.env);
  for (const key of drop) delete env[key];
  return env;
}
