/**
 * The one retry policy and the client-side rate limits for every Google API call (docs/architecture.md
 * "Principles" 3). The SDKs' own retries are switched off (`retry: null` for gax, `autoRetry: false`
 * for Cloud Storage) so that an attempt here is an attempt on the wire, counted in `apiCalls`.
 *
 * - A token bucket per API (and per read/write class where the quota differs), sized from the
 *   published default quotas (README.md "Quotas"), so a large apply queues here instead of
 *   collecting 429s.
 * - Retried: 429 rate limiting, 503 / UNAVAILABLE, DEADLINE_EXCEEDED, 500 / INTERNAL, ABORTED,
 *   timeouts and connection resets; exponential backoff with full jitter (`delayFor`).
 * - One loop (`withRetries`) for every retry: a call's requests, a long-running operation's
 *   polls, and creates whose lost response is looked up before the next attempt
 *   (`lookUpAfterFailure`).
 * - Not retried: INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION,
 *   PERMISSION_DENIED, UNAUTHENTICATED, and RESOURCE_EXHAUSTED about capacity or GPU quota (a
 *   different machine may be tried instead: `resources.fallbacks`).
 */
import { error, type Diagnostic } from '../../resources/diagnostic.js';
import { errorMessage } from '../../resources/error-message.js';
import { apiCalls, type GcpApi } from './api-calls.js';
import { GcpSetupError, setupDiagnostic } from './errors.js';

export type CallClass = 'read' | 'write';

export interface RetryPolicy {
  /** Attempts in total, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Deadline of one attempt (the SDK aborts it; it counts as a timeout and is retried). */
  attemptTimeoutMs: number;
  /** Jitter source (tests fix it). */
  random: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface BucketSize {
  /** Sustained requests per second. */
  perSecond: number;
  /** Requests that may go at once after a quiet period. */
  burst: number;
}

/**
 * Default quotas (requests per minute, per project and region unless said otherwise), as
 * published when this was written; see README.md "Quotas" for the sources.
 */
export const DEFAULT_BUCKETS: Record<`${GcpApi}:${CallClass}`, BucketSize> = {
  // Vertex AI "Resource management (CRUD) requests per minute per region": 600.
  'aiplatform:read': { perSecond: 600 / 60, burst: 20 },
  'aiplatform:write': { perSecond: 600 / 60, burst: 20 },
  // Cloud Run Admin API: read requests 1,000 per minute per region, write requests 180.
  'run:read': { perSecond: 1000 / 60, burst: 20 },
  'run:write': { perSecond: 180 / 60, burst: 10 },
  // Cloud Scheduler API: 500 requests per minute (reads and writes together).
  'scheduler:read': { perSecond: 500 / 60, burst: 20 },
  'scheduler:write': { perSecond: 500 / 60, burst: 20 },
  // Cloud Storage: ~5,000 object reads and ~1,000 object writes per second per bucket to start.
  'storage:read': { perSecond: 5000, burst: 200 },
  'storage:write': { perSecond: 1000, burst: 100 },
  // Secret Manager: read (list) and write requests 600 per minute per project.
  'secretmanager:read': { perSecond: 600 / 60, burst: 20 },
  'secretmanager:write': { perSecond: 600 / 60, burst: 20 },
  // `mlform check` sends one or two of each: Resource Manager (testIamPermissions) and Artifact
  // Registry reads, both far above that.
  'resourcemanager:read': { perSecond: 10, burst: 10 },
  'resourcemanager:write': { perSecond: 10, burst: 10 },
  'artifactregistry:read': { perSecond: 10, burst: 10 },
  'artifactregistry:write': { perSecond: 10, burst: 10 },
};

const sleepDefault = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * The wait before attempt `attempt + 1`: full jitter below a ceiling that doubles from the base
 * with each failed attempt, up to the cap (`random(0, min(maxDelay, base * 2^(attempt-1)))`).
 */
export function delayFor(
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs' | 'random'>,
  attempt: number,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(policy.random() * ceiling);
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 250,
  maxDelayMs: 20_000,
  attemptTimeoutMs: 60_000,
  random: Math.random,
  sleep: sleepDefault,
};

/** A token bucket; `take` waits until a token is free. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly size: BucketSize,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = size.burst;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.size.burst, this.tokens + ((t - this.last) / 1000) * this.size.perSecond);
    this.last = t;
  }

  /** Resolves when the caller may send one request (FIFO). */
  take(sleep: (ms: number) => Promise<void> = sleepDefault): Promise<void> {
    const turn = this.queue.then(async () => {
      this.refill();
      while (this.tokens < 1) {
        await sleep(Math.ceil(((1 - this.tokens) / this.size.perSecond) * 1000));
        this.refill();
      }
      this.tokens -= 1;
    });
    this.queue = turn.catch(() => undefined);
    return turn;
  }
}

