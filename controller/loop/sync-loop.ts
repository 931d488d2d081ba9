/**
 * The controller's reconcile loop (controller-runtime, level-triggered): one worker, one stack.
 * Every sync re-reads the newest desired state and the actual state, plans and applies with the
 * same engine as `mlform apply` (without waiting for trainings), then decides when to look again:
 * soon while something progresses, at the resync interval otherwise, at a failed resource's backoff
 * expiry. Events (poll tick, webhook, watched directory, leadership, schedule fires) only move due
 * times and wake the worker, so bursts collapse into one sync and nothing runs concurrently.
 *
 * The stack is reconciled as one item, not one item per resource: the engine plans the whole stack
 * from one list call per kind, so per-resource reconciles would multiply observations. Failures stay
 * per resource all the same: the engine isolates them within an apply, and the loop leaves a failed
 * resource out (the apply `filter`) until its backoff expires.
 *
 * This class only coordinates; each concern is its own part: `SourceFollower` (fetching, its timing,
 * the last good desired state), `reconcile` (one desired state, and when to requeue),
 * `LeaderElector`, `ScheduleFiring` and `LoopStatus` (what `/api/status` shows).
 */
import type { Logger } from 'pino';
import type { DesiredState } from '../../manifests/load.js';
import type { Provider, ProviderContext } from '../../providers/provider.js';
import type { Diagnostic } from '../../resources/diagnostic.js';
import type { Plan } from '../engine/change.js';
import type { Observation } from '../engine/observe.js';
import { withApplyLock } from '../engine/apply-lock.js';
import { ResourceBackoff } from './backoff.js';
import { countingProvider } from './counting-provider.js';
import { describeDiagnostics, thrownText } from './error-text.js';
import { LeaderElector } from './leader.js';
import {
  resolveLoopOptions,
  type LoopSettings,
  type ProjectContext,
  type SyncLoopOptions,
} from './loop-options.js';
import { LoopStatus } from './loop-status.js';
import { LoopNotifications } from './loop-notifications.js';
import type { ControllerMetrics, SyncOutcome } from './metrics.js';
import { reconcile, type ReconcileResult } from './reconcile.js';
import { ScheduleFiring } from './schedule-firing.js';
import { SourceFollower } from './source-follower.js';
import type { ControllerStatus, ResourceStatusView } from './status-schema.js';

export { changeFilter } from './reconcile.js';
export type { OpenProject, ProjectContext, SyncLoopOptions } from './loop-options.js';

export type WebhookOutcome = 'accepted' | 'standby' | 'stopping';

/** A completed reconcile as the dashboard sees it (controller/web/controller-source.ts). */
export interface ReconcileReport {
  revision: string;
  desired: DesiredState;
  /** The observation and plan the statuses were computed from. */
  final: { observed: Observation; plan: Plan };
  /** Statuses with the retry backoff folded in, as `/api/status` shows them. */
  resources: ResourceStatusView[];
  /** The newest commit's problems when it does not load (the last good state was reconciled). */
  badCommit: Diagnostic[];
  provider: Provider;
  ctx: ProviderContext;
}

export class SyncLoop {
  readonly identity: string;
  private readonly settings: LoopSettings;
  private readonly log: Logger;
  private readonly metrics: ControllerMetrics;
  private readonly backoff: ResourceBackoff;
  private readonly loopStatus: LoopStatus;
  private readonly follower: SourceFollower;
  private readonly elector: LeaderElector;
  private readonly firing: ScheduleFiring;
  private readonly notifications?: LoopNotifications;

  private syncDueAt = Number.POSITIVE_INFINITY;
  private wake: () => void = () => {};
  private worker?: Promise<void>;
  private stopped = false;
  private current?: AbortController;
  private standbyLogged = false;
  /** The last completed reconcile: whether the next one may expect nothing to do. */
  private lastReconciled?: { revision: string; changesLeft: boolean };
  private readonly reconcileListeners = new Set<(report: ReconcileReport) => void>();

