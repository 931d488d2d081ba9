/** HTTP helpers shared by every API of the fake: errors, responses, bodies. */
import type { IncomingHttpHeaders } from 'node:http';

export type Api =
  'aiplatform' | 'run' | 'scheduler' | 'storage' | 'secretmanager' | 'resourcemanager' | 'artifactregistry';

/** Canonical gRPC status names and the HTTP status Google maps them to. */
export const STATUS_HTTP: Record<string, number> = {
  OK: 200,
  CANCELLED: 499,
  UNKNOWN: 500,
  INVALID_ARGUMENT: 400,
  DEADLINE_EXCEEDED: 504,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
  FAILED_PRECONDITION: 400,
  ABORTED: 409,
  OUT_OF_RANGE: 400,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DATA_LOSS: 500,
  UNAUTHENTICATED: 401,
};

/** gRPC numeric codes, used in `Operation.error` and job `error` fields. */
export const STATUS_CODE: Record<string, number> = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
};

export type GrpcStatus = keyof typeof STATUS_HTTP;

/** An error answered as Google does: `{error: {code, message, status}}`. */
export class ApiError extends Error {
  readonly httpStatus: number;
  constructor(
    readonly status: string,
    message: string,
    /** GCS-style `errors[0].reason` (e.g. `conditionNotMet`); only the storage API uses it. */
    readonly reason?: string,
    httpStatus?: number,
  ) {
    super(message);
    this.httpStatus = httpStatus ?? STATUS_HTTP[status] ?? 500;
  }
  toBody(api: Api): unknown {
    if (api === 'storage') {
      return {
        error: {
          code: this.httpStatus,
          message: this.message,
          errors: [
            { domain: 'global', reason: this.reason ?? this.status.toLowerCase(), message: this.message },
          ],
        },
      };
    }
    return { error: { code: this.httpStatus, message: this.message, status: this.status } };
  }
}

export const notFound = (what: string): ApiError => new ApiError('NOT_FOUND', `${what} not found.`);
export const invalid = (message: string): ApiError => new ApiError('INVALID_ARGUMENT', message);

export interface HandlerContext {
  method: string;
  /** Raw path (percent-encoded), no query. */
  rawPath: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** True when the request came from inside the fake (Cloud Scheduler delivering a job). */
  internal: boolean;
}

export interface HandlerResult {
  status?: number;
  /** JSON body. */
  json?: unknown;
  /** Raw body (e.g. GCS media download). */
  raw?: Buffer;
  headers?: Record<string, string>;
}

export function parseJsonBody(ctx: HandlerContext): Record<string, unknown> {
  if (ctx.body.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(ctx.body.toString('utf8'));
  } catch {
    throw invalid('Invalid JSON payload received. Unexpected token.');
  }
  if (!isRecord(v)) throw invalid('Invalid JSON payload received. Expected an object.');
  return v;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function rec(v: unknown): Record<string, unknown> {
  return isRecord(v) ? v : {};
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function nowIso(): string {
  return new Date().toISOString();
}

export function deepClone<T>(v: T): T {
  return structuredClone(v);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0) return resolve();
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });
}