// ---- errors --------------------------------------------------------------------------------

export type ErrorKind =
  | 'rate-limited'
  | 'unavailable'
  | 'timeout'
  | 'internal'
  | 'capacity'
  | 'not-found'
  | 'already-exists'
  | 'precondition'
  | 'permission'
  | 'unauthenticated'
  | 'invalid'
  | 'cancelled'
  | 'other';

const RETRYABLE: ReadonlySet<ErrorKind> = new Set(['rate-limited', 'unavailable', 'timeout', 'internal']);

/** Whether another attempt may succeed where this kind of failure happened: the one list. */
export const isRetryableKind = (kind: ErrorKind): boolean => RETRYABLE.has(kind);

/** gRPC status codes (google-gax maps HTTP statuses to these in REST mode). */
const GRPC: Record<number, ErrorKind> = {
  1: 'cancelled',
  3: 'invalid',
  4: 'timeout',
  5: 'not-found',
  6: 'already-exists',
  7: 'permission',
  8: 'rate-limited',
  9: 'precondition',
  10: 'unavailable', // ABORTED: a concurrency conflict, retried
  11: 'invalid', // OUT_OF_RANGE
  13: 'internal',
  14: 'unavailable',
  16: 'unauthenticated',
};

const HTTP: Record<number, ErrorKind> = {
  400: 'invalid',
  401: 'unauthenticated',
  403: 'permission',
  404: 'not-found',
  408: 'timeout',
  409: 'already-exists',
  412: 'precondition',
  429: 'rate-limited',
  500: 'internal',
  502: 'unavailable',
  503: 'unavailable',
  504: 'timeout',
};

const NETWORK =
  /ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|socket hang up|fetch failed|network|other side closed/i;
const TIMEOUT = /timeout|timed out|deadline|aborted/i;
/**
 * RESOURCE_EXHAUSTED is both "slow down" (rate quota) and "no such machine now" (GPU quota,
 * stockout). The second is about capacity; retrying the same request does not help.
 */
const CAPACITY =
  /stockout|capacity|does not have enough resources|insufficient|custom_model_training|gpus?\b|accelerator|_cpus|machine type .* (quota|not available)/i;
const RATE = /rate limit|per minute|per second|requests? (per|quota)|too many requests/i;

export interface ClassifiedError {
  kind: ErrorKind;
  retryable: boolean;
  /** The server's message without the gRPC prefix. */
  message: string;
  status?: number | string;
}

function fieldOf(e: unknown, key: string): unknown {
  return e !== null && typeof e === 'object' ? (e as Record<string, unknown>)[key] : undefined;
}

const STATUS_NAMES: Record<string, ErrorKind> = {
  CANCELLED: 'cancelled',
  INVALID_ARGUMENT: 'invalid',
  OUT_OF_RANGE: 'invalid',
  DEADLINE_EXCEEDED: 'timeout',
  NOT_FOUND: 'not-found',
  ALREADY_EXISTS: 'already-exists',
  PERMISSION_DENIED: 'permission',
  RESOURCE_EXHAUSTED: 'rate-limited',
  FAILED_PRECONDITION: 'precondition',
  ABORTED: 'unavailable',
  INTERNAL: 'internal',
  UNKNOWN: 'internal',
  UNAVAILABLE: 'unavailable',
  UNAUTHENTICATED: 'unauthenticated',
};

/** In REST mode a failed call may carry Google's JSON error body as its message. */
function googleErrorBody(raw: string): { status?: string; message?: string; reason?: string } | undefined {
  const start = raw.indexOf('{');
  if (start < 0) return undefined;
  try {
    const j = JSON.parse(raw.slice(start)) as {
      error?: {
        status?: string;
        message?: string;
        details?: { reason?: string }[];
        errors?: { reason?: string }[];
      };
    };
    if (!j.error) return undefined;
    const reason =
      j.error.details?.find((d) => d.reason)?.reason ?? j.error.errors?.find((d) => d.reason)?.reason;
    return {
      ...(j.error.status !== undefined && { status: j.error.status }),
      ...(j.error.message !== undefined && { message: j.error.message }),
      ...(reason !== undefined && { reason }),
    };
  } catch {
    return undefined;
  }
}

