/**
 * The model server's monitoring (issue 15, README.md "Monitoring"): for every predict it counts
 * the instances into the serving version's window (monitoring/window-counter.ts) and remembers
 * the predictions for feedback; a sample of requests goes to the prediction log. Objects are
 * written off the request path on a timer: log and feedback batches (monitoring-buffer.ts), the
 * changed window summaries, and retention deletes. Nothing here can fail a request: a write that
 * fails is counted in /metrics and logged.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { errorMessage } from '../resources/error-message.js';
import { storeFor, type ObjectStore } from '../artifact/storage.js';
import {
  batchObjectUri,
  feedbackPrefix,
  logsPrefix,
  windowStart,
  windowSummaryUri,
} from '../monitoring/layout.js';
import type { PredictionRecord } from '../monitoring/prediction-log.js';
import { readStatisticsFile } from '../monitoring/statistics-file.js';
import { WindowCounter } from '../monitoring/window-counter.js';
import type { MonitoringConfig } from './config.js';
import { JsonlBuffer, type BufferEvents } from './monitoring-buffer.js';
import { qualityItem, readFeedback, RecentRequests } from './monitoring-feedback.js';
import { sweepRetention } from './monitoring-retention.js';
import type { ServingMetrics } from './serving-metrics.js';

/** The current window's summary is rewritten at most this often (a crash loses at most this much). */
const CHECKPOINT_MS = 60_000;
/** Retention runs this often (and once soon after the start). */
const RETENTION_EVERY_MS = 10 * 60_000;

export interface MonitorOptions {
  config: MonitoringConfig;
  model: string;
  metrics: ServingMetrics;
  log: Logger;
  /** Default: the store of `config.root` (local files or Cloud Storage). */
  store?: ObjectStore;
  now?: () => number;
  random?: () => number;
  /** For the instance name (`K_REVISION` on Cloud Run). */
  env?: NodeJS.ProcessEnv;
}

export interface FeedbackAnswer {
  matched: number;
  unmatched: number;
  duplicates: number;
  /** The first few ids that matched nothing (unknown, expired, or an index past the request). */
  unmatchedIds: string[];
}

export class ServingMonitor {
  readonly instance: string;
  private readonly config: MonitoringConfig;
  private readonly store: ObjectStore;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly windowMs: number;
  private readonly counters = new Map<number, WindowCounter>();
  private readonly recent = new RecentRequests();
  private readonly logBuffer: JsonlBuffer;
  private readonly feedbackBuffer: JsonlBuffer;
  private timer: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private firstRetention: NodeJS.Timeout | undefined;
  private lastCheckpoint = 0;
  private lastWindow = 0;
  private tick: Promise<void> = Promise.resolve();
  /** The version unmatched feedback is counted under: the one taking the most traffic. */
  private primary: number | undefined;
  private primaryPercent = -1;
  private lastErrorLog = -Infinity;

  constructor(private readonly options: MonitorOptions) {
    const { config } = options;
    this.config = config;
    this.store = options.store ?? storeFor(config.root);
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.windowMs = config.windowSeconds * 1000;
    const env = options.env ?? process.env;
    const prefix = config.instance ?? instancePrefix(env.K_REVISION);
    this.instance = `${prefix}-${randomBytes(4).toString('hex')}`;
    const limits = {
      maxWeight: config.bufferRecords,
      flushWeight: Math.min(config.flushRecords, config.bufferRecords),
    };
    const write = (uri: string, text: string) => this.store.write(uri, text);
    this.logBuffer = new JsonlBuffer(
      { objectUri: (t, seq) => batchObjectUri(logsPrefix(config.root), t, this.instance, seq), write },
      limits,
      this.bufferEvents('log'),
      this.now,
    );
    this.feedbackBuffer = new JsonlBuffer(
      { objectUri: (t, seq) => batchObjectUri(feedbackPrefix(config.root), t, this.instance, seq), write },
      limits,
      this.bufferEvents('feedback'),
      this.now,
    );
  }

