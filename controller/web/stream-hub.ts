/**
 * Live documents (`GET /api/v1/stream?path=...`, Server-Sent Events). Each open stream follows one
 * API route: its document is sent at once, then rebuilt on every new snapshot of the source and
 * sent only when its JSON differs from the last one sent. Streams of the same route share one
 * build per snapshot; snapshots are handled one at a time, and one arriving during a round
 * replaces any still waiting (only the newest matters). Bounded: at most `maxStreams` open.
 */
import type { ServerResponse } from 'node:http';
import { errorMessage } from '../../resources/error-message.js';
import { STREAM_EVENTS, type ApiError, type ApiRoute } from './api.js';
import type { DashboardSource, StackSnapshot, ViewResult } from './snapshot.js';

export const MAX_STREAMS = 64;
export const PING_MS = 15_000;
/** A client this far behind (unsent bytes) is cut off rather than buffered for. */
const MAX_UNSENT_BYTES = 8 * 1024 * 1024;

export const STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-store',
  'x-accel-buffering': 'no',
} as const;

export const NO_SNAPSHOT: ApiError = { error: 'no snapshot yet: the first observation is running' };

interface Stream {
  res: ServerResponse;
  route: ApiRoute;
  /** Streams with the same key share a build. */
  key: string;
  /** The last event sent (`event` + data), to send only changes. */
  last?: string;
}

export interface StreamHubOptions {
  source: DashboardSource;
  build: (route: ApiRoute, snapshot: StackSnapshot) => Promise<ViewResult>;
  maxStreams?: number;
  pingMs?: number;
}

export class StreamHub {
  private readonly streams = new Set<Stream>();
  private readonly maxStreams: number;
  private readonly unsubscribe: () => void;
  private readonly ping: NodeJS.Timeout;
  /** Deliveries run one after another, so a stream never receives an older document after a newer one. */
  private queue: Promise<void> = Promise.resolve();
  private waiting: StackSnapshot | undefined;
  private closed = false;

  constructor(private readonly options: StreamHubOptions) {
    this.maxStreams = options.maxStreams ?? MAX_STREAMS;
    this.unsubscribe = options.source.subscribe((snapshot) => this.onSnapshot(snapshot));
    this.ping = setInterval(() => this.sendPing(), options.pingMs ?? PING_MS);
    this.ping.unref();
  }

  get size(): number {
    return this.streams.size;
  }

  /** Starts a stream on `res`; false (nothing written) when the limit is reached. */
  open(res: ServerResponse, route: ApiRoute, key: string): boolean {
    if (this.closed || this.streams.size >= this.maxStreams) return false;
    const stream: Stream = { res, route, key };
    this.streams.add(stream);
    res.on('close', () => this.streams.delete(stream));
    res.writeHead(200, STREAM_HEADERS);
    res.flushHeaders();
    this.options.source.touch?.();
    this.enqueue(async () => {
      const snapshot = this.options.source.current();
      if (snapshot) await this.deliver([stream], snapshot);
      else this.send(stream, STREAM_EVENTS.problem, NO_SNAPSHOT);
    });
    return true;
  }

  /** Ends every stream and stops listening (server shutdown). */
  close(): void {
    this.closed = true;
    this.unsubscribe();
    clearInterval(this.ping);
    for (const stream of this.streams) stream.res.end();
    this.streams.clear();
  }

  private onSnapshot(snapshot: StackSnapshot): void {
    if (this.streams.size === 0) return;
    // A viewer is still looking: an on-demand source keeps refreshing.
    this.options.source.touch?.();
    // Snapshots that arrive while one is delivered collapse: only the newest is built.
    const queued = this.waiting !== undefined;
    this.waiting = snapshot;
    if (queued) return;
    this.enqueue(async () => {
      const next = this.waiting;
      this.waiting = undefined;
      if (next && !this.closed) await this.deliver([...this.streams], next);
    });
  }

  private enqueue(job: () => Promise<void>): void {
    // A failed delivery (a socket gone mid-write) must not stop the ones after it.
    this.queue = this.queue.then(job).catch(() => undefined);
  }

  /** One build per route key, sent to each of its streams whose last event differs. */
  private async deliver(streams: Stream[], snapshot: StackSnapshot): Promise<void> {
    const byKey = new Map<string, Stream[]>();
    for (const stream of streams) byKey.set(stream.key, [...(byKey.get(stream.key) ?? []), stream]);
    await Promise.all(
      [...byKey.values()].map(async (group) => {
        const [event, data] = await this.eventFor(group[0].route, snapshot);
        for (const stream of group) if (this.streams.has(stream)) this.send(stream, event, data);
      }),
    );
  }

  private async eventFor(route: ApiRoute, snapshot: StackSnapshot): Promise<[string, unknown]> {
    try {
      const result = await this.options.build(route, snapshot);
      return result.status === 200 ? [STREAM_EVENTS.doc, result.doc] : [STREAM_EVENTS.problem, result.error];
    } catch (e) {
      return [
        STREAM_EVENTS.problem,
        { error: `cannot build the document: ${errorMessage(e).split('\n', 1)[0]}` },
      ];
    }
  }

  private send(stream: Stream, event: string, data: unknown): void {
    // JSON.stringify escapes line breaks inside strings: the data is one line.
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    if (text === stream.last) return;
    stream.last = text;
    this.write(stream, text);
  }

  private write(stream: Stream, text: string): void {
    if (stream.res.writableLength > MAX_UNSENT_BYTES) {
      this.streams.delete(stream);
      stream.res.destroy();
      return;
    }
    stream.res.write(text);
  }

  private sendPing(): void {
    if (this.streams.size > 0) this.options.source.touch?.();
    for (const stream of this.streams) this.write(stream, ': ping\n\n');
  }
}