export function classifyError(api: GcpApi, e: unknown): ClassifiedError {
  const raw = errorMessage(e);
  const body = googleErrorBody(raw);
  const message = (body?.message ?? raw).replace(/^\d+\s+[A-Z_]+:\s*/, '');
  const code = fieldOf(e, 'code');
  const reason = String(body?.reason ?? fieldOf(e, 'reason') ?? '');
  let kind: ErrorKind = 'other';
  if (body?.status && STATUS_NAMES[body.status]) {
    kind = STATUS_NAMES[body.status];
  } else if (typeof code === 'number') {
    kind = (code >= 100 ? HTTP[code] : GRPC[code]) ?? (code >= 500 ? 'internal' : 'other');
  } else if (typeof code === 'string' && NETWORK.test(code)) {
    kind = 'unavailable';
  }
  if (kind === 'other') {
    if (fieldOf(e, 'name') === 'AbortError' || TIMEOUT.test(raw)) kind = 'timeout';
    else if (NETWORK.test(raw)) kind = 'unavailable';
  }
  if (kind === 'rate-limited') {
    const rate = /RATE_LIMIT|rateLimitExceeded|userRateLimitExceeded/i.test(reason) || RATE.test(message);
    const capacity = !rate && (/QUOTA|STOCKOUT|CAPACITY/i.test(reason) || CAPACITY.test(message));
    if (capacity || /RESOURCE_EXHAUSTED.*(stockout|capacity)/i.test(raw)) kind = 'capacity';
  }
  return {
    kind,
    retryable: isRetryableKind(kind),
    message,
    ...(typeof code === 'number' || typeof code === 'string' ? { status: code } : {}),
  };
}

/** A failed call, classified; `call` throws only these. */
export class GcpCallError extends Error {
  constructor(
    readonly api: GcpApi,
    readonly rpc: string,
    readonly classified: ClassifiedError,
    readonly attempts: number,
  ) {
    super(`${api} ${rpc}: ${classified.message}`);
    this.name = 'GcpCallError';
  }
  get kind(): ErrorKind {
    return this.classified.kind;
  }
}

export const isKind = (e: unknown, ...kinds: ErrorKind[]): e is GcpCallError =>
  e instanceof GcpCallError && kinds.includes(e.kind);

/** A failed call that another attempt may get through (anything else thrown is final). */
export const isRetryable = (e: unknown): e is GcpCallError =>
  e instanceof GcpCallError && e.classified.retryable;

/** Any error of a verb as a diagnostic: what failed, for which resource, and what to do. */
export function callDiagnostic(address: string, doing: string, e: unknown): Diagnostic {
  // Credentials, network and permissions: one diagnostic per cause, whichever resource met it.
  if (e instanceof GcpSetupError) return e.diagnostic;
  if (e instanceof GcpCallError) {
    const setup = setupDiagnostic(e.api, e.rpc, e, e.kind);
    if (setup) return setup;
    const { kind, message } = e.classified;
    const hint =
      kind === 'unauthenticated'
        ? 'run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS'
        : kind === 'capacity'
          ? 'add `spec.resources.fallbacks`, request quota, or try another training region'
          : e.classified.retryable
            ? `Google kept failing after ${e.attempts} attempts; apply again later`
            : kind === 'invalid'
              ? 'the request was rejected as invalid; check the manifest fields named in the message'
              : undefined;
    return error(`gcp-${kind}`, `${address}: ${doing} failed: ${e.api} ${e.rpc}: ${message}`, {
      address,
      ...(hint !== undefined && { hint }),
    });
  }
  return error('gcp-error', `${address}: ${doing} failed: ${errorMessage(e)}`, { address });
}

// ---- calling -------------------------------------------------------------------------------

export interface RetryOptions<T> {
  /** Attempts in total, the first included. */
  maxAttempts: number;
  /** Ends the waits between attempts and stops retrying. */
  signal?: AbortSignal | undefined;
  /**
   * Runs after a retryable failure and its backoff, before the next attempt. For a request whose
   * response may be lost after the server acted (a create with a server-generated id): a value
   * found ends the retries as that success; `undefined` lets the next attempt run.
   */
  lookUpAfterFailure?: (() => Promise<T | undefined>) | undefined;
}

/**
 * The one retry loop of the provider: `attempt` (which throws `GcpCallError`s) runs until it
 * succeeds, fails with a final error, runs out of attempts, or the signal aborts; between
 * attempts it waits `delayFor` and runs the look-up.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  attempt: (n: number) => Promise<T>,
  options: RetryOptions<T>,
): Promise<T> {
  const { maxAttempts, signal, lookUpAfterFailure } = options;
  for (let n = 1; ; n++) {
    try {
      return await attempt(n);
    } catch (e) {
      if (!isRetryable(e) || n >= maxAttempts || signal?.aborted) throw e;
      await policy.sleep(delayFor(policy, n), signal);
      const found = await lookUpAfterFailure?.();
      if (found !== undefined) return found;
    }
  }
}

export interface Caller {
  /**
   * Sends `fn` under the API's rate limit and the retry policy. `fn` gets the gax call options
   * to pass (no SDK retries, the attempt timeout). With `complete`, an attempt goes on with it
   * (awaiting a long-running operation) and its result is the call's.
   */
  <T, R = T>(
    api: GcpApi,
    rpc: string,
    fn: (opts: GaxCallOptions) => Promise<T>,
    options?: CallOptions<T, R>,
  ): Promise<R>;
  policy: RetryPolicy;
}

