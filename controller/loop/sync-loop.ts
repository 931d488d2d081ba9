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
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { redactCredentials } from '../../resources/credential.js';
import { formatPath, type Diagnostic } from '../../resources/diagnostic.js';
import type { DesiredState } from '../../manifests/load.js';
import type { Provider, ProviderContext } from '../../providers/provider.js';
import { ACTIVE_RUN_STATES } from '../../providers/provider.js';
import { apply, type ApplyEvent } from '../engine/apply.js';
import { withApplyLock } from '../engine/apply-lock.js';
import { isActionable, type Change } from '../engine/change.js';
import { observe } from '../engine/observe.js';
import { plan as makePlan } from '../engine/plan.js';
import { resourceStatus } from '../engine/status.js';
import { ResourceBackoff } from './backoff.js';
import { countingProvider } from './counting-provider.js';
import { LastGoodState, type Choice } from './last-good-state.js';
import { LeaderElector } from './leader.js';
import type { ControllerMetrics, ErrorType, SyncOutcome } from './metrics.js';
import { alreadyFired, ScheduleClock } from './schedule-clock.js';
import type { ManifestSource } from './source.js';
import {
  STATUS_API_VERSION,
  toApiDiagnostic,
  type ControllerStatus,
  type ResourceStatusView,
} from './status-schema.js';

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
}

export type WebhookOutcome = 'accepted' | 'standby' | 'stopping';

const jitter = (ms: number) => Math.round(ms * (0.9 + Math.random() * 0.2));

/** Every error text the loop logs or reports (/api/status) passes here: credentials redacted. */
const describeDiagnostic = (d: Diagnostic): string =>
  redactCredentials(
    [
      d.file ? `${d.file}${d.line ? `:${d.line}${d.col ? `:${d.col}` : ''}` : ''}: ` : '',
      d.path && d.path.length > 0 ? `${formatPath(d.path)}: ` : '',
      d.message,
    ].join(''),
  );

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

export class SyncLoop {
  readonly identity: string;
  private readonly log: Logger;
  private readonly metrics: ControllerMetrics;
  private readonly states = new LastGoodState<ProjectContext>();
  private readonly backoff: ResourceBackoff;
  private readonly elector: LeaderElector;
  private readonly clock: ScheduleClock;

  private revision: string | undefined;
  private fetchDueAt = 0;
  private syncDueAt = Number.POSITIVE_INFINITY;
  private firesDueAt = Number.POSITIVE_INFINITY;
  private readonly fires = new Map<string, { name: string; due: Date }>();
  private wake: () => void = () => {};
  private worker?: Promise<void>;
  private stopped = false;
  private current?: AbortController;

  private ready = false;
  private lastSync: ControllerStatus['controller']['lastSync'] = null;
  private lastError: string | null = null;
  private resources: ResourceStatusView[] = [];
  private appliedRevision: string | null = null;
  private stack: string | null = null;
  /** The last `local.stateDir` reported as ignored (logged once per value). */
  private ignoredStateDir: string | undefined;
  /** The revision whose loading last threw: its internal error is counted once, not every pass. */
  private internalLoadError: string | undefined;