  private bufferEvents(object: 'log' | 'feedback'): BufferEvents {
    const { metrics } = this.options;
    return {
      written: (n) => {
        if (object === 'log') metrics.monitoringLogged(n);
      },
      dropped: (n, reason) => {
        if (object === 'log') metrics.monitoringDropped(n, reason);
      },
      failed: (e, n) => this.writeFailed(object, e, { records: n }),
    };
  }

  /** Failed writes are counted every time and logged at most once a minute (a dead store is loud enough). */
  private writeFailed(object: 'log' | 'feedback' | 'summary', e: unknown, fields: object): void {
    this.options.metrics.monitoringFlushError(object);
    const now = this.now();
    if (now - this.lastErrorLog < 60_000) return;
    this.lastErrorLog = now;
    this.options.log.warn(
      { object, err: errorMessage(e), root: this.config.root, ...fields },
      'monitoring write failed',
    );
  }

  /**
   * A version is loaded: its statistics.json gives the bins (without it only counts and quality
   * are kept, said once here). `percent` picks the version unmatched feedback is counted under.
   */
  async addVersion(version: number, uri: string, percent: number): Promise<void> {
    const read = await readStatisticsFile(uri);
    if (!read.ok) {
      this.options.log.warn(
        { version, detail: read.detail },
        'no reference statistics: this version counts requests but drift cannot be scored',
      );
    }
    this.counters.set(
      version,
      new WindowCounter(
        {
          endpoint: this.config.endpoint,
          model: this.options.model,
          version,
          instance: this.instance,
        },
        this.windowMs,
        read.ok ? read.statistics : undefined,
      ),
    );
    const first = this.primary === undefined;
    if (
      first ||
      percent > this.primaryPercent ||
      (percent === this.primaryPercent && version > (this.primary ?? 0))
    ) {
      this.primary = version;
      this.primaryPercent = percent;
    }
  }

  /** Timers start with serving (they do not keep the process alive). */
  start(): void {
    const every = this.config.flushSeconds * 1000;
    this.lastCheckpoint = this.now();
    this.lastWindow = windowStart(this.now(), this.windowMs);
    this.timer = setInterval(() => void this.runTick(false), every);
    this.timer.unref();
    const retention = (): void => {
      void this.sweep().catch(() => undefined);
    };
    this.retentionTimer = setInterval(retention, RETENTION_EVERY_MS);
    this.retentionTimer.unref();
    this.firstRetention = setTimeout(retention, Math.min(RETENTION_EVERY_MS, every * 6));
    this.firstRetention.unref();
  }

  /** One served request: counted, remembered for feedback, maybe sampled into the log. */
  observe(version: number, instances: readonly unknown[], predictions: readonly unknown[], id: string): void {
    const counter = this.counters.get(version);
    if (!counter) return;
    const now = this.now();
    const window = counter.count(instances, predictions, now);
    this.recent.remember(id, version, window, predictions);
    if (this.config.sampleRate > 0 && this.random() < this.config.sampleRate) {
      const record: PredictionRecord = {
        id,
        time: new Date(now).toISOString(),
        endpoint: this.config.endpoint,
        model: this.options.model,
        version,
        instances: instances as unknown[],
        predictions: predictions as unknown[],
      };
      this.logBuffer.push(record, Math.max(1, instances.length));
    }
  }

