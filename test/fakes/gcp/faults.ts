/**
 * Seeded fault injection: 429 rate limits, 503s and timeouts, before or after the effect; a
 * one-shot 403 PERMISSION_DENIED naming an IAM permission, as Google words it, or a 404 (a bucket
 * that does not exist).
 */
import { ApiError, type Api } from './http.js';
import { API_HOST } from '../../../providers/gcp/errors.js';

export type FaultKind = '429' | '503' | 'timeout' | '403' | '404';

export interface FakeFaults {
  /** Probability (0..1) that a request is faulted. */
  rate: number;
  kinds: FaultKind[];
  /** PRNG seed (default 1). Same seed, same request order => same faults. */
  seed?: number;
  /** Fraction (0..1) of faults answered AFTER the request took effect (default 0). */
  afterEffect?: number;
  /** How long a 'timeout' fault holds the request before answering 504 (default 2000). */
  timeoutMs?: number;
  /** Only fault these APIs / RPCs (default: all). Internal (scheduler-delivered) requests never fault. */
  apis?: Api[];
  rpcs?: string[];
}

/** A one-shot fault for the next matching request (deterministic tests). */
export interface NextFault {
  kind: FaultKind;
  rpc?: string;
  api?: Api;
  /** Answer the fault after the request took effect. */
  afterEffect?: boolean;
  timeoutMs?: number;
  /** For '403': the IAM permission denied (default `<api>.unknown.permission`). */
  permission?: string;
}

export const RATE_LIMIT_MESSAGE =
  "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of service '%SERVICE%' for consumer 'project_number:000000000000'.";
export const UNAVAILABLE_MESSAGE = 'The service is currently unavailable.';
export const DEADLINE_MESSAGE = 'Deadline exceeded.';

// Google's hosts per API, as the provider names them in its error messages (one table).
const SERVICE_HOST: Record<Api, string> = API_HOST;

export function faultError(kind: FaultKind, api: Api, permission?: string): ApiError {
  switch (kind) {
    case '404':
      return new ApiError(
        'NOT_FOUND',
        api === 'storage' ? 'The specified bucket does not exist.' : 'Not found.',
        'notFound',
      );
    case '403': {
      const p = permission ?? `${api}.unknown.permission`;
      // Cloud Storage words it differently from the other APIs.
      const message =
        api === 'storage'
          ? `mlform-ctrl@demo-proj.iam.gserviceaccount.com does not have ${p} access to the Google Cloud Storage bucket.`
          : `Permission '${p}' denied on resource '//${SERVICE_HOST[api]}/projects/demo-proj' (or it may not exist).`;
      return new ApiError('PERMISSION_DENIED', message, 'forbidden');
    }
    case '429':
      return new ApiError(
        'RESOURCE_EXHAUSTED',
        RATE_LIMIT_MESSAGE.replace('%SERVICE%', SERVICE_HOST[api]),
        'rateLimitExceeded',
      );
    case '503':
      return new ApiError('UNAVAILABLE', UNAVAILABLE_MESSAGE, 'backendError');
    case 'timeout':
      return new ApiError('DEADLINE_EXCEEDED', DEADLINE_MESSAGE, 'deadlineExceeded');
  }
}

/** mulberry32 */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FaultDecision {
  kind: FaultKind;
  afterEffect: boolean;
  timeoutMs: number;
  permission?: string;
}

export class FaultInjector {
  private faults: FakeFaults | undefined;
  private rand: () => number = prng(1);
  private readonly queue: NextFault[] = [];

  constructor(faults?: FakeFaults) {
    this.set(faults);
  }

  set(faults: FakeFaults | undefined): void {
    this.faults = faults;
    this.rand = prng(faults?.seed ?? 1);
  }

  failNext(f: NextFault): void {
    this.queue.push(f);
  }

  clearNext(): void {
    this.queue.length = 0;
  }

  decide(api: Api, rpc: string): FaultDecision | undefined {
    const i = this.queue.findIndex((q) => (!q.rpc || q.rpc === rpc) && (!q.api || q.api === api));
    if (i >= 0) {
      const [q] = this.queue.splice(i, 1);
      if (q) {
        return {
          kind: q.kind,
          afterEffect: q.afterEffect ?? false,
          timeoutMs: q.timeoutMs ?? 2000,
          ...(q.permission !== undefined && { permission: q.permission }),
        };
      }
    }
    const f = this.faults;
    if (!f || f.rate <= 0 || f.kinds.length === 0) return undefined;
    if (f.apis && !f.apis.includes(api)) return undefined;
    if (f.rpcs && !f.rpcs.includes(rpc)) return undefined;
    if (this.rand() >= f.rate) return undefined;
    const kind = f.kinds[Math.floor(this.rand() * f.kinds.length)] ?? '503';
    const afterEffect = (f.afterEffect ?? 0) > 0 && this.rand() < (f.afterEffect ?? 0);
    return { kind, afterEffect, timeoutMs: f.timeoutMs ?? 2000 };
  }
}
