/**
 * The reconcile of one desired state (controller-runtime's `Reconcile(ctx, Request) (Result,
 * error)`): observe, and when the stack has converged, stop there; otherwise apply with the same
 * engine as `mlform apply`, without waiting for trainings. The result says what happened and when to
 * look again: soon while something progresses, at the resync interval otherwise, sooner when a
 * failed resource's backoff expires first.
 *
 * One round of list calls per sync when nothing is to be done (DESIGN.md "Refresh on a budget"):
 * the converged stack is reported from the observation that found it so (`lookFirst`), and apply's
 * own ending observation (`result.final`) is reported as it is, not listed again.
 */
import type { Logger } from 'pino';
import type { DesiredState } from '../../manifests/load.js';
import { hasErrors } from '../../resources/diagnostic.js';
import type { ObservedSchedule, Provider, ProviderContext } from '../../providers/provider.js';
import { ACTIVE_RUN_STATES } from '../../providers/provider.js';
import { apply, type ApplyEvent, type ApplyResult } from '../engine/apply.js';
import { isActionable, type Change, type Plan } from '../engine/change.js';
import { observe, type Observation } from '../engine/observe.js';
import { plan as makePlan } from '../engine/plan.js';
import { resourceStatus, type ResourceStatus } from '../engine/status.js';
import type { ResourceBackoff } from './backoff.js';
import { triggerRequeueMs } from './trigger-requeue.js';
import { describeDiagnostics } from './error-text.js';
import type { LoopSettings } from './loop-options.js';
import { resourceViews } from './loop-status.js';
import type { ResourceStatusView } from './status-schema.js';

/**
 * What a sync may execute: nothing of a resource in retry backoff, and no drift correction
 * without self-heal (those changes stay visible as OutOfSync).
 */
export function changeFilter(
  backoff: Pick<ResourceBackoff, 'isBlocked'>,
  selfHeal: boolean,
): (change: Pick<Change, 'resource' | 'drift'>) => boolean {
  return (change) => !backoff.isBlocked(change.resource) && (selfHeal || !change.drift);
}

export interface ReconcileRequest {
  /** The revision `desired` was loaded from (logs, conditions, backoff entries). */
  revision: string;
  desired: DesiredState;
  provider: Provider;
  /** Under the apply lock (`withApplyLock`'s context). */
  ctx: ProviderContext;
  /** Aborts when the lock or leadership is lost, or the loop stops: the engine stops between changes. */
  signal: AbortSignal;
  /** Per-resource retry state, kept across syncs: failures recorded, successes forgotten. */
  backoff: ResourceBackoff;
  options: Pick<LoopSettings, 'prune' | 'selfHeal' | 'parallelism' | 'progressMs' | 'resyncMs'>;
  log: Logger;
  /**
   * Observe first and apply only when something is to be done. Right when nothing is expected to
   * change (a resync, a sync while trainings run): one round of list calls. Wasteful when changes
   * are expected (a new revision, a retry due, changes left by the last sync), since apply observes
   * again itself: then false, and apply is called at once.
   */
  lookFirst: boolean;
}

export type ReconcileResult =
  /** Stopped by the signal: nothing to report; look again at once (a new leader, or no one). */
  | { outcome: 'aborted'; requeueAfterMs: 0; changeFailures: number }
  | {
      /** `degraded`: a change failed, or actual state could not be read (engine/observe.ts). */
      outcome: 'succeeded' | 'degraded';
      requeueAfterMs: number;
      /** Carried out / failed (resource addresses) by this sync. */
      applied: number;
      failed: string[];
      statuses: ResourceStatus[];
      resources: ResourceStatusView[];
      /** Runs queued or running. */
      running: number;
      /** Changes the filter lets through are still planned (apply may carry them out next time). */
      changesLeft: boolean;
      schedules: ObservedSchedule[];
      /** Changes that failed in this sync (each counted as an apply error), aborted or not. */
      changeFailures: number;
      /** The reported observation's diagnostics, described, when there is an error among them. */
      observeError?: string;
      /** The observation and plan reported (apply's ending ones, or the look that found it converged). */
      final: { observed: Observation; plan: Plan };
    };