export interface CallOptions<T, R = T> {
  /** Default: read for list/get RPCs, write otherwise. */
  cls?: CallClass;
  /** Override the policy's attempts. */
  maxAttempts?: number;
  /** Ends waits and retries (default: the caller's signal), e.g. the work's `ctx.signal`. */
  signal?: AbortSignal | undefined;
  /**
   * The rest of an attempt after the request succeeded, e.g. awaiting the operation it started;
   * a retryable failure of it fails the attempt like a failed request. Without it the response is
   * the result: R is T (give R only with `complete`).
   */
  complete?: (response: T) => Promise<R>;
  /**
   * For creates whose response may be lost (README.md "Quotas, rate limits and retries"): after a
   * retryable failure, looks the object up before the next attempt; a found object ends the call
   * as success, so a create that landed is never sent twice.
   */
  lookUpAfterFailure?: () => Promise<R | undefined>;
}

export interface GaxCallOptions {
  retry: null;
  timeout: number;
  autoPaginate: false;
}

export function createCaller(
  policy: Partial<RetryPolicy> = {},
  buckets: Partial<Record<`${GcpApi}:${CallClass}`, BucketSize>> = {},
  signal?: AbortSignal,
): Caller {
  const p: RetryPolicy = { ...DEFAULT_RETRY, ...policy };
  const sized = { ...DEFAULT_BUCKETS, ...buckets };
  const live = new Map<string, TokenBucket>();
  const bucket = (key: `${GcpApi}:${CallClass}`) => {
    let b = live.get(key);
    if (!b) {
      b = new TokenBucket(sized[key]);
      live.set(key, b);
    }
    return b;
  };
  const caller = async <T, R = T>(
    api: GcpApi,
    rpc: string,
    fn: (opts: GaxCallOptions) => Promise<T>,
    options: CallOptions<T, R> = {},
  ): Promise<R> => {
    const cls = options.cls ?? (/^(list|get|read|exists|download)/i.test(rpc) ? 'read' : 'write');
    const stop = options.signal ?? signal;
    // Without `complete` the response is the result (R defaults to T).
    const complete = options.complete ?? ((response: T) => Promise.resolve(response as unknown as R));
    const attempt = async (n: number): Promise<R> => {
      await bucket(`${api}:${cls}`).take((ms) => p.sleep(ms, stop));
      let response: T;
      try {
        response = await fn({ retry: null, timeout: p.attemptTimeoutMs, autoPaginate: false });
      } catch (e) {
        apiCalls.record(api, rpc, { error: true, retry: n > 1 });
        throw new GcpCallError(api, rpc, classifyError(api, e), n);
      }
      apiCalls.record(api, rpc, { error: false, retry: n > 1 });
      return complete(response);
    };
    return withRetries(p, attempt, {
      maxAttempts: options.maxAttempts ?? p.maxAttempts,
      signal: stop,
      lookUpAfterFailure: options.lookUpAfterFailure,
    });
  };
  return Object.assign(caller, { policy: p });
}

/** A long-running operation as the SDKs return it. */
export interface Operation<T> {
  name?: string | null;
  promise(): Promise<[T, ...unknown[]]>;
}

/**
 * Waits for a long-running operation (gax polls GetOperation). A retryable failure of a poll (a
 * 503 on GetOperation) is not the operation's failure: the operation is fetched again and waited
 * on, under the same backoff; an operation that itself failed with a final error is thrown.
 */
export async function awaitOperation<T>(
  call: Caller,
  api: GcpApi,
  rpc: string,
  op: Operation<T>,
  check: (name: string) => Promise<Operation<T>>,
  signal?: AbortSignal,
): Promise<T> {
  const name = op.name;
  let current = op;
  const wait = async (n: number): Promise<T> => {
    try {
      const [result] = await current.promise();
      return result;
    } catch (e) {
      throw new GcpCallError(api, rpc, classifyError(api, e), n);
    }
  };
  return withRetries(call.policy, wait, {
    // Without a name there is nothing to fetch again.
    maxAttempts: name ? call.policy.maxAttempts : 1,
    signal,
    lookUpAfterFailure: async () => {
      if (name) current = await call(api, 'GetOperation', () => check(name), { cls: 'read' });
      return undefined;
    },
  });
}
