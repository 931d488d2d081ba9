/**
 * The gcp provider (docs/architecture.md "Providers"): Vertex AI CustomJobs and Model Registry, Cloud Run,
 * Cloud Scheduler and Cloud Storage, all over the REST transport. See README.md.
 */
import { isGcsUri, storeFor } from '../../artifact/storage.js';
import type { Provider, ProviderContext } from '../provider.js';
import { createCaller, DEFAULT_BUCKETS, type BucketSize, type CallClass, type RetryPolicy } from './call.js';
import type { GcpApi } from './api-calls.js';
import {
  clientSettingsFor,
  createClients,
  ENDPOINT_ENV,
  type GcpClients,
  type OnClientBuilt,
} from './clients.js';
import { credentialsGate, gatedCaller } from './credentials.js';
import { withRestLists } from './rest-lists.js';
import { gcpStateStore } from './state-store.js';
import { layoutFor, settingsFrom, type Gcp, type GcpConfig, type GcpSettings } from './context.js';
import { createPlatforms } from './platforms.js';
import { createGcs } from './gcs.js';
import { adopt } from './import-adopt.js';
import { listUnmanaged } from './import-list.js';
import { acquireGcsLease, inspectGcsLease } from './lease.js';
import { deleteModel, deleteVersion, listModels, moveAlias, putModel, registerVersion } from './models.js';
import { cancelRun, createRun, listRuns, observeRun, runLogs } from './runs.js';
import { deleteSchedule, listSchedules, putSchedule, triggerSchedule } from './schedules.js';
import { checkSecretRefs } from './secrets.js';
import { createTensorboards } from './tensorboard.js';
import { validateGcp } from './validate.js';
import { resolve } from 'node:path';

export interface GcpProviderOptions {
  config: GcpConfig;
  /** `http://127.0.0.1:PORT` of an emulator; default: $MLFORM_GCP_API_ENDPOINT, else Google. */
  endpoint?: string;
  settings?: Partial<GcpSettings>;
  retry?: Partial<RetryPolicy>;
  buckets?: Partial<Record<`${GcpApi}:${CallClass}`, BucketSize>>;
  /** Pre-built clients (tests). */
  clients?: GcpClients;
  /** Told the name of each client as it is built (each on first use; tests count them). */
  onClientBuilt?: OnClientBuilt;

  env?: Record<string, string | undefined>;
}

export type GcpProvider = Provider & { gcp: Gcp; close(): Promise<void> };