  constructor(options: SyncLoopOptions) {
    const settings = resolveLoopOptions(options);
    this.settings = settings;
    this.identity = settings.identity;
    this.log = settings.log;
    this.metrics = settings.metrics;
    this.backoff = new ResourceBackoff(settings.backoff);
    this.loopStatus = new LoopStatus({
      version: settings.version,
      identity: settings.identity,
      source: settings.source.description,
      log: settings.log,
      metrics: settings.metrics,
    });
    if (settings.notify) {
      this.notifications = new LoopNotifications({
        ...settings.notify,
        metrics: settings.metrics,
        log: settings.log,
      });
    }
    this.follower = new SourceFollower({
      source: settings.source,
      openProject: settings.openProject,
      pollMs: settings.pollMs,
      log: settings.log,
      metrics: settings.metrics,
      status: this.loopStatus,
      onDue: () => this.wake(),
    });
    this.firing = new ScheduleFiring({
      identity: settings.identity,
      lockRetryMs: settings.lockRetryMs,
      log: settings.log,
      status: this.loopStatus,
      mayFire: () => this.elector.isLeader && !this.stopped,
      onQueued: () => this.wake(),
      onMissed: (name, due, late) =>
        this.notifications?.scheduleMissed(this.follower.current().good?.project, name, due, late),
    });
    this.elector = new LeaderElector({
      ttlMs: settings.leaseTtlMs,
      acquire: () => {
        const good = this.follower.current().good?.project;
        return good?.provider.lock(good.providerCtx, {
          name: 'leader',
          holder: this.identity,
          ttlMs: settings.leaseTtlMs,
        });
      },
      onStartedLeading: () => {
        this.metrics.leader.set(1);
        this.log.info({ identity: this.identity }, 'leading: this replica syncs and fires schedules');
        this.follower.fetchNow();
        this.syncDueAt = 0;
        this.wake();
      },
      onStoppedLeading: (reason) => {
        this.metrics.leader.set(0);
        this.metrics.errors.inc({ type: 'lease' });
        this.loopStatus.synced = false;
        this.log.error({ reason }, 'lost the leader lease: stopping all work now');
        this.current?.abort();
        this.firing.stop();
      },
      onStandby: (diagnostics) => {
        if (!this.standbyLogged) {
          this.standbyLogged = true;
          this.log.info(
            { reason: diagnostics.map((d) => d.message).join('; ') },
            'standby: another replica leads; waiting for its lease to expire',
          );
        }
      },
    });
  }

  get isLeader(): boolean {
    return this.elector.isLeader;
  }

  /** Ready = leading and synced at least once (a standby must not receive webhooks). */
  get isReady(): boolean {
    return this.loopStatus.synced && this.elector.isLeader && !this.stopped;
  }

  start(): void {
    this.metrics.leader.set(0);
    this.follower.start();
    this.elector.start();
    this.worker = this.work();
    // Only the leader sends: a standby's outbox is the same one.
    this.notifications?.start(() =>
      this.elector.isLeader && !this.stopped ? this.follower.current().good?.project : undefined,
    );
  }

  /** Webhook: fetch and sync now. */
  requestFetch(): WebhookOutcome {
    if (this.stopped) return 'stopping';
    if (!this.elector.isLeader) return 'standby';
    this.follower.fetchNow();
    this.syncDueAt = 0;
    this.wake();
    return 'accepted';
  }

  /** SIGTERM: no new work; the running change finishes (the engine stops between changes). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.current?.abort();
    this.wake();
    await this.worker;
    await this.notifications?.stop();
    this.firing.stop();
    await this.elector.stop();
    this.metrics.leader.set(0);
    await this.follower.close();
  }

  /** Called after every completed reconcile (not aborted ones); returns the unsubscribe function. */
  onReconciled(listener: (report: ReconcileReport) => void): () => void {
    this.reconcileListeners.add(listener);
    return () => this.reconcileListeners.delete(listener);
  }

  status(): ControllerStatus {
    return this.loopStatus.view({
      leader: this.elector.isLeader,
      ready: this.isReady,
      commit: this.follower.revision,
      choice: this.follower.current(),
    });
  }

  // ---- the worker ------------------------------------------------------------------------------

