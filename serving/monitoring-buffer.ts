/**
 * A bounded buffer of JSON records written as one JSON-lines object per flush (prediction log,
 * feedback). The request path only pushes; serialisation and the write happen in a later turn,
 * one flush at a time. When the buffer is full a record is dropped and counted, and a failed
 * write drops its batch (counted): memory never grows past the bound, whatever the store does.
 */
export interface BufferSink {
  /** Where a batch goes, from the time of the flush and a sequence number. */
  objectUri(timeMs: number, seq: number): string;
  write(uri: string, text: string): Promise<void>;
}

export interface BufferEvents {
  written(records: number): void;
  dropped(records: number, reason: 'buffer_full' | 'flush_failed'): void;
  failed(error: unknown, records: number): void;
}

export interface BufferLimits {
  /** Weight (instances) held at most; a push beyond it is dropped. */
  maxWeight: number;
  /** A flush starts once this much weight is buffered. */
  flushWeight: number;
}

export class JsonlBuffer {
  private records: unknown[] = [];
  private weight = 0;
  private seq = 0;
  private inFlight: Promise<void> | undefined;
  private scheduled = false;

  constructor(
    private readonly sink: BufferSink,
    private readonly limits: BufferLimits,
    private readonly events: BufferEvents,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records waiting for a flush. */
  get pending(): number {
    return this.records.length;
  }

  /** False when the record was dropped (the buffer is full). */
  push(record: unknown, weight = 1): boolean {
    if (this.weight + weight > this.limits.maxWeight && this.records.length > 0) {
      this.events.dropped(1, 'buffer_full');
      return false;
    }
    this.records.push(record);
    this.weight += weight;
    if (this.weight >= this.limits.flushWeight && !this.scheduled) {
      // Off the request path: the flush starts after this turn's responses are written.
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.flush();
      });
    }
    return true;
  }

  /** Writes what is buffered as one object; waits for a flush already under way first. */
  async flush(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    if (this.records.length === 0) return;
    const batch = this.records;
    this.records = [];
    this.weight = 0;
    this.inFlight = this.write(batch).finally(() => {
      this.inFlight = undefined;
    });
    await this.inFlight;
  }

  private async write(batch: unknown[]): Promise<void> {
    const uri = this.sink.objectUri(this.now(), this.seq++);
    try {
      let text = '';
      for (const record of batch) text += `${JSON.stringify(record)}\n`;
      await this.sink.write(uri, text);
      this.events.written(batch.length);
    } catch (e) {
      this.events.failed(e, batch.length);
      this.events.dropped(batch.length, 'flush_failed');
    }
  }
}