export function createGcpProvider(options: GcpProviderOptions): GcpProvider {
  const env = options.env ?? process.env;
  const settings = settingsFrom(options.config, options.settings);
  const endpoint = options.endpoint ?? (env[ENDPOINT_ENV] || undefined);
  const clientSettings = clientSettingsFor(settings, env, endpoint);
  // Each client is built on first use: a plan that stops at validation builds none, and a plan
  // builds neither Cloud Run revisions nor Secret Manager (without a secretRef).
  let built: GcpClients | undefined = options.clients;
  // Lists over plain HTTPS (rest-lists.ts): an observation needs neither google-gax nor a client.
  const clientsOf = (): GcpClients =>
    (built ??= withRestLists(createClients(clientSettings, options.onClientBuilt), clientSettings));
  const retryFromEnv: Partial<RetryPolicy> = env.MLFORM_GCP_RETRY_BASE_MS
    ? { baseDelayMs: Number(env.MLFORM_GCP_RETRY_BASE_MS) }
    : {};
  // Projects with raised quotas scale every bucket: MLFORM_GCP_QUOTA_SCALE=2 doubles them.
  const scale = Number(env.MLFORM_GCP_QUOTA_SCALE ?? '1');
  const scaled =
    Number.isFinite(scale) && scale > 0 && scale !== 1
      ? Object.fromEntries(
          Object.entries(DEFAULT_BUCKETS).map(([k, b]) => [
            k,
            { perSecond: b.perSecond * scale, burst: Math.ceil(b.burst * scale) },
          ]),
        )
      : {};
  const direct = createCaller({ ...retryFromEnv, ...options.retry }, { ...scaled, ...options.buckets });
  // Google's APIs: credentials looked for once, before the first call (an emulator has a fixed token).
  const call = options.clients || endpoint ? direct : gatedCaller(direct, credentialsGate(env));
  const gcs = createGcs(() => clientsOf().storage, call);
  const gcp: Gcp = {
    settings,
    get clients() {
      return clientsOf();
    },
    call,
    gcs,
    layout: layoutFor(settings),
    tensorboards: createTensorboards(settings, clientSettings, call),
  };
  const platforms = createPlatforms(gcp);
  const artifactUri = (ctx: ProviderContext, uri: string): string =>
    isGcsUri(uri) || uri.startsWith('file://') ? uri : resolve(ctx.projectDir, uri);

  const provider: GcpProvider = {
    name: 'gcp',
    capabilities: { schedulesFireInProcess: false, stateDirectory: false },
    gcp,
    close: async () => {
      await Promise.all([built?.close(), gcp.tensorboards?.close()]);
    },
    trainingRuns: {
      list: (ctx) => listRuns(gcp, ctx),
      create: (ctx, req) => createRun(gcp, ctx, req),
      cancel: (ctx, req) => cancelRun(gcp, ctx, req),
      observe: (ctx, req) => observeRun(gcp, ctx, req),
      logs: (ctx, req) => runLogs(gcp, ctx, req),
    },
    registeredModels: {
      list: (ctx) => listModels(gcp, ctx),
      put: (ctx, req) => putModel(gcp, ctx, req),
      delete: (ctx, req) => deleteModel(gcp, ctx, req),
      registerVersion: (ctx, req) => registerVersion(gcp, ctx, req),
      moveAlias: (ctx, req) => moveAlias(gcp, ctx, req),
      deleteVersion: (ctx, req) => deleteVersion(gcp, ctx, req),
    },
    deployedEndpoints: {
      list: (ctx, options) => platforms.list(ctx, options?.manifestsChecked),
      put: (ctx, req) => platforms.put(ctx, req),
      delete: (ctx, req) => platforms.delete(ctx, req),
    },
    schedules: {
      list: (ctx) => listSchedules(gcp, ctx),
      put: (ctx, req) => putSchedule(gcp, ctx, req),
      delete: (ctx, req) => deleteSchedule(gcp, ctx, req),
      trigger: (ctx, req) => triggerSchedule(gcp, ctx, req),
    },
    listUnmanaged: (ctx) => listUnmanaged(gcp, ctx),
    adopt: (ctx, req) => adopt(gcp, ctx, req),
    lock: async (ctx, req) => {
      const name = req.name ?? 'apply';
      return acquireGcsLease(gcs, gcp.layout(ctx.stack).lock(name), ctx, req, settings.now);
    },
    inspectLock: (ctx, req) => {
      const name = req.name ?? 'apply';
      return inspectGcsLease(gcs, gcp.layout(ctx.stack).lock(name), name);
    },
    validate: async (ctx, resources) => {
      platforms.expect(ctx.stack, resources);
      const offline = validateGcp(settings, resources, env, ctx.stack);
      // The one check that asks Google: referenced secrets exist (skipped when nothing references one).
      return [...offline, ...(await checkSecretRefs(gcp, resources))];
    },
    stateStore: gcpStateStore(gcp),
    artifacts: {
      read: (ctx, uri) =>
        isGcsUri(uri) ? gcs.read(uri) : storeFor(artifactUri(ctx, uri)).read(artifactUri(ctx, uri)),
      write: async (ctx, uri, data) => {
        if (isGcsUri(uri)) await gcs.write(uri, data, { contentType: 'application/octet-stream' });
        else await storeFor(artifactUri(ctx, uri)).write(artifactUri(ctx, uri), data);
      },
    },
  };
  return provider;
}
