/**
 * Schedule firing for providers whose schedules fire in process (the local provider; Cloud
 * Scheduler fires gcp's): the clock's due fires wait in a queue, deduplicated per schedule and due
 * time, until the worker fires them one at a time under the apply lock (a fire picks a run number,
 * so it must not race an apply). A fire is skipped when the schedule has fired for that due time
 * already (by a previous leader), is suspended, or is gone.
 */
import type { Logger } from 'pino';
import { runRef, scheduleAddress } from '../../resources/address.js';
import type { ObservedSchedule, Provider, ProviderContext } from '../../providers/provider.js';
import { withApplyLock } from '../engine/apply-lock.js';
import { describeDiagnostics } from './error-text.js';
import type { LoopStatus } from './loop-status.js';
import { alreadyFired, ScheduleClock } from './schedule-clock.js';

export interface ScheduleFiringOptions {
  /** The apply lock's holder. */
  identity: string;
  /** When the apply lock is held by someone else. */
  lockRetryMs: number;
  log: Logger;
  status: Pick<LoopStatus, 'recordError'>;
  /** Fires are queued and carried out only while this holds (leading, not stopping). */
  mayFire: () => boolean;
  /** A fire was queued: wake the worker. */
  onQueued: () => void;
  /** A fire time passed while nothing fired (notifications: schedule.missed). */
  onMissed?: (name: string, due: Date, late: boolean) => void;
}

/** `idle`: nothing was due; `held`: retried after `lockRetryMs`; `fired`: a sync should follow. */
export type FiringOutcome = 'idle' | 'held' | 'fired';

export class ScheduleFiring {
  /** When the queued fires are due (epoch ms). */
  dueAt = Number.POSITIVE_INFINITY;
  private readonly queue = new Map<string, { name: string; due: Date }>();
  private readonly clock = new ScheduleClock({
    onDue: (name, due) => this.enqueue(name, due),
    onMissed: (name, due, late) => this.options.onMissed?.(name, due, late),
  });

  constructor(private readonly options: ScheduleFiringOptions) {}

  /** Arms the clock for the schedules a sync observed; reports missed fires. */
  update(schedules: readonly ObservedSchedule[]): void {
    this.clock.update(schedules);
  }

  /** Leadership ended or the loop stops: no timers, nothing queued. */
  stop(): void {
    this.clock.stop();
    this.queue.clear();
  }

  private enqueue(name: string, due: Date): void {
    if (!this.options.mayFire()) return;
    this.queue.set(`${name}@${due.toISOString()}`, { name, due });
    this.dueAt = 0;
    this.options.onQueued();
  }

  /** Fires the queued schedules one at a time, under the apply lock. */
  async fireDue(provider: Provider, ctx: ProviderContext): Promise<FiringOutcome> {
    this.dueAt = Number.POSITIVE_INFINITY;
    if (!this.options.mayFire() || this.queue.size === 0) return 'idle';
    const { identity, status } = this.options;
    const outcome = await withApplyLock(provider, ctx, { holder: identity }, async (locked) => {
      const listed = await provider.schedules.list(locked.ctx);
      for (const [key, { name, due }] of [...this.queue]) {
        if (!this.options.mayFire()) break;
        this.queue.delete(key);
        const schedule = listed.items.find((s) => s.name === name);
        if (!schedule || schedule.spec.suspend || alreadyFired(schedule, due)) continue;
        await this.fire(provider, locked.ctx, name, due);
      }
    });
    if (outcome.status === 'held') {
      this.dueAt = Date.now() + this.options.lockRetryMs;
      return 'held';
    }
    if (outcome.status === 'lost') {
      status.recordError('lease', `firing schedules stopped: ${describeDiagnostics(outcome.diagnostics)}`);
    }
    return 'fired';
  }

  private async fire(provider: Provider, ctx: ProviderContext, name: string, due: Date): Promise<void> {
    const fired = await provider.schedules.trigger(ctx, { name });
    const errors = fired.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length > 0) {
      this.options.status.recordError(
        'schedule',
        `firing ${scheduleAddress(name)}: ${describeDiagnostics(errors)}`,
      );
      return;
    }
    this.options.log.info(
      {
        schedule: name,
        due: due.toISOString(),
        run: fired.run ? runRef(fired.run) : null,
        notes: fired.diagnostics.map((d) => d.message),
      },
      fired.run ? `${scheduleAddress(name)} fired` : `${scheduleAddress(name)} fire skipped`,
    );
  }
}
