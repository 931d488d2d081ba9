/**
 * API calls per API and RPC, process-wide, so the controller's `/metrics` and the benchmarks can
 * report what a plan or an apply cost (docs/architecture.md "Principles" 4: ~kinds calls, not ~resources).
 */
export type GcpApi =
  | 'aiplatform'
  | 'run'
  | 'scheduler'
  | 'storage'
  | 'secretmanager'
  // `mlform check` only: the caller's permissions on the project, the images.
  | 'resourcemanager'
  | 'artifactregistry';

export interface ApiCallCount {
  api: GcpApi;
  rpc: string;
  /** Attempts sent, retries included. */
  calls: number;
  /** Attempts that failed (any error). */
  errors: number;
  /** Attempts that were retries of an earlier failed one. */
  retries: number;
}

const counts = new Map<string, ApiCallCount>();

function entry(api: GcpApi, rpc: string): ApiCallCount {
  const key = `${api} ${rpc}`;
  let e = counts.get(key);
  if (!e) {
    e = { api, rpc, calls: 0, errors: 0, retries: 0 };
    counts.set(key, e);
  }
  return e;
}

export const apiCalls = {
  record(api: GcpApi, rpc: string, outcome: { error: boolean; retry: boolean }): void {
    const e = entry(api, rpc);
    e.calls += 1;
    if (outcome.error) e.errors += 1;
    if (outcome.retry) e.retries += 1;
  },
  /** Every counter, sorted by API then RPC. */
  snapshot(): ApiCallCount[] {
    return [...counts.values()]
      .map((e) => ({ ...e }))
      .sort((a, b) => a.api.localeCompare(b.api) || a.rpc.localeCompare(b.rpc));
  },
  /** Calls in total, or of one API. */
  total(api?: GcpApi): number {
    let n = 0;
    for (const e of counts.values()) if (api === undefined || e.api === api) n += e.calls;
    return n;
  },
  reset(): void {
    counts.clear();
  },
};