  /** `POST /v1/models/{m}:feedback`: joins truth to remembered predictions (400 for a bad body). */
  feedback(body: unknown): FeedbackAnswer {
    const request = readFeedback(body);
    const now = this.now();
    // First every check, then every count: a 400 changes nothing.
    const joins = request.feedback.map((item, i) => {
      const entry = this.recent.get(item.id);
      const index = item.index ?? 0;
      if (!entry || index >= entry.predictions.length) return { item, entry: undefined, index };
      return { item, entry, index, quality: qualityItem(entry, index, item.truth, `feedback[${i}]`) };
    });
    const answer: FeedbackAnswer = { matched: 0, unmatched: 0, duplicates: 0, unmatchedIds: [] };
    const unmatched = (id: string): void => {
      answer.unmatched++;
      if (answer.unmatchedIds.length < 20) answer.unmatchedIds.push(id);
      const primary = this.primary === undefined ? undefined : this.counters.get(this.primary);
      primary?.addUnmatched(now);
    };
    for (const { item, entry, index, quality } of joins) {
      let matched = false;
      if (!entry || !quality) unmatched(item.id);
      else if (entry.joined(index)) answer.duplicates++;
      else if (this.counters.get(entry.version)?.addQuality(entry.windowStartMs, quality)) {
        entry.markJoined(index);
        answer.matched++;
        matched = true;
      } else unmatched(item.id); // its window is no longer kept
      this.feedbackBuffer.push({
        time: new Date(now).toISOString(),
        id: item.id,
        index,
        truth: item.truth,
        matched,
        ...(entry && { version: entry.version }),
      });
    }
    const { metrics } = this.options;
    metrics.feedback('matched', answer.matched);
    metrics.feedback('unmatched', answer.unmatched);
    metrics.feedback('duplicate', answer.duplicates);
    return answer;
  }

  /** Flushes the buffers, and writes the summaries when due (or `all`). Ticks never overlap. */
  runTick(all: boolean): Promise<void> {
    this.tick = this.tick
      .then(async () => {
        const now = this.now();
        const window = windowStart(now, this.windowMs);
        const summaries = all || window !== this.lastWindow || now - this.lastCheckpoint >= CHECKPOINT_MS;
        await Promise.all([
          this.logBuffer.flush(),
          this.feedbackBuffer.flush(),
          summaries ? this.writeSummaries() : undefined,
        ]);
        if (summaries) {
          this.lastCheckpoint = now;
          this.lastWindow = window;
        }
      })
      .catch((e: unknown) => {
        // Writes catch their own failures; this keeps a bug from stopping every later tick.
        this.options.log.error({ err: errorMessage(e) }, 'monitoring tick failed');
      });
    return this.tick;
  }

  private async writeSummaries(): Promise<void> {
    for (const counter of this.counters.values()) {
      for (const summary of counter.takeChanged()) {
        const start = Date.parse(summary.windowStart);
        const uri = windowSummaryUri(this.config.root, start, summary.version, this.instance);
        try {
          await this.store.write(uri, `${JSON.stringify(summary)}\n`);
        } catch (e) {
          counter.markChanged(start);
          this.writeFailed('summary', e, { window: summary.windowStart });
        }
      }
    }
  }

  /** Deletes this endpoint's monitoring objects older than the retention (bounded per call). */
  async sweep(): Promise<number> {
    try {
      const cutoff = this.now() - this.config.retentionSeconds * 1000;
      return await sweepRetention(this.store, this.config.root, cutoff, this.windowMs);
    } catch (e) {
      this.options.log.warn({ err: errorMessage(e) }, 'monitoring retention failed');
      return 0;
    }
  }

  /**
   * Shutdown: timers stop, the buffers are flushed and every changed window written (the current
   * one with its counts so far, under this instance's name), within `deadlineMs`.
   */
  async close(deadlineMs: number): Promise<void> {
    clearInterval(this.timer);
    clearInterval(this.retentionTimer);
    clearTimeout(this.firstRetention);
    let timer: NodeJS.Timeout | undefined;
    const finished = await Promise.race([
      this.runTick(true).then(() => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), deadlineMs);
      }),
    ]);
    clearTimeout(timer);
    if (!finished) {
      this.options.log.warn(
        { pending: this.logBuffer.pending },
        'monitoring data not written within the drain timeout',
      );
    }
  }
}

/** `K_REVISION` (Cloud Run's revision name) when it is usable in object names, else `server`. */
function instancePrefix(revision: string | undefined): string {
  const clean = (revision ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '-')
    .slice(0, 40);
  return /^[a-z0-9]/.test(clean) && !clean.endsWith('-') ? clean : 'server';
}