  private async work(): Promise<void> {
    while (!this.stopped) {
      const now = Date.now();
      const due = Math.min(this.follower.dueAt, this.syncDueAt, this.firing.dueAt);
      if (due > now) {
        await new Promise<void>((resolve) => {
          const timer = Number.isFinite(due) ? setTimeout(resolve, due - now) : undefined;
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = () => {};
        continue;
      }
      try {
        if (Date.now() >= this.follower.dueAt) await this.fetch();
        if (this.stopped) break;
        if (Date.now() >= this.firing.dueAt) await this.fireDue();
        if (this.stopped) break;
        if (Date.now() >= this.syncDueAt) await this.sync();
      } catch (e) {
        // Expected failures come back as diagnostics; this is a bug, but the loop must go on.
        this.loopStatus.recordError('internal', thrownText(e));
        this.syncDueAt = Date.now() + this.settings.progressMs;
      }
    }
  }

  private async fetch(): Promise<void> {
    const fetched = await this.follower.fetch();
    if (fetched.revision === undefined) return;
    // A standby loads too: it needs the provider to campaign, and reports what it would apply.
    if (fetched.choice.good && !this.elector.isLeader) this.elector.poke();
    if (fetched.changed || this.syncDueAt === Number.POSITIVE_INFINITY) this.syncDueAt = 0;
  }

  /** The provider as this replica acts through it: every verb counted in `/metrics`. */
  private counted(project: ProjectContext): Provider {
    return countingProvider(project.provider, (labels) => this.metrics.providerCalls.inc(labels));
  }

  private async fireDue(): Promise<void> {
    // A fire is queued only by a clock a sync armed: there is a good project.
    const project = this.follower.current().good?.project;
    if (!project) return;
    const fired = await this.firing.fireDue(this.counted(project), project.providerCtx);
    if (fired === 'fired') this.syncDueAt = 0;
  }

  private async sync(): Promise<void> {
    this.syncDueAt = Number.POSITIVE_INFINITY;
    // Leading means a good desired state exists (the lease is campaigned for with its provider),
    // and it never goes away: a bad commit keeps it.
    const revision = this.follower.revision;
    if (!this.elector.isLeader || revision === undefined) return;
    const startedAt = new Date();
    const choice = await this.follower.load(revision);
    const good = choice.good;
    if (!good) return;
    const project = good.project;
    const provider = this.counted(project);
    const ctx: ProviderContext = { ...project.providerCtx, log: (message) => this.log.info(message) };
    const abort = new AbortController();
    this.current = abort;
    try {
      const outcome = await withApplyLock(
        provider,
        ctx,
        { holder: this.identity, signal: abort.signal },
        async (locked) => {
          // Leadership ended while the lock was being taken: act on nothing.
          if (!this.elector.isLeader || this.stopped) return;
          const result = await reconcile({
            revision: good.revision,
            desired: project.desired,
            provider,
            ctx: locked.ctx,
            signal: locked.signal,
            backoff: this.backoff,
            options: this.settings,
            log: this.log,
            lookFirst: this.expectsNoChange(good.revision),
          });
          this.finishReconcile(result, {
            startedAt,
            revision: good.revision,
            badCommit: choice.bad !== undefined,
            provider,
          });
          if (result.outcome !== 'aborted') {
            // Under the lock: the notified snapshot has one writer at a time.
            await this.notifications?.afterReconcile(project, result, good.revision);
            const report: ReconcileReport = {
              revision: good.revision,
              desired: project.desired,
              final: result.final,
              resources: result.resources,
              badCommit: choice.bad?.diagnostics ?? [],
              provider,
              ctx: project.providerCtx,
            };
            for (const listener of this.reconcileListeners) listener(report);
          }
        },
      );
      if (outcome.status === 'held') {
        this.log.info(
          { reason: outcome.diagnostics.map((d) => d.message).join('; ') },
          'apply lock held elsewhere: requeue',
        );
        this.loopStatus.finishSync(startedAt, 'lock-held');
        this.syncDueAt = Date.now() + this.settings.lockRetryMs;
      } else if (outcome.status === 'lost') {
        this.loopStatus.recordError('lease', `sync stopped: ${describeDiagnostics(outcome.diagnostics)}`);
        this.syncDueAt = Date.now() + this.settings.lockRetryMs;
      }
      if (this.elector.isLeader && !this.stopped) this.notifications?.drainSoon(project);
    } finally {
      this.current = undefined;
    }
  }

  /**
   * Nothing is expected to change since the last reconcile: same revision, no changes left over,
   * no retry due. Then the sync looks before applying (reconcile.ts `lookFirst`).
   */
  private expectsNoChange(revision: string): boolean {
    const last = this.lastReconciled;
    return (
      last !== undefined &&
      last.revision === revision &&
      !last.changesLeft &&
      this.backoff.msUntilNextRetry() !== 0
    );
  }

  /** Requeues and reports a reconcile: status, metrics, log, and the schedule clock. */
  private finishReconcile(
    result: ReconcileResult,
    sync: { startedAt: Date; revision: string; badCommit: boolean; provider: Provider },
  ): void {
    this.syncDueAt = Date.now() + result.requeueAfterMs;
    if (result.changeFailures > 0) this.metrics.errors.inc({ type: 'apply' }, result.changeFailures);
    if (result.outcome === 'aborted') {
      this.loopStatus.finishSync(sync.startedAt, 'error');
      return;
    }
    this.lastReconciled = { revision: sync.revision, changesLeft: result.changesLeft };
    if (result.observeError !== undefined) this.loopStatus.recordError('observe', result.observeError);
    if (sync.provider.capabilities.schedulesFireInProcess) this.firing.update(result.schedules);
    const outcome: SyncOutcome =
      result.outcome === 'succeeded' && sync.badCommit ? 'invalid-commit' : result.outcome;
    // A bad commit or a revision that throws while loading stays reported while the last good
    // state is reconciled: only a clean pass clears it.
    this.metrics.setMonitoring(result.final.observed.state.endpoints);
    this.loopStatus.recordReconcile(
      sync.revision,
      result,
      outcome === 'succeeded' && !this.follower.loadFailing,
    );
    this.loopStatus.finishSync(sync.startedAt, outcome);
    this.log.info(
      {
        commit: sync.revision,
        result: outcome,
        applied: result.applied,
        failed: result.failed,
        running: result.running,
        requeueInMs: this.syncDueAt - Date.now(),
      },
      'sync finished',
    );
  }
}
