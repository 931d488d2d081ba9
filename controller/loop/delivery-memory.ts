/**
 * Recently seen `X-GitHub-Delivery` ids, so that a replayed webhook (the same signed request sent
 * again by whoever captured it, or GitHub's own redelivery) is acknowledged without another sync.
 * A signature proves who wrote a request, not that it is new.
 *
 * Bounded twice: at most `maxIds` ids (the oldest forgotten first) and none older than `maxAgeMs`.
 * A replay after that window triggers one fetch and sync, which is harmless (level-triggered and
 * idempotent); the bounds only keep a flood of distinct signed deliveries from growing memory.
 */
export interface DeliveryMemoryOptions {
  maxIds: number;
  maxAgeMs: number;
  now?: () => number;
}

export const DEFAULT_DELIVERY_MEMORY = { maxIds: 10_000, maxAgeMs: 24 * 60 * 60 * 1000 } as const;

/** GitHub sends a GUID; anything longer is not an id worth keeping. */
const MAX_ID_LENGTH = 200;

export class DeliveryMemory {
  /** Insertion order is arrival order, which is also age order. */
  private readonly seen = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly options: DeliveryMemoryOptions = DEFAULT_DELIVERY_MEMORY) {
    this.now = options.now ?? Date.now;
  }

  /** True when `id` was already recorded within the window. */
  has(id: string): boolean {
    this.expire();
    return this.seen.has(id);
  }

  record(id: string): void {
    if (id.length > MAX_ID_LENGTH) return;
    this.seen.delete(id);
    this.seen.set(id, this.now());
    this.expire();
    while (this.seen.size > this.options.maxIds) {
      const oldest = this.seen.keys().next().value;
      if (oldest === undefined) break;
      this.seen.delete(oldest);
    }
  }

  get size(): number {
    return this.seen.size;
  }

  private expire(): void {
    const cutoff = this.now() - this.options.maxAgeMs;
    for (const [id, at] of this.seen) {
      if (at > cutoff) break;
      this.seen.delete(id);
    }
  }
}