export async function reconcile(request: ReconcileRequest): Promise<ReconcileResult> {
  const { revision, desired, provider, ctx, signal, backoff, options } = request;
  const planOptions = { prune: options.prune };
  const filter = changeFilter(backoff, options.selfHeal);
  const executable = (c: Change) => isActionable(c) && filter(c);

  const failures: Failures = { resources: new Set(), count: 0 };
  const aborted = () => ({ outcome: 'aborted', requeueAfterMs: 0, changeFailures: failures.count }) as const;

  /** What apply did; a converged stack is left alone, which is a clean apply of nothing. */
  let result: Pick<ApplyResult, 'ok' | 'applied' | 'failed'> = { ok: true, applied: 0, failed: [] };
  let final: { observed: Observation; plan: Plan } | undefined;
  if (request.lookFirst) {
    const observed = await observe(provider, ctx);
    if (signal.aborted) return aborted();
    const planned = makePlan(desired, observed.state, planOptions);
    // Already converged: return and do nothing (apply would find what this found).
    const converged =
      !hasErrors(observed.diagnostics) &&
      !hasErrors(planned.diagnostics) &&
      !planned.changes.some(executable);
    if (converged) final = { observed, plan: planned };
  }
  if (final === undefined) {
    const applied = await apply({
      provider,
      ctx,
      desired,
      planOptions,
      wait: false,
      parallelism: options.parallelism,
      onEvent: applyEventHandler(request, failures),
      signal,
      filter,
    });
    if (signal.aborted) return aborted();
    result = applied;
    // Apply ends with an observation and a plan of it, unless it stopped before acting.
    final = applied.final ?? (await observeAndPlan());
  }

  const { state, diagnostics } = final.observed;
  const statuses = resourceStatus(desired, state, final.plan);
  backoff.retainOnly(
    new Set(
      final.plan.changes
        .filter((c) => isActionable(c) || failures.resources.has(c.resource))
        .map((c) => c.resource),
    ),
  );
  const running = state.runs.filter((r) => ACTIVE_RUN_STATES.includes(r.state)).length;
  // Progressing: runs in flight (the plan's waits and deferred changes resolve when they end), or
  // changes apply may still carry out. A `wait` with no run behind it (an endpoint whose model
  // has no version yet) changes only with a new commit or a run: the resync covers it.
  const changesLeft = final.plan.changes.some(executable);
  const progressing = running > 0 || changesLeft;
  const requeueAfterMs = Math.min(
    progressing ? options.progressMs : options.resyncMs,
    backoff.msUntilNextRetry() ?? Number.POSITIVE_INFINITY,
    // Schedule triggers act on a completed monitoring window: look again once the next one closes.
    triggerRequeueMs(desired, Date.now()) ?? Number.POSITIVE_INFINITY,
  );
  // Not ok without a failed resource: unreadable state stopped the apply (engine/observe.ts).
  const degraded = result.failed.length > 0 || !result.ok;
  return {
    outcome: degraded ? 'degraded' : 'succeeded',
    requeueAfterMs,
    applied: result.applied,
    failed: result.failed,
    statuses,
    resources: resourceViews(statuses, backoff, revision),
    running,
    changesLeft,
    schedules: state.schedules,
    changeFailures: failures.count,
    ...(hasErrors(diagnostics) && { observeError: describeDiagnostics(diagnostics) }),
    final,
  };

  async function observeAndPlan() {
    const again = await observe(provider, ctx);
    return { observed: again, plan: makePlan(desired, again.state, planOptions) };
  }
}

/** The changes that failed in this sync, and their resources. */
interface Failures {
  resources: Set<string>;
  count: number;
}

/** Logs each change and keeps the backoff: a failure delays its resource, a success clears it. */
function applyEventHandler(
  { revision, backoff, log }: ReconcileRequest,
  failures: Failures,
): (event: ApplyEvent) => void {
  return (event) => {
    switch (event.type) {
      case 'start':
        log.info(
          { commit: revision, address: event.change.address, action: event.change.action },
          `${event.change.action} ${event.change.address}: ${event.change.reason}`,
        );
        break;
      case 'done':
        if (!failures.resources.has(event.change.resource)) backoff.succeeded(event.change.resource);
        log.info(
          { commit: revision, address: event.change.address, action: event.change.action },
          `${event.change.action} ${event.change.address} complete`,
        );
        break;
      case 'failed': {
        failures.resources.add(event.change.resource);
        failures.count++;
        const message = describeDiagnostics(event.diagnostics);
        const entry = backoff.failed(event.change.resource, message, revision);
        log.warn(
          {
            commit: revision,
            address: event.change.address,
            failures: entry.failures,
            nextRetryAt: new Date(entry.nextRetryAt).toISOString(),
          },
          `${event.change.action} ${event.change.address} failed: ${message}`,
        );
        break;
      }
      default:
        break;
    }
  };
}
