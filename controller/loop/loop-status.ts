/**
 * What `/api/status` and the sync metrics report: the last sync, the last error, the resources of
 * the last reconcile and the commit they came from. The loop's parts record into it; `view` builds
 * the API document from it and from what the leader and the source say.
 */
import type { Logger } from 'pino';
import { redactCredentials } from '../../resources/credential.js';
import type { ResourceStatus } from '../engine/status.js';
import type { ResourceBackoff } from './backoff.js';
import type { Choice } from './last-good-state.js';
import type { ProjectContext } from './loop-options.js';
import type { ControllerMetrics, ErrorType, SyncOutcome } from './metrics.js';
import {
  STATUS_API_VERSION,
  toApiDiagnostic,
  type ControllerStatus,
  type ResourceStatusView,
} from './status-schema.js';

/** The resources as `/api/status` shows them: a resource in retry backoff carries its failure. */
export function resourceViews(
  statuses: readonly ResourceStatus[],
  backoff: Pick<ResourceBackoff, 'get'>,
  /** Null outside the controller (`mlform ui` reads a working tree, not a commit). */
  revision: string | null,
): ResourceStatusView[] {
  return statuses.map((s): ResourceStatusView => {
    const retry = backoff.get(s.address);
    const conditions: ResourceStatusView['conditions'] = s.conditions.map((c) => ({
      ...c,
      // Run errors and provider messages end up here: no credentials in /api/status.
      message: redactCredentials(c.message),
      commit: revision,
    }));
    if (retry) {
      conditions.push({
        type: 'ApplyFailed',
        status: true,
        reason: 'RetryBackoff',
        message: `${retry.failures} failed attempt(s): ${retry.lastError}`,
        commit: retry.commit ?? revision,
      });
    }
    return {
      kind: s.kind,
      name: s.name,
      address: s.address,
      syncStatus: s.sync,
      health: s.health,
      details: redactCredentials(s.details),
      conditions,
      lastError: retry?.lastError ?? null,
      nextRetryAt: retry ? new Date(retry.nextRetryAt).toISOString() : null,
    };
  });
}

export interface LoopStatusOptions {
  version: string;
  identity: string;
  /** The source's description (`git <url>#<branch>:<path>` or `dir <path>`). */
  source: string;
  log: Logger;
  metrics: ControllerMetrics;
}

/** What the rest of the loop tells the status, beside what it records here. */
export interface StatusInputs {
  leader: boolean;
  ready: boolean;
  /** The revision on disk (newest fetched). */
  commit: string | undefined;
  choice: Choice<ProjectContext>;
}

export class LoopStatus {
  /** A reconcile has completed since this replica last started leading. */
  synced = false;
  private lastSync: ControllerStatus['controller']['lastSync'] = null;
  private lastError: string | null = null;
  private resources: ResourceStatusView[] = [];
  private appliedRevision: string | null = null;

  constructor(private readonly options: LoopStatusOptions) {}

  /** Counts, logs and shows an error; internal errors carry stack traces: redacted like the rest. */
  recordError(type: ErrorType, message: string): void {
    this.options.metrics.errors.inc({ type });
    const redacted = redactCredentials(message);
    this.lastError = redacted;
    this.options.log.error({ type }, redacted);
  }

  /** Shows an error already counted and logged by its reporter (a bad commit). */
  showError(message: string): void {
    this.lastError = message;
  }

  finishSync(startedAt: Date, result: SyncOutcome): void {
    const finishedAt = new Date();
    this.lastSync = { startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(), result };
    this.options.metrics.syncTotal.inc({ result });
    this.options.metrics.syncDuration.observe(
      { result },
      (finishedAt.getTime() - startedAt.getTime()) / 1000,
    );
  }

  /**
   * A completed reconcile of `revision`. `clean`: nothing is left to report (a succeeded sync of
   * the newest revision, which loaded): the last error goes.
   */
  recordReconcile(
    revision: string,
    result: { statuses: readonly ResourceStatus[]; resources: ResourceStatusView[]; running: number },
    clean: boolean,
  ): void {
    const { metrics } = this.options;
    this.resources = result.resources;
    metrics.trainingsRunning.set(result.running);
    metrics.setResources(result.statuses);
    metrics.setCommit(revision);
    this.appliedRevision = revision;
    this.synced = true;
    if (clean) this.lastError = null;
  }

  view(inputs: StatusInputs): ControllerStatus {
    const { choice } = inputs;
    return {
      formatVersion: STATUS_API_VERSION,
      controller: {
        version: this.options.version,
        identity: this.options.identity,
        leader: inputs.leader,
        ready: inputs.ready,
        stack: choice.good?.project.providerCtx.stack ?? null,
        source: this.options.source,
        commit: inputs.commit ?? null,
        appliedCommit: this.appliedRevision,
        lastSync: this.lastSync,
        lastError: this.lastError,
        badCommit: choice.bad
          ? {
              commit: choice.bad.revision,
              diagnostics: choice.bad.diagnostics.map((d) =>
                toApiDiagnostic({ ...d, message: redactCredentials(d.message) }),
              ),
            }
          : null,
      },
      resources: this.resources,
    };
  }
}
