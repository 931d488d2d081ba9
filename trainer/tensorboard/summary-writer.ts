/**
 * Writes TensorBoard event files. Summary calls are synchronous and only encode and queue a record;
 * records reach the sink in batches on `flush()`, `close()`, every `flushIntervalMs`, or once
 * `maxPendingRecords` are queued, so per-step scalars cost microseconds.
 */
import { isGcsUri, toLocalPath } from '../../artifact/storage.js';
import { createEventFileSink } from './event-sink.js';
import type { EventSink } from './event-sink.js';
import {
  EXPERIMENT_TAG,
  SESSION_END_INFO_TAG,
  SESSION_START_INFO_TAG,
  experimentContent,
  hparamInfos,
  sessionEndContent,
  sessionStartContent,
} from './hparams.js';
import type { HParamValue } from './hparams.js';
import { encodeEvent } from './protos.js';
import type { EventMessage, HParamInfoMessage, SessionStatusName, SummaryValueMessage } from './protos.js';
import { histogramValue, hparamsValue, imageValue, scalarValue, textValue } from './summary-values.js';
import type { Colorspace } from './summary-values.js';
import { frameRecord } from './tfrecord.js';

export const FILE_VERSION = 'brain.Event:2';

export interface SummaryWriterOptions {
  /** Host part of the event file name; defaults to `os.hostname()`. */
  hostname?: string;
  /** Clock in milliseconds since the epoch (like `Date.now`), for wall times and the file name. */
  now?: () => number;
  /** Background flush period; 0 disables the timer. Default 2000. */
  flushIntervalMs?: number;
  /** Queue length that triggers a background flush. Default 1000. */
  maxPendingRecords?: number;
}

export interface HParamsOptions {
  /** Session group: sessions with the same group are aggregated as repeats of one configuration. */
  group?: string;
  /** Session start, milliseconds since the epoch; defaults to now. */
  startTime?: number;
}

export interface HistogramOptions {
  /** Number of equal-width buckets. Default 30. */
  buckets?: number;
}

function checkTag(tag: string): void {
  if (typeof tag !== 'string' || tag.length === 0) {
    throw new TypeError('summary tag must be a non-empty string');
  }
}

function checkStep(step: number): void {
  if (!Number.isSafeInteger(step)) throw new RangeError(`summary step must be a safe integer, got ${step}`);
}

