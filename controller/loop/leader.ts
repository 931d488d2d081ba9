/**
 * Leader election on the provider's `leader` lease (client-go's leaderelection, on a file locally
 * and a GCS object on gcp): candidates try every ttl/3; the leader renews every ttl/3. A failed
 * renewal, or one that cannot complete within the ttl, ends leadership at once: another replica
 * may already be acting.
 */
import type { Diagnostic } from '../../resources/diagnostic.js';
import { errorMessage } from '../../resources/error-message.js';
import type { Lease, Response } from '../../providers/provider.js';

export interface LeaderElectorOptions {
  /** Tries to take the lease; undefined when there is no provider yet (no manifests loaded). */
  acquire: () => Promise<Response & { lease?: Lease }> | undefined;
  ttlMs: number;
  onStartedLeading: () => void;
  onStoppedLeading: (reason: string) => void;
  /** A candidate's failed attempt (usually: held by someone else). */
  onStandby?: (diagnostics: Diagnostic[]) => void;
  now?: () => number;
}

export class LeaderElector {
  private lease?: Lease;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private lastRenewedAt = 0;
  private readonly now: () => number;

  constructor(private readonly options: LeaderElectorOptions) {
    this.now = options.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.lease !== undefined;
  }

  get intervalMs(): number {
    return Math.max(50, Math.floor(this.options.ttlMs / 3));
  }

  start(): void {
    void this.tick();
  }

  /** Try now (e.g. right after the first manifests loaded) instead of at the next tick. */
  poke(): void {
    if (this.stopped || this.lease) return;
    clearTimeout(this.timer);
    void this.tick();
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), this.intervalMs);
  }

  /** The attempt or renewal under way: `stop` waits for it, so a renewal cannot land after the release. */
  private inFlight?: Promise<void>;

  private async tick(): Promise<void> {
    if (this.stopped || this.inFlight) return;
    this.inFlight = this.lease ? this.renew(this.lease) : this.tryAcquire();
    try {
      await this.inFlight;
    } finally {
      this.inFlight = undefined;
      this.schedule();
    }
  }

  private async tryAcquire(): Promise<void> {
    const attempt = this.options.acquire();
    if (!attempt) return;
    const result = await attempt.catch((e: unknown): Response & { lease?: Lease } => ({
      diagnostics: [
        {
          severity: 'error',
          code: 'leader-lease',
          message: `taking the leader lease failed: ${errorMessage(e)}`,
        },
      ],
    }));
    if (this.stopped) {
      await result.lease?.release();
      return;
    }
    if (result.lease) {
      this.lease = result.lease;
      this.lastRenewedAt = this.now();
      this.options.onStartedLeading();
    } else {
      this.options.onStandby?.(result.diagnostics);
    }
  }

  private async renew(lease: Lease): Promise<void> {
    const started = this.now();
    const result = await lease.renew().catch((e: unknown): Response => ({
      diagnostics: [
        {
          severity: 'error',
          code: 'leader-lease',
          message: `renewing failed: ${errorMessage(e)}`,
        },
      ],
    }));
    const late = this.now() - this.lastRenewedAt > this.options.ttlMs;
    const failed = result.diagnostics.find((d) => d.severity === 'error');
    if (failed || late) {
      this.lease = undefined;
      this.options.onStoppedLeading(failed ? failed.message : 'the lease expired before it was renewed');
      return;
    }
    this.lastRenewedAt = started;
  }

  /** Stops campaigning and releases the lease so a standby takes over without waiting for expiry. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    // A renewal that wrote after the release would leave the lease behind until it expires.
    await this.inFlight?.catch(() => undefined);
    const lease = this.lease;
    this.lease = undefined;
    if (lease) await lease.release().catch(() => undefined);
  }
}
