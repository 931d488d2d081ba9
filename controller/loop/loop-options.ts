/**
 * The loop's options as the CLI gives them, and the same with every default filled in once, at
 * construction (wrangler's RawConfig vs Config): the parts of the loop read settled values only.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { DesiredState } from '../../manifests/load.js';
import type { Diagnostic } from '../../resources/diagnostic.js';
import type { Provider, ProviderContext } from '../../providers/provider.js';
import { DEFAULT_BACKOFF } from './backoff.js';
import type { ControllerMetrics } from './metrics.js';
import type { ManifestSource } from './source.js';
import type { NotifyOperator } from '../notify/notifier.js';

/** What the loop needs from a loaded project: `openProject`'s result, minus the CLI. */
export interface ProjectContext {
  desired: DesiredState;
  provider: Provider;
  providerCtx: ProviderContext;
}

/** `revision`: the source revision on disk while the paths are read (a git commit, or `dir@N`). */
export type OpenProject = (
  paths: readonly string[],
  revision: string,
) => Promise<{ project?: ProjectContext; diagnostics: Diagnostic[] }>;

export interface SyncLoopOptions {
  source: ManifestSource;
  openProject: OpenProject;
  log: Logger;
  metrics: ControllerMetrics;
  version: string;
  /** Git polling interval (±10% jitter); undefined: no polling (a watched directory). */
  pollMs?: number;
  /** Between syncs when nothing is progressing. */
  resyncMs: number;
  /** Between syncs while trainings run or the plan waits. */
  progressMs?: number;
  /** When the apply lock is held by someone else (a CLI apply). */
  lockRetryMs?: number;
  leaseTtlMs: number;
  selfHeal: boolean;
  prune: boolean;
  parallelism?: number;
  backoff?: { baseMs?: number; maxMs?: number };
  /** `host/pid`: the holder of the leases this replica takes. */
  identity?: string;
  /** The operator's notification settings: with them, the loop sends mlform.yaml's notifications. */
  notify?: { operator: NotifyOperator; env: NodeJS.ProcessEnv; everyMs?: number };
}

/** `SyncLoopOptions` with every default filled in; `pollMs` stays undefined for "no polling". */
export type LoopSettings = Required<Omit<SyncLoopOptions, 'pollMs' | 'backoff' | 'notify'>> & {
  notify: SyncLoopOptions['notify'];
  pollMs: number | undefined;
  backoff: { baseMs: number; maxMs: number };
};

export const LOOP_DEFAULTS = {
  progressMs: 5_000,
  lockRetryMs: 2_000,
  /** The CLI's `--parallelism` default, and apply's. */
  parallelism: 10,
} as const;

export function resolveLoopOptions(options: SyncLoopOptions): LoopSettings {
  return {
    ...options,
    pollMs: options.pollMs,
    notify: options.notify,
    progressMs: options.progressMs ?? LOOP_DEFAULTS.progressMs,
    lockRetryMs: options.lockRetryMs ?? LOOP_DEFAULTS.lockRetryMs,
    parallelism: options.parallelism ?? LOOP_DEFAULTS.parallelism,
    backoff: {
      baseMs: options.backoff?.baseMs ?? DEFAULT_BACKOFF.baseMs,
      maxMs: options.backoff?.maxMs ?? DEFAULT_BACKOFF.maxMs,
    },
    identity: options.identity ?? `${hostname()}/${process.pid}`,
  };
}
