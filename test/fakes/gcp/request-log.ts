/** Log of every request the fake answered. */
import type { Api } from './http.js';

export interface FakeRequest {
  /** ms since epoch when the request arrived. */
  at: number;
  method: string;
  /** Path without query string (percent-encoded as received). */
  path: string;
  api: Api | 'unknown';
  /** RPC name, e.g. 'CreateCustomJob', 'GetOperation', 'objects.list'. */
  rpc: string;
  status: number;
  faulted: boolean;
  /** Fault answered after the request took effect. */
  faultedAfterEffect?: boolean;
  /** Sent by the fake itself (Cloud Scheduler delivering a job's HTTP target). */
  internal?: boolean;
}

export type RequestFilter = Partial<Pick<FakeRequest, 'api' | 'rpc' | 'method' | 'faulted' | 'status'>>;

export function matches(r: FakeRequest, f: RequestFilter | undefined): boolean {
  if (!f) return true;
  return (Object.keys(f) as (keyof RequestFilter)[]).every((k) => f[k] === undefined || r[k] === f[k]);
}
