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
  /** The response's own array for numbers (not copied), the labels for classes. */
  predictions: readonly number[] | readonly string[];
  /** 1 where feedback already joined that instance (made on the first join): a repeat counts once. */
  joined?: Uint8Array;
}

/** Requests remembered (at least half as many are always kept); the oldest are forgotten first. */
export const RECENT_REQUESTS = 100_000;
/** Predictions remembered across those requests (a bound on memory: ~8 bytes each for numbers). */
export const RECENT_PREDICTIONS = 1_000_000;

/**
 * Two generations of Maps: new ids go to the current one; when it holds half the bound (requests
 * or predictions) it becomes the previous one and the one before is dropped whole. O(1) per
 * request with no deletes (deleting the oldest key of one big Map leaves tombstones every later
 * iteration walks), and at most the bound is kept, the newest half always.
 */
export class RecentRequests {
  private current = new Map<string, RecentRequest>();
  private previous = new Map<string, RecentRequest>();
  private predictions = 0;

  constructor(
    private readonly maxRequests = RECENT_REQUESTS,
    private readonly maxPredictions = RECENT_PREDICTIONS,
  ) {}

  remember(id: string, version: number, windowStartMs: number, predictions: readonly unknown[]): void {
    if (this.current.size >= this.maxRequests / 2 || this.predictions >= this.maxPredictions / 2) {
      this.previous = this.current;
      this.current = new Map();
      this.predictions = 0;
    }
    const compact = compactPredictions(predictions);
    // A client reusing an id: the newest request is the one its feedback is about.
    this.previous.delete(id);
    this.current.set(id, {
      version,
      windowStartMs,
      predictions: compact,
      joined: new Uint8Array(compact.length),
    });
    this.predictions += compact.length;
  }

  get(id: string): RecentRequest | undefined {
    return this.current.get(id) ?? this.previous.get(id);
  }
}

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
