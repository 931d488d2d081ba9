/**
 * Per-resource retry backoff (controller-runtime's per-item rate limiter): a resource whose change
 * failed is left out of applies until its backoff expires, doubling from `baseMs` to `maxMs`, while
 * the rest of the stack keeps converging. A success, or the resource leaving the plan, forgets it.
 */

export interface BackoffOptions {
  baseMs?: number;
  maxMs?: number;
  now?: () => number;
}

export interface BackoffEntry {
  resource: string;
  failures: number;
  lastError: string;
  /** The commit the failing change came from. */
  commit: string | undefined;
  nextRetryAt: number;
}

/** 5 s doubling to 5 min. */
export const DEFAULT_BACKOFF = { baseMs: 5_000, maxMs: 300_000 } as const;

/** Delay before retry number `failures` (1-based): base, 2·base, 4·base ... capped at max. */
export function backoffDelay(
  failures: number,
  baseMs: number = DEFAULT_BACKOFF.baseMs,
  maxMs: number = DEFAULT_BACKOFF.maxMs,
): number {
  if (failures <= 0) return 0;
  // 2^30 is far past any cap; keeps the arithmetic exact for absurd failure counts.
  return Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
}

export class ResourceBackoff {
  private readonly entries = new Map<string, BackoffEntry>();
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly now: () => number;

  constructor(options: BackoffOptions = {}) {
    this.baseMs = options.baseMs ?? DEFAULT_BACKOFF.baseMs;
    this.maxMs = options.maxMs ?? DEFAULT_BACKOFF.maxMs;
    this.now = options.now ?? Date.now;
  }

  /** Records a failure; returns the entry with its next retry time. */
  failed(resource: string, lastError: string, commit: string | undefined): BackoffEntry {
    const failures = (this.entries.get(resource)?.failures ?? 0) + 1;
    const entry: BackoffEntry = {
      resource,
      failures,
      lastError,
      commit,
      nextRetryAt: this.now() + backoffDelay(failures, this.baseMs, this.maxMs),
    };
    this.entries.set(resource, entry);
    return entry;
  }

  succeeded(resource: string): void {
    this.entries.delete(resource);
  }

  /** Still waiting: its changes must not be executed now. */
  isBlocked(resource: string): boolean {
    const entry = this.entries.get(resource);
    return entry !== undefined && entry.nextRetryAt > this.now();
  }

  get(resource: string): BackoffEntry | undefined {
    return this.entries.get(resource);
  }

  /** Milliseconds until the earliest pending retry, if any resource is waiting. */
  msUntilNextRetry(): number | undefined {
    let earliest: number | undefined;
    for (const entry of this.entries.values()) {
      if (earliest === undefined || entry.nextRetryAt < earliest) earliest = entry.nextRetryAt;
    }
    return earliest === undefined ? undefined : Math.max(0, earliest - this.now());
  }

  /** Forgets resources the plan no longer has anything to do for (converged, or gone). */
  retainOnly(resources: ReadonlySet<string>): void {
    for (const resource of [...this.entries.keys()]) {
      if (!resources.has(resource)) this.entries.delete(resource);
    }
  }

  all(): BackoffEntry[] {
    return [...this.entries.values()];
  }
}
