/**
 * Notifications in the controller: after each reconcile (under the apply lock) the state is
 * compared with the notified snapshot and the events go to the outbox, with `sync.failed` /
 * `sync.recovered` when a sync's outcome turns; the leader drains the outbox after each sync and
 * on a timer, in the background (a slow receiver never holds up a sync). `/metrics` shows
 * `mlform_notifications_pending` and delivered/failed counts per sink.
 */
import type { Logger } from 'pino';
import { errorMessage } from '../../resources/error-message.js';
import { scheduleAddress } from '../../resources/address.js';
import type { LoadedPolicy } from '../engine/policy.js';
import { notifierFor } from '../notify/for-project.js';
import type { Notifier, NotifyOperator } from '../notify/notifier.js';
import type { ProjectContext } from './loop-options.js';
import type { ControllerMetrics } from './metrics.js';
import type { ReconcileResult } from './reconcile.js';

/** Between drains when nothing else wakes one (retries are due on their own backoff). */
export const NOTIFY_DRAIN_EVERY_MS = 5_000;

export interface LoopNotificationsOptions {
  operator: NotifyOperator;
  env: NodeJS.ProcessEnv;
  metrics: ControllerMetrics;
  log: Logger;
  everyMs?: number;
}

export class LoopNotifications {
  private project?: ProjectContext;
  private notifier?: Notifier;
  private draining?: Promise<void>;
  private timer?: NodeJS.Timeout;
  /** The last sync's outcome, for sync.failed / sync.recovered (undefined: none yet in this process). */
  private lastSyncOk?: boolean;

  constructor(private readonly options: LoopNotificationsOptions) {}

  private notifierOf(project: ProjectContext): Notifier | undefined {
    if (project !== this.project) {
      this.project = project;
      const policy = (project as ProjectContext & { policy?: LoadedPolicy }).policy;
      const hosts = policy?.policy.notificationHosts;
      const operator: NotifyOperator =
        hosts && hosts.length > 0
          ? {
              ...this.options.operator,
              policy: {
                ...this.options.operator.policy,
                allowHosts: [...this.options.operator.policy.allowHosts, hosts],
              },
            }
          : this.options.operator;
      this.notifier = notifierFor(project, operator, this.options.env);
    }
    return this.notifier;
  }

  /** Under the lock, after a reconcile that was not aborted. Failures are logged, never thrown. */
  async afterReconcile(
    project: ProjectContext,
    result: Exclude<ReconcileResult, { outcome: 'aborted' }>,
    revision: string,
  ): Promise<void> {
    const notifier = this.notifierOf(project);
    if (!notifier) return;
    try {
      await notifier.record(result.final.observed.state, { plan: result.final.plan });
      const ok = result.outcome === 'succeeded';
      if (this.lastSyncOk !== undefined && ok !== this.lastSyncOk) {
        const failed = result.failed.join(', ');
        await notifier.emit(
          ok
            ? {
                type: 'sync.recovered',
                resource: `commit/${revision}`,
                identity: `${revision}|${new Date().toISOString()}`,
                summary: `sync of ${revision.slice(0, 12)} succeeded again`,
              }
            : {
                type: 'sync.failed',
                resource: `commit/${revision}`,
                identity: `${revision}|${new Date().toISOString()}`,
                summary: `sync of ${revision.slice(0, 12)} failed${failed ? `: ${failed}` : ''}`,
                detail: 'see the controller log and /api/status',
                data: { revision, failed: result.failed },
              },
        );
      }
      this.lastSyncOk = ok;
    } catch (e) {
      this.options.log.error({ err: errorMessage(e) }, 'notifications: recording events failed');
    }
  }

  /** A fire time passed while no controller fired it (schedule-clock.ts); enqueued in the background. */
  scheduleMissed(project: ProjectContext | undefined, name: string, due: Date, late: boolean): void {
    const notifier = project && this.notifierOf(project);
    if (!notifier) return;
    const resource = scheduleAddress(name);
    notifier
      .emit({
        type: 'schedule.missed',
        resource,
        identity: due.toISOString(),
        summary: `${resource} missed its fire at ${due.toISOString()}${late ? '; firing it late now' : '; skipped, past its starting deadline'}`,
        detail: 'no controller was running to fire it',
        data: { schedule: name, due: due.toISOString(), firedLate: late },
      })
      .catch((e: unknown) =>
        this.options.log.error({ err: errorMessage(e) }, 'notifications: enqueueing schedule.missed failed'),
      );
  }

  /** Drains in the background unless a drain is under way. */
  drainSoon(project: ProjectContext | undefined): void {
    const notifier = project && this.notifierOf(project);
    if (!notifier || this.draining) return;
    this.draining = this.drain(notifier).finally(() => {
      this.draining = undefined;
    });
  }

  private async drain(notifier: Notifier): Promise<void> {
    const { metrics, log } = this.options;
    try {
      const result = await notifier.drain();
      for (const o of result.outcomes) {
        if (o.ok) metrics.notificationsDelivered.inc({ sink: o.sink });
        else {
          metrics.notificationsFailed.inc({ sink: o.sink });
          log.warn(
            { sink: o.sink, event: o.event.type, id: o.event.id, gaveUp: o.gaveUp ?? false },
            o.error ?? 'delivery failed',
          );
        }
      }
      metrics.notificationsPending.set(result.pending);
      if (result.unreadable.length > 0)
        log.warn({ items: result.unreadable }, 'notification outbox items do not parse');
    } catch (e) {
      log.error({ err: errorMessage(e) }, 'notifications: draining the outbox failed');
    }
  }

  /** Drains every `everyMs` while `current()` gives a project (the leader's). */
  start(current: () => ProjectContext | undefined): void {
    this.timer = setInterval(() => this.drainSoon(current()), this.options.everyMs ?? NOTIFY_DRAIN_EVERY_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.draining;
  }
}
