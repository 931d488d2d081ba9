/** Long-running operations (google.longrunning.Operation), completed lazily when polled. */
import { notFound } from './http.js';

export interface OperationResult {
  response?: Record<string, unknown>;
  error?: { code: number; message: string };
}

interface OpRecord {
  name: string;
  metadata?: Record<string, unknown>;
  doneAt: number;
  /** Extra readiness condition (e.g. Cloud Run revisions ready). */
  ready?: () => boolean;
  finish: () => OperationResult;
  result?: OperationResult;
}

export interface OperationJson {
  name: string;
  metadata?: Record<string, unknown>;
  done?: boolean;
  response?: Record<string, unknown>;
  error?: { code: number; message: string };
}

export class OperationStore {
  private readonly ops = new Map<string, OpRecord>();
  private counter = 0;

  constructor(private readonly delay: () => number) {}

  /** Starts an operation named `<prefix>/operations/<id>`. */
  start(
    prefix: string,
    finish: () => OperationResult,
    opts: { metadata?: Record<string, unknown>; ready?: () => boolean; delayMs?: number } = {},
  ): OperationJson {
    this.counter += 1;
    const id = String(7000000000000000000n + BigInt(this.counter));
    const name = `${prefix}/operations/${id}`;
    const rec: OpRecord = {
      name,
      doneAt: Date.now() + (opts.delayMs ?? this.delay()),
      finish,
      ...(opts.metadata ? { metadata: opts.metadata } : {}),
      ...(opts.ready ? { ready: opts.ready } : {}),
    };
    this.ops.set(name, rec);
    return this.view(rec);
  }

  get(name: string): OperationJson {
    const rec = this.ops.get(name);
    if (!rec) throw notFound(`Operation ${name}`);
    return this.view(rec);
  }

  all(): OperationJson[] {
    return [...this.ops.values()].map((r) => this.view(r));
  }

  private view(rec: OpRecord): OperationJson {
    if (!rec.result && Date.now() >= rec.doneAt && (rec.ready?.() ?? true)) {
      rec.result = rec.finish();
    }
    const out: OperationJson = { name: rec.name };
    if (rec.metadata) out.metadata = rec.metadata;
    if (rec.result) {
      out.done = true;
      if (rec.result.error) out.error = rec.result.error;
      else out.response = rec.result.response ?? { '@type': 'type.googleapis.com/google.protobuf.Empty' };
    }
    return out;
  }
}

import type { Route } from './router.js';

/** GetOperation for Vertex (`/v1/` and the `/ui/` binding gax picks first) and Cloud Run (`/v2/`). */
export function operationRoutes(ops: OperationStore): Route[] {
  return [
    {
      method: 'GET',
      pattern: /^\/(?:v1|ui)\/(?<name>projects\/[^:]+\/operations\/[^/:]+)$/,
      api: 'aiplatform',
      rpc: 'GetOperation',
      handler: (c) => ({ json: ops.get(c.params.name ?? '') }),
    },
    {
      method: 'GET',
      pattern: /^\/v2\/(?<name>projects\/[^/]+\/locations\/[^/]+\/operations\/[^/:]+)$/,
      api: 'run',
      rpc: 'GetOperation',
      handler: (c) => ({ json: ops.get(c.params.name ?? '') }),
    },
  ];
}