function checkHParams(hparams: Record<string, HParamValue>): void {
  for (const [name, value] of Object.entries(hparams)) {
    if (!['number', 'string', 'boolean'].includes(typeof value)) {
      throw new TypeError(`hparam ${name}: expected number, string or boolean`);
    }
  }
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export class SummaryWriter {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** Tail of the sink writes; a failed write leaves it rejected, so later flushes report that error. */
  private writing: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly maxPendingRecords: number;

  private constructor(
    private readonly sink: EventSink,
    private readonly now: () => number,
    options: SummaryWriterOptions,
    /** The event file, when the writer was created for a directory. */
    readonly path: string | undefined,
  ) {
    this.maxPendingRecords = options.maxPendingRecords ?? 1000;
    const interval = options.flushIntervalMs ?? 2000;
    if (interval > 0) {
      this.timer = setInterval(() => void this.drain(), interval);
      // A forgotten writer must not keep the process alive; close() is what guarantees delivery.
      this.timer.unref();
    }
  }

  /**
   * Opens a new event file in directory `target` (a path or `file://` URI), or writes to a custom
   * sink, and writes the file_version header record at once so TensorBoard sees the run before the
   * first summary.
   */
  static async create(
    target: string | EventSink,
    options: SummaryWriterOptions = {},
  ): Promise<SummaryWriter> {
    const now = options.now ?? Date.now;
    let sink: EventSink;
    let path: string | undefined;
    if (typeof target === 'string') {
      if (isGcsUri(target))
        throw new Error(`${target}: pass an EventSink for gs:// (objects cannot be appended to)`);
      const fileSink = await createEventFileSink(toLocalPath(target), {
        unixSeconds: Math.floor(now() / 1000),
        hostname: options.hostname,
      });
      sink = fileSink;
      path = fileSink.path;
    } else {
      sink = target;
    }
    const writer = new SummaryWriter(sink, now, options, path);
    writer.enqueue({ wall_time: now() / 1000, file_version: FILE_VERSION });
    try {
      await writer.flush();
    } catch (error) {
      await writer.close().catch(() => undefined);
      throw error;
    }
    return writer;
  }

  scalar(tag: string, value: number, step: number): void {
    this.summary(scalarValue(tag, value), step);
  }

  /** Non-finite entries are left out (see `histogramOf`). */
  histogram(tag: string, values: ArrayLike<number>, step: number, options: HistogramOptions = {}): void {
    this.summary(histogramValue(tag, values, options.buckets), step);
  }

  /** `png` must be PNG-encoded; width and height are the image's pixel size. */
  image(
    tag: string,
    png: Uint8Array,
    width: number,
    height: number,
    step: number,
    colorspace: Colorspace = 4,
  ): void {
    if (!PNG_SIGNATURE.every((byte, i) => png[i] === byte)) throw new TypeError(`image ${tag}: not a PNG`);
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new RangeError(`image ${tag}: bad size ${width}x${height}`);
    }
    this.summary(imageValue(tag, png, width, height, colorspace), step);
  }

  /** Rendered as markdown by TensorBoard's TEXT tab. */
  text(tag: string, markdown: string, step: number): void {
    this.summary(textValue(tag, markdown), step);
  }

  /**
   * Records this run as one hparams session: the experiment (hparam and metric columns) and the
   * session start with the values. `metricTags` name scalar tags written by this writer.
   */
  hparams(
    hparams: Record<string, HParamValue>,
    metricTags: readonly string[],
    options: HParamsOptions = {},
  ): void {
    checkHParams(hparams);
    this.hparamsExperiment(hparamInfos(hparams), metricTags, options);
    this.hparamsSession(hparams, options);
  }

  /**
   * Only the experiment: the columns of the HParams dashboard for every session under the logdir
   * (a study writes it once, and each trial's session in its own run).
   */
  hparamsExperiment(
    infos: readonly HParamInfoMessage[],
    metricTags: readonly string[],
    options: Pick<HParamsOptions, 'startTime'> = {},
  ): void {
    metricTags.forEach(checkTag);
    const startSecs = (options.startTime ?? this.now()) / 1000;
    this.summary(hparamsValue(EXPERIMENT_TAG, experimentContent(infos, metricTags, startSecs)), 0);
  }

  /** Only the session start: this run is one row of the HParams dashboard. */
  hparamsSession(hparams: Record<string, HParamValue>, options: HParamsOptions = {}): void {
    checkHParams(hparams);
    const startSecs = (options.startTime ?? this.now()) / 1000;
    this.summary(
      hparamsValue(SESSION_START_INFO_TAG, sessionStartContent(hparams, options.group ?? '', startSecs)),
      0,
    );
  }

  /** Ends the hparams session. TensorBoard keeps the first end status it reads, so call it once. */
  hparamsEnd(status: SessionStatusName = 'success'): void {
    this.summary(hparamsValue(SESSION_END_INFO_TAG, sessionEndContent(status, this.now() / 1000)), 0);
  }

  /** Writes every queued record; rejects if this or an earlier write to the sink failed. */
  flush(): Promise<void> {
    return this.drain();
  }

  /** Flushes and closes the sink. Summary calls after this throw. */
  async close(): Promise<void> {
    if (this.closed) return this.writing;
    this.closed = true;
    clearInterval(this.timer);
    try {
      await this.drain();
    } finally {
      await this.sink.close?.();
    }
  }

  private summary(value: SummaryValueMessage, step: number): void {
    checkTag(value.tag);
    checkStep(step);
    this.enqueue({ wall_time: this.now() / 1000, step, summary: { value: [value] } });
  }

  private enqueue(event: EventMessage): void {
    if (this.closed) throw new Error('SummaryWriter is closed');
    const frame = frameRecord(encodeEvent(event));
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    if (this.pending.length >= this.maxPendingRecords) void this.drain();
  }

  private drain(): Promise<void> {
    if (this.pending.length > 0) {
      const batch = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
      this.writing = this.writing.then(() => this.sink.write(batch));
      // Background drains are not awaited; the failure surfaces from the next flush() or close().
      this.writing.catch(() => undefined);
    }
    return this.writing;
  }
}