  constructor(private readonly options: SyncLoopOptions) {
    this.identity = options.identity ?? `${hostname()}/${process.pid}`;
    this.log = options.log;
    this.metrics = options.metrics;
    this.backoff = new ResourceBackoff(options.backoff);
    this.clock = new ScheduleClock({ onDue: (name, due) => this.queueFire(name, due) });
    this.elector = new LeaderElector({
      ttlMs: options.leaseTtlMs,
      acquire: () => {
        const good = this.states.current().good?.project;
        return good?.provider.lock(good.providerCtx, {
          name: 'leader',
          holder: this.identity,
          ttlMs: options.leaseTtlMs,
        });
      },
      onStartedLeading: () => {
        this.metrics.leader.set(1);
        this.log.info({ identity: this.identity }, 'leading: this replica syncs and fires schedules');
        this.fetchDueAt = 0;
        this.syncDueAt = 0;
        this.wake();
      },
      onStoppedLeading: (reason) => {
        this.metrics.leader.set(0);
        this.metrics.errors.inc({ type: 'lease' });
        this.ready = false;
        this.log.error({ reason }, 'lost the leader lease: stopping all work now');
        this.current?.abort();
        this.clock.stop();
        this.fires.clear();
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

  private standbyLogged = false;

  get isLeader(): boolean {
    return this.elector.isLeader;
  }

  /** Ready = leading and synced at least once (a standby must not receive webhooks). */
  get isReady(): boolean {
    return this.ready && this.elector.isLeader && !this.stopped;
  }

  start(): void {
    this.metrics.leader.set(0);
    this.options.source.watch?.(() => {
      this.fetchDueAt = 0;
      this.wake();
    });
    this.elector.start();
    this.worker = this.work();
  }

  /** Webhook: fetch and sync now. */
  requestFetch(): WebhookOutcome {
    if (this.stopped) return 'stopping';
    if (!this.elector.isLeader) return 'standby';
    this.fetchDueAt = 0;
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
    this.clock.stop();
    await this.elector.stop();
    this.metrics.leader.set(0);
    await this.options.source.close();
  }

  status(): ControllerStatus {
    const choice = this.states.current();
    return {
      formatVersion: STATUS_API_VERSION,
      controller: {
        version: this.options.version,
        identity: this.identity,
        leader: this.elector.isLeader,
        ready: this.isReady,
        stack: this.stack,
        source: this.options.source.description,
        commit: this.revision ?? null,
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

  // ---- the worker ------------------------------------------------------------------------------

  private async work(): Promise<void> {
    while (!this.stopped) {
      const now = Date.now();
      const due = Math.min(this.fetchDueAt, this.syncDueAt, this.firesDueAt);
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
        if (Date.now() >= this.fetchDueAt) await this.fetch();
        if (this.stopped) break;
        if (Date.now() >= this.firesDueAt) await this.fireDue();
        if (this.stopped) break;
        if (Date.now() >= this.syncDueAt) await this.sync();
      } catch (e) {
        // Expected failures come back as diagnostics; this is a bug, but the loop must go on.
        this.recordError('internal', e instanceof Error ? (e.stack ?? e.message) : String(e));
        this.syncDueAt = Date.now() + (this.options.progressMs ?? 5_000);
      }
    }
  }

  private async fetch(): Promise<void> {
    const update = await this.options.source.update();
    this.fetchDueAt =
      this.options.pollMs !== undefined ? Date.now() + jitter(this.options.pollMs) : Number.POSITIVE_INFINITY;
    if (update.diagnostics.length > 0) {
      this.recordError('source', update.diagnostics.map(describeDiagnostic).join('; '));
    }
    if (update.revision === undefined) return;
    if (update.changed) {
      this.log.info({ commit: update.revision, source: this.options.source.description }, 'new revision');
    }
    this.revision = update.revision;
    // A standby loads too: it needs the provider to campaign, and reports what it would apply.
    const choice = await this.load(update.revision);
    if (choice.good && !this.elector.isLeader) this.elector.poke();
    if (update.changed || this.syncDueAt === Number.POSITIVE_INFINITY) this.syncDueAt = 0;
  }

  /** Loads the manifests of a revision once; a bad one keeps the last good desired state. */
  private async load(revision: string): Promise<Choice<ProjectContext>> {
    const cached = this.states.cached(revision);
    if (cached) return cached;
    let loaded: Awaited<ReturnType<OpenProject>>;
    try {
      loaded = await this.options.openProject([this.options.source.manifestsPath], revision);
    } catch (e) {
      // A bug (the loader turns every input problem into a diagnostic): not the commit's fault, so
      // not a bad commit, and not cached: the next pass loads it again. Meanwhile the last good
      // desired state keeps being reconciled instead of every sync ending here.
      if (this.internalLoadError !== revision) {
        this.internalLoadError = revision;
        this.recordError(
          'internal',
          `loading commit ${revision} failed (${e instanceof Error ? (e.stack ?? e.message) : String(e)}); keeping ${this.states.current().good?.revision ?? 'no'} desired state`,
        );
      }
      return this.states.current();
    }
    this.internalLoadError = undefined;
    const choice = this.states.record(revision, loaded);
    if (choice.newlyBad && choice.bad) {
      this.metrics.errors.inc({ type: 'validation' });
      this.lastError = `commit ${revision} does not load: ${choice.bad.diagnostics.map(describeDiagnostic).join('; ')}`;
      this.log.error(
        {
          commit: revision,
          keeping: choice.good?.revision ?? null,
          diagnostics: choice.bad.diagnostics.map(describeDiagnostic),
        },
        choice.good
          ? 'manifests of the new commit do not load: keeping the last good desired state'
          : 'manifests do not load and there is no good commit yet',
      );
    }
    if (choice.good && !choice.bad) {
      this.stack = choice.good.project.providerCtx.stack;
      const { provider, desired } = choice.good.project;
      const stateDir = desired.project?.config.local.stateDir;
      // The controller keeps provider state in its own --state-dir, never where a commit says.
      if (provider.name === 'local' && stateDir !== undefined && stateDir !== this.ignoredStateDir) {
        this.ignoredStateDir = stateDir;
        this.log.info(
          { stateDir },
          'local.stateDir of the manifests is ignored: the controller keeps state in its own --state-dir',
        );
      }
    }
    return choice;
  }

  private async sync(): Promise<void> {
    this.syncDueAt = Number.POSITIVE_INFINITY;
    if (!this.elector.isLeader || this.revision === undefined) return;
    const startedAt = new Date();
    const choice = await this.load(this.revision);
    const good = choice.good;
    if (!good) {
      this.finishSync(startedAt, 'invalid-commit');
      this.syncDueAt = Date.now() + this.options.resyncMs;
      return;
    }
    const project = good.project;
    const provider = countingProvider(project.provider, (labels) => this.metrics.providerCalls.inc(labels));
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
          await this.reconcile(
            good.revision,
            project.desired,
            provider,
            locked.ctx,
            locked.signal,
            startedAt,
            choice,
          );
        },
      );
      if (outcome.status === 'held') {
        this.log.info(
          { reason: outcome.diagnostics.map((d) => d.message).join('; ') },
          'apply lock held elsewhere: requeue',
        );
        this.finishSync(startedAt, 'lock-held');
        this.syncDueAt = Date.now() + (this.options.lockRetryMs ?? 2_000);
      } else if (outcome.status === 'lost') {
        this.recordError('lease', `sync stopped: ${outcome.diagnostics.map(describeDiagnostic).join('; ')}`);
        this.syncDueAt = Date.now() + (this.options.lockRetryMs ?? 2_000);
      }
    } finally {
      this.current = undefined;
    }
  }

  private async reconcile(
    revision: string,
    desired: DesiredState,
    provider: Provider,
    ctx: ProviderContext,
    signal: AbortSignal,
    startedAt: Date,
    choice: Choice<ProjectContext>,
  ): Promise<void> {
    const planOptions = { prune: this.options.prune };
    const failedNow = new Set<string>();
    const filter = changeFilter(this.backoff, this.options.selfHeal);
    const onEvent = (event: ApplyEvent) => {
      switch (event.type) {
        case 'start':
          this.log.info(
            { commit: revision, address: event.change.address, action: event.change.action },
            `${event.change.action} ${event.change.address}: ${event.change.reason}`,
          );
          break;
        case 'done':
          if (!failedNow.has(event.change.resource)) this.backoff.succeeded(event.change.resource);
          this.log.info(
            { commit: revision, address: event.change.address, action: event.change.action },
            `${event.change.action} ${event.change.address} complete`,
          );
          break;
        case 'failed': {
          failedNow.add(event.change.resource);
          const message = event.diagnostics.map(describeDiagnostic).join('; ');
          const entry = this.backoff.failed(event.change.resource, message, revision);
          this.metrics.errors.inc({ type: 'apply' });
          this.log.warn(
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
    const result = await apply({
      provider,
      ctx,
      desired,
      planOptions,
      wait: false,
      parallelism: this.options.parallelism,
      onEvent,
      signal,
      filter,
    });
    if (signal.aborted) {
      this.finishSync(startedAt, 'error');
      this.syncDueAt = Date.now();
      return;
    }
    // Apply ends with an observation and a plan of it: reported as they are, not listed again.
    const observed = result.final?.observed ?? (await observe(provider, ctx));
    if (observed.diagnostics.some((d) => d.severity === 'error')) {
      this.recordError('observe', observed.diagnostics.map(describeDiagnostic).join('; '));
    }
    const plan = result.final?.plan ?? makePlan(desired, observed.state, planOptions);
    const statuses = resourceStatus(desired, observed.state, plan);
    this.backoff.retainOnly(
      new Set(
        plan.changes.filter((c) => isActionable(c) || failedNow.has(c.resource)).map((c) => c.resource),
      ),
    );
    this.resources = statuses.map((s): ResourceStatusView => {
      const retry = this.backoff.get(s.address);
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
    const running = observed.state.runs.filter((r) => ACTIVE_RUN_STATES.includes(r.state)).length;
    this.metrics.trainingsRunning.set(running);
    this.metrics.setResources(statuses);
    this.metrics.setCommit(revision);
    this.appliedRevision = revision;
    if (provider.name === 'local') this.clock.update(observed.state.schedules);

    // Progressing: runs in flight (the plan's waits and deferred changes resolve when they end), or
    // changes apply may still carry out. A `wait` with no run behind it (an endpoint whose model
    // has no version yet) changes only with a new commit or a run: the resync covers it.
    const progressing = running > 0 || plan.changes.some((c) => isActionable(c) && filter(c));
    const progressMs = this.options.progressMs ?? 5_000;
    const nextRetry = this.backoff.msUntilNextRetry();
    this.syncDueAt =
      Date.now() +
      Math.min(progressing ? progressMs : this.options.resyncMs, nextRetry ?? Number.POSITIVE_INFINITY);

    // Not ok without a failed resource: unreadable state stopped the apply (engine/observe.ts).
    const outcome: SyncOutcome =
      result.failed.length > 0 || !result.ok ? 'degraded' : choice.bad ? 'invalid-commit' : 'succeeded';
    this.ready = true;
    // A bad commit or a revision that throws while loading stays reported while the last good
    // state is reconciled: only a clean pass clears it.
    if (outcome === 'succeeded' && !choice.bad && this.internalLoadError === undefined) this.lastError = null;
    this.finishSync(startedAt, outcome);
    this.log.info(
      {
        commit: revision,
        result: outcome,
        applied: result.applied,
        failed: result.failed,
        running,
        requeueInMs: this.syncDueAt - Date.now(),
      },
      'sync finished',
    );
  }

  private finishSync(startedAt: Date, result: SyncOutcome): void {
    const finishedAt = new Date();
    this.lastSync = { startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(), result };
    this.metrics.syncTotal.inc({ result });
    this.metrics.syncDuration.observe({ result }, (finishedAt.getTime() - startedAt.getTime()) / 1000);
  }

  private recordError(type: ErrorType, message: string): void {
    this.metrics.errors.inc({ type });
    // Internal errors carry stack traces and raw exception text: redacted like diagnostics.
    const redacted = redactCredentials(message);
    this.lastError = redacted;
    this.log.error({ type }, redacted);
  }

  // ---- schedules -------------------------------------------------------------------------------

  private queueFire(name: string, due: Date): void {
    if (!this.elector.isLeader || this.stopped) return;
    this.fires.set(`${name}@${due.toISOString()}`, { name, due });
    this.firesDueAt = 0;
    this.wake();
  }

  /** Fires due schedules one at a time, under the apply lock (a fire picks a run number). */
  private async fireDue(): Promise<void> {
    this.firesDueAt = Number.POSITIVE_INFINITY;
    const project = this.states.current().good?.project;
    if (!project || !this.elector.isLeader || this.fires.size === 0) return;
    const provider = countingProvider(project.provider, (labels) => this.metrics.providerCalls.inc(labels));
    const ctx = project.providerCtx;
    const outcome = await withApplyLock(provider, ctx, { holder: this.identity }, async ({ ctx }) => {
      const listed = await provider.schedules.list(ctx);
      for (const [key, { name, due }] of [...this.fires]) {
        if (this.stopped || !this.elector.isLeader) break;
        this.fires.delete(key);
        const schedule = listed.items.find((s) => s.name === name);
        if (!schedule || schedule.spec.suspend || alreadyFired(schedule, due)) continue;
        const fired = await provider.schedules.trigger(ctx, { name });
        const errors = fired.diagnostics.filter((d) => d.severity === 'error');
        if (errors.length > 0) {
          this.recordError(
            'schedule',
            `firing Schedule/${name}: ${errors.map(describeDiagnostic).join('; ')}`,
          );
        } else {
          this.log.info(
            {
              schedule: name,
              due: due.toISOString(),
              run: fired.run ? `${fired.run.name}#${fired.run.number}` : null,
              notes: fired.diagnostics.map((d) => d.message),
            },
            fired.run ? `Schedule/${name} fired` : `Schedule/${name} fire skipped`,
          );
        }
      }
    });
    if (outcome.status === 'held') {
      this.firesDueAt = Date.now() + (this.options.lockRetryMs ?? 2_000);
      return;
    }
    if (outcome.status === 'lost') {
      this.recordError(
        'lease',
        `firing schedules stopped: ${outcome.diagnostics.map(describeDiagnostic).join('; ')}`,
      );
    }
    this.syncDueAt = 0;
  }
}
