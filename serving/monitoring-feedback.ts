/**
 * The feedback route's side of monitoring: a bounded memory of recent requests (request id ->
 * version, window, predictions), so truth posted later joins its prediction without rereading
 * the logs, and the checks of a feedback body (400 naming the field at fault).
 */
import { Value } from '@sinclair/typebox/value';
import { FeedbackRequestSchema, type FeedbackRequest } from '../monitoring/prediction-log.js';
import type { QualityItem } from '../monitoring/window-counter.js';
import { HttpError, type FieldProblem } from './http-error.js';

/** One request remembered for feedback: numbers (regression) or labels (classification). */
export interface RecentRequest {
  version: number;
  windowStartMs: number;
  predictions: readonly number[] | readonly string[];
  /** Feedback already joined this instance: a repeat counts once. */
  joined(index: number): boolean;
  markJoined(index: number): void;
}

/** Requests remembered; the oldest are forgotten first. */
export const RECENT_REQUESTS = 100_000;
/** Predictions of multi-instance requests remembered across them (a bound on memory). */
export const RECENT_PREDICTIONS = 1_000_000;

/**
 * A ring of the newest requests in parallel arrays, found through one Map of id -> slot. Every
 * request is remembered, so this is on the request path: a batch-1 regression request (the
 * common case) allocates nothing here but the Map entry; only requests of several instances or
 * classes keep an array. The slot of the oldest request is reused, and its id deleted from the
 * Map (never iterated, so deleted keys cost nothing later).
 */
export class RecentRequests {
  private readonly slotOf = new Map<string, number>();
  private readonly ids: (string | undefined)[];
  private readonly versions: Int32Array;
  private readonly windows: Float64Array;
  /** The prediction of a one-number request; NaN when `arrays` holds the predictions. */
  private readonly single: Float64Array;
  private readonly arrays: (readonly number[] | readonly string[] | undefined)[];
  private readonly joinedMarks: (Uint8Array | undefined)[];
  /** Next slot to write; the oldest live slot is `head - size` (mod capacity). */
  private head = 0;
  private size = 0;
  private arrayPredictions = 0;

  constructor(
    private readonly capacity = RECENT_REQUESTS,
    private readonly maxPredictions = RECENT_PREDICTIONS,
  ) {
    this.ids = new Array<string | undefined>(capacity);
    this.versions = new Int32Array(capacity);
    this.windows = new Float64Array(capacity);
    this.single = new Float64Array(capacity);
    this.arrays = new Array<readonly number[] | readonly string[] | undefined>(capacity);
    this.joinedMarks = new Array<Uint8Array | undefined>(capacity);
  }

  remember(id: string, version: number, windowStartMs: number, predictions: readonly unknown[]): void {
    const one = predictions.length === 1 && typeof predictions[0] === 'number';
    const array = one ? undefined : compactPredictions(predictions);
    const length = array?.length ?? 0;
    while (
      this.size > 0 &&
      (this.size >= this.capacity || this.arrayPredictions + length > this.maxPredictions)
    ) {
      this.evictOldest();
    }
    // A client reusing an id: the newest request is the one its feedback is about.
    const reused = this.slotOf.get(id);
    if (reused !== undefined) this.ids[reused] = undefined;
    const slot = this.head;
    this.head = (this.head + 1) % this.capacity;
    this.size++;
    this.ids[slot] = id;
    this.versions[slot] = version;
    this.windows[slot] = windowStartMs;
    this.single[slot] = one ? (predictions[0] as number) : Number.NaN;
    this.arrays[slot] = array;
    this.joinedMarks[slot] = undefined;
    this.arrayPredictions += length;
    this.slotOf.set(id, slot);
  }

  private evictOldest(): void {
    const slot = (this.head - this.size + this.capacity) % this.capacity;
    const id = this.ids[slot];
    if (id !== undefined && this.slotOf.get(id) === slot) this.slotOf.delete(id);
    this.arrayPredictions -= this.arrays[slot]?.length ?? 0;
    this.ids[slot] = undefined;
    this.arrays[slot] = undefined;
    this.joinedMarks[slot] = undefined;
    this.size--;
  }

  get(id: string): RecentRequest | undefined {
    const slot = this.slotOf.get(id);
    if (slot === undefined || this.ids[slot] !== id) return undefined;
    const predictions = this.arrays[slot] ?? [this.single[slot]];
    const marks = (): Uint8Array => (this.joinedMarks[slot] ??= new Uint8Array(predictions.length));
    return {
      version: this.versions[slot],
      windowStartMs: this.windows[slot],
      predictions,
      joined: (index) => this.joinedMarks[slot]?.[index] === 1,
      markJoined: (index) => {
        marks()[index] = 1;
      },
    };
  }
}

/** The numbers as they are (the response's own array), or the labels of class predictions. */
function compactPredictions(predictions: readonly unknown[]): readonly number[] | string[] {
  if (predictions.every((p) => typeof p === 'number')) return predictions as readonly number[];
  return predictions.map((p) =>
    typeof p === 'object' && p !== null && 'label' in p ? String((p as { label: unknown }).label) : String(p),
  );
}

/** The body of `POST /v1/models/{m}:feedback`, or a 400 naming the field at fault. */
export function readFeedback(body: unknown): FeedbackRequest {
  if (Value.Check(FeedbackRequestSchema, body)) return body;
  const problems: FieldProblem[] = [];
  for (const e of Value.Errors(FeedbackRequestSchema, body)) {
    const path =
      e.path === ''
        ? '(the body)'
        : e.path
            .slice(1)
            .replace(/\/(\d+)/g, '[$1]')
            .replace(/\//g, '.');
    if (!problems.some((p) => p.path === path)) problems.push({ path, message: e.message });
    if (problems.length >= 5) break;
  }
  const first = problems[0];
  return fail(
    `${first ? `${first.path}: ${first.message}` : 'invalid feedback'}; send {"feedback": [{"id": "<x-mlform-request-id>", "index": 0, "truth": 23.5}]}`,
    problems,
  );
}

const fail = (message: string, problems?: FieldProblem[]): never => {
  throw new HttpError(400, message, problems);
};

/**
 * What one feedback item means against the request it names: a number against a number, a label
 * against a label; a truth of the wrong kind is the client's mistake, a 400.
 */
export function qualityItem(
  entry: RecentRequest,
  index: number,
  truth: number | string,
  at: string,
): QualityItem {
  const prediction = entry.predictions[index];
  if (typeof prediction === 'number') {
    if (typeof truth !== 'number') {
      return fail(
        `${at}.truth: expected a number (the model predicts numbers), got ${JSON.stringify(truth)}`,
      );
    }
    return { kind: 'number', prediction, truth };
  }
  return { kind: 'label', prediction, truth: String(truth) };
}
