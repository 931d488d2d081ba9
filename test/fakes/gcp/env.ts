/** What every API module of the fake shares: options, operations, body checking, timers. */
import type { FaultInjector } from './faults.js';
import { ApiError, nowIso, parseJsonBody, type HandlerContext } from './http.js';
import type { PageOptions } from './list.js';
import type { OperationResult, OperationStore } from './operations.js';
import { checkMessage, type ProtoPackage } from './proto.js';

export interface FakeContainerRun {
  /** Full resource name `projects/P/locations/L/customJobs/ID`. */
  jobName: string;
  jobId: string;
  displayName: string;
  labels: Record<string, string>;
  containerSpec: {
    imageUri: string;
    command: string[];
    args: string[];
    env: { name: string; value: string }[];
  };
  /** First worker pool's machine spec (machineType, acceleratorType, acceleratorCount). */
  machineSpec: Record<string, unknown>;
  outputUriPrefix?: string;
  /** `jobSpec.scheduling.strategy` (e.g. 'SPOT', 'STANDARD'), if set. */
  schedulingStrategy?: string;
  /**
   * Env vars Vertex sets, plus STORAGE_EMULATOR_HOST = the fake's URL and the containerSpec env.
   * Vertex's: AIP_MODEL_DIR, AIP_CHECKPOINT_DIR, AIP_TENSORBOARD_LOG_DIR, CLOUD_ML_JOB_ID.
   */
  env: Record<string, string>;
}

export type RunContainer = (
  run: FakeContainerRun,
  signal: AbortSignal,
) => Promise<{ exitCode: number; message?: string }>;

export interface ResolvedOptions {
  latencyMs: number;
  jobTiming: { queuedMs: number; pendingMs: number; runningMs: number };
  outOfCapacity: string[];
  runContainer: RunContainer | undefined;
  revisionReadyMs: number;
  failRevisionsWithImage: string | undefined;
  operationDelayMs: number | [number, number];
  defaultPageSize: number;
  maxPageSize: number;
  checkBodies: boolean;
  checkResponses: boolean;
}

export interface InternalRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface InternalResponse {
  status: number;
  json: unknown;
}

export class FakeEnv {
  readonly timers = new Set<NodeJS.Timeout>();
  readonly aborts = new Set<AbortController>();
  url = '';
  dispatch: (req: InternalRequest) => Promise<InternalResponse> = () =>
    Promise.reject(new Error('not started'));

  constructor(
    readonly options: ResolvedOptions,
    readonly ops: OperationStore,
    readonly faults: FaultInjector,
  ) {}

  pageOpts(): PageOptions {
    return { defaultPageSize: this.options.defaultPageSize, maxPageSize: this.options.maxPageSize };
  }

  /** Parses the JSON body and checks it as message `typeName` (enum numbers -> names). */
  body(ctx: HandlerContext, pkg: ProtoPackage, typeName: string, rootPath: string): Record<string, unknown> {
    const raw = parseJsonBody(ctx);
    return checkMessage(pkg, typeName, raw, rootPath, { strict: this.options.checkBodies });
  }

  /** Checks a response the fake produces (only with `checkResponses`, a self-test aid). */
  out<T>(pkg: ProtoPackage, typeName: string, value: T): T {
    if (this.options.checkResponses) {
      try {
        checkMessage(pkg, typeName, value, '', { strict: true });
      } catch (e) {
        const msg = e instanceof ApiError ? e.message : String(e);
        throw new ApiError('INTERNAL', `fake produced an invalid ${typeName}: ${msg}`);
      }
    }
    return value;
  }

  /**
   * A Vertex AI operation whose metadata is `metadataType` with `genericMetadata`, done after the
   * configured operation delay with `response`'s result.
   */
  vertexOperation(
    prefix: string,
    metadataType: string,
    response: () => OperationResult,
  ): Record<string, unknown> {
    const now = nowIso();
    return this.ops.start(prefix, response, {
      delayMs: opDelay(this.options),
      metadata: {
        '@type': `type.googleapis.com/google.cloud.aiplatform.v1.${metadataType}`,
        genericMetadata: { createTime: now, updateTime: now },
      },
    }) as unknown as Record<string, unknown>;
  }

  later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const a of this.aborts) a.abort();
    this.aborts.clear();
  }
}

export function opDelay(o: ResolvedOptions): number {
  const d = o.operationDelayMs;
  if (typeof d === 'number') return d;
  return d[0] + Math.floor(Math.random() * (d[1] - d[0] + 1));
}
