import { randomUUID } from 'node:crypto';
/** What every module of the gcp provider shares: settings, clients, the caller, GCS helpers. */
import type { ProjectConfig } from '../../resources/project.js';
import type { Caller } from './call.js';
import type { GcpClients } from './clients.js';
import type { Gcs } from './gcs.js';
import { gcsLayout, type GcsLayout, type Paths } from './names.js';
import type { Tensorboards } from './tensorboard.js';

export type GcpConfig = NonNullable<ProjectConfig['gcp']>;

export interface GcpSettings extends Paths {
  trainerImage: string;
  servingImage: string;
  serviceAccount: string;
  /** A pending marker younger than this whose job is not listed yet is a create in flight. */
  pendingGraceMs: number;
  /** Longest wait for a Cloud Run revision to become ready before traffic moves. */
  revisionReadyTimeoutMs: number;
  /** Poll interval while waiting for readiness. */
  pollMs: number;
  /**
   * `spec.tuning` as a Vertex AI HyperparameterTuningJob (`vertex`, the default), or the trainer's
   * own search inside one CustomJob (`in-job`). README.md "Tuning".
   */
  tuning: 'vertex' | 'in-job';
  /** `gcp.tensorboard`: an instance's name, or the stack's own (README.md "TensorBoard"). */
  tensorboard?: GcpConfig['tensorboard'];
  now: () => Date;
}

export interface Gcp {
  settings: GcpSettings;
  clients: GcpClients;
  call: Caller;
  gcs: Gcs;
  layout(stack: string): GcsLayout;
  /** The TensorBoard instance of a stack's runs (absent: none, e.g. hand-built contexts in tests). */
  tensorboards?: Tensorboards;
}

export function settingsFrom(config: GcpConfig, overrides: Partial<GcpSettings> = {}): GcpSettings {
  return {
    project: config.project,
    region: config.region,
    trainingRegion: config.trainingRegion ?? config.region,
    bucket: config.bucket.replace(/\/+$/, ''),
    trainerImage: config.trainerImage,
    servingImage: config.servingImage,
    serviceAccount: config.serviceAccount,
    pendingGraceMs: 120_000,
    revisionReadyTimeoutMs: 600_000,
    pollMs: 1000,
    tuning: 'vertex',
    ...(config.tensorboard !== undefined && { tensorboard: config.tensorboard }),
    now: () => new Date(),
    ...overrides,
  };
}

export const layoutFor = (settings: GcpSettings) => (stack: string) => gcsLayout(settings, stack);

/** A protobuf Timestamp (seconds may be a string, number or Long) as ISO text. */
export function isoOf(
  t: { seconds?: unknown; nanos?: number | null } | null | undefined,
): string | undefined {
  if (!t || t.seconds === undefined || t.seconds === null) return undefined;
  const seconds = Number(String(t.seconds));
  if (!Number.isFinite(seconds)) return undefined;
  return new Date(seconds * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString();
}

/** Pages through a gax list RPC by hand so that every page goes through the caller. */
export async function listAll<Req extends { pageToken?: string | null }, Item>(
  call: Caller,
  api: 'aiplatform' | 'run' | 'scheduler' | 'secretmanager',
  rpc: string,
  request: Req,
  page: (
    req: Req,
    opts: { retry: null; timeout: number; autoPaginate: false },
  ) => Promise<[Item[], Req | null, unknown]>,
): Promise<Item[]> {
  const out: Item[] = [];
  let req: Req | null = request;
  while (req) {
    const current: Req = req;
    const [items, next] = await call(api, rpc, (opts) => page(current, opts));
    out.push(...items);
    req = next && next.pageToken ? next : null;
  }
  return out;
}

/** Identifies this process in the pending markers it writes. */
export const PROCESS_WRITER = randomUUID();
