/**
 * The SDK clients, all on the REST transport (`fallback: true`, README.md "Transport"). With
 * `MLFORM_GCP_API_ENDPOINT=http://127.0.0.1:PORT` (an emulator, test/fakes/gcp) every API goes to
 * that host with a fixed bearer token; otherwise to Google's regional endpoints with Application
 * Default Credentials.
 *
 * Each client is loaded and built on first use (README.md "Start-up"): building one parses its
 * API's proto JSON, and a plan never needs Cloud Run revisions or Secret Manager without a secretRef.
 */
import { createRequire } from 'node:module';
// The clients' own modules, not the packages' index: the index of @google-cloud/aiplatform loads
// every API version (v1beta1 too), ~1.6 s of a plan's start-up; run and scheduler likewise.
import type { EndpointServiceClient } from '@google-cloud/aiplatform/build/src/v1/endpoint_service_client.js';
import type { JobServiceClient } from '@google-cloud/aiplatform/build/src/v1/job_service_client.js';
import type { ModelServiceClient } from '@google-cloud/aiplatform/build/src/v1/model_service_client.js';
import type { RevisionsClient } from '@google-cloud/run/build/src/v2/revisions_client.js';
import type { ServicesClient } from '@google-cloud/run/build/src/v2/services_client.js';
import type { CloudSchedulerClient } from '@google-cloud/scheduler/build/src/v1/cloud_scheduler_client.js';
import type { SecretManagerServiceClient } from '@google-cloud/secret-manager/build/src/v1/secret_manager_service_client.js';
import type { Storage } from '@google-cloud/storage';
import { cachedProtoGax } from './proto-cache.js';

export const ENDPOINT_ENV = 'MLFORM_GCP_API_ENDPOINT';

export interface GcpClients {
  jobs: JobServiceClient;
  models: ModelServiceClient;
  /** Vertex AI Endpoints (`platform: vertexEndpoint`), in the serving region. */
  endpoints: EndpointServiceClient;
  services: ServicesClient;
  revisions: RevisionsClient;
  scheduler: CloudSchedulerClient;
  /** Secret Manager: plan-time checks that referenced secrets exist (never reads a value). */
  secrets: SecretManagerServiceClient;
  storage: Storage;
  close(): Promise<void>;
}

export type ClientName = Exclude<keyof GcpClients, 'close'>;

/** What the clients need to know about the project. */
export interface ClientSettings {
  project: string;
  region: string;
  trainingRegion: string;
  /** `http://host:port` of an emulator; unset: Google. */
  endpoint?: string;
}

type AuthClientOption = ConstructorParameters<typeof ServicesClient>[0] extends infer O
  ? O extends { authClient?: infer A }
    ? A
    : never
  : never;

interface FixedTokenClient {
  setCredentials(credentials: { access_token: string; expiry_date: number }): void;
}

/** The bearer token every request to an emulator carries. */
export const EMULATOR_TOKEN = 'mlform-emulator-token';

/**
 * An OAuth2Client with a fixed token, from the copy of google-auth-library that google-gax itself
 * uses (another copy fails with `auth.fetch is not a function`).
 */
export function fixedTokenAuthClient(token = EMULATOR_TOKEN): AuthClientOption {
  const require = createRequire(import.meta.url);
  const gaxRequire = createRequire(require.resolve('google-gax'));
  const { OAuth2Client } = gaxRequire('google-auth-library') as {
    OAuth2Client: new () => FixedTokenClient;
  };
  const client = new OAuth2Client();
  client.setCredentials({ access_token: token, expiry_date: Date.now() + 365 * 24 * 3600 * 1000 });
  return client as unknown as AuthClientOption;
}

/** The gax options every client shares: REST, and the emulator's host and token when set. */
export interface GaxOptions {
  fallback: true;
  apiEndpoint?: string;
  port?: number;
  protocol?: string;
  authClient?: AuthClientOption;
}

export function gaxOptions(settings: ClientSettings): GaxOptions {
  if (!settings.endpoint) return { fallback: true };
  const url = new URL(settings.endpoint);
  const protocol = url.protocol.replace(':', '');
  const port = Number(url.port || (protocol === 'https' ? 443 : 80));
  return { fallback: true, apiEndpoint: url.hostname, port, protocol, authClient: fixedTokenAuthClient() };
}

/** A regional API's endpoint (`<region>-aiplatform.googleapis.com`); an emulator serves them all. */
export const regionalEndpoint = (settings: ClientSettings, region: string, service: string) =>
  settings.endpoint ? {} : { apiEndpoint: `${region}-${service}.googleapis.com` };

/** The clients' settings for a project's settings; `endpoint` (else $MLFORM_GCP_API_ENDPOINT): an emulator. */
export function clientSettingsFor(
  settings: Pick<ClientSettings, 'project' | 'region' | 'trainingRegion'>,
  env: Record<string, string | undefined>,
  endpoint: string | undefined = env[ENDPOINT_ENV] || undefined,
): ClientSettings {
  return {
    project: settings.project,
    region: settings.region,
    trainingRegion: settings.trainingRegion,
    ...(endpoint !== undefined && { endpoint }),
  };
}

/** Called once per client as it is built (tests count constructions). */
export type OnClientBuilt = (name: ClientName) => void;

const load = createRequire(import.meta.url);

/**
 * Builds `name` of the CommonJS module `module` (loaded now, not before) on the parsed protos of
 * its `service` only (proto-cache.ts).
 */
const gaxClient =
  <T>(module: string, name: string, service: string, options: () => object) =>
  (): T => {
    const Client = (load(module) as Record<string, new (o: object, gax: object) => T>)[name];
    return new Client({ ...options() }, cachedProtoGax(service));
  };

export function createClients(settings: ClientSettings, onBuilt?: OnClientBuilt): GcpClients {
  // On the first client built: an emulator's token needs google-auth-library (~30 ms).
  let options: GaxOptions | undefined;
  const common = () => (options ??= gaxOptions(settings));
  const regional = (region: string, service: string) => regionalEndpoint(settings, region, service);
  const retryOptions = { autoRetry: false, maxRetries: 0 };
  // `require` on first use: the SDK modules are CommonJS, and a synchronous load keeps every
  // `gcp.clients.x` call site as it is.
  const builders: { [K in ClientName]: () => GcpClients[K] } = {
    jobs: gaxClient<JobServiceClient>(
      '@google-cloud/aiplatform/build/src/v1/job_service_client.js',
      'JobServiceClient',
      'google.cloud.aiplatform.v1.JobService',
      () => ({ ...common(), ...regional(settings.trainingRegion, 'aiplatform') }),
    ),
    models: gaxClient<ModelServiceClient>(
      '@google-cloud/aiplatform/build/src/v1/model_service_client.js',
      'ModelServiceClient',
      'google.cloud.aiplatform.v1.ModelService',
      () => ({ ...common(), ...regional(settings.region, 'aiplatform') }),
    ),
    endpoints: gaxClient<EndpointServiceClient>(
      '@google-cloud/aiplatform/build/src/v1/endpoint_service_client.js',
      'EndpointServiceClient',
      'google.cloud.aiplatform.v1.EndpointService',
      () => ({ ...common(), ...regional(settings.region, 'aiplatform') }),
    ),
    services: gaxClient<ServicesClient>(
      '@google-cloud/run/build/src/v2/services_client.js',
      'ServicesClient',
      'google.cloud.run.v2.Services',
      common,
    ),
    revisions: gaxClient<RevisionsClient>(
      '@google-cloud/run/build/src/v2/revisions_client.js',
      'RevisionsClient',
      'google.cloud.run.v2.Revisions',
      common,
    ),
    scheduler: gaxClient<CloudSchedulerClient>(
      '@google-cloud/scheduler/build/src/v1/cloud_scheduler_client.js',
      'CloudSchedulerClient',
      'google.cloud.scheduler.v1.CloudScheduler',
      common,
    ),
    secrets: gaxClient<SecretManagerServiceClient>(
      '@google-cloud/secret-manager/build/src/v1/secret_manager_service_client.js',
      'SecretManagerServiceClient',
      'google.cloud.secretmanager.v1.SecretManagerService',
      common,
    ),
    storage: () => {
      const m = load('@google-cloud/storage') as { Storage: typeof Storage };
      // An emulator's Cloud Storage gets no auth header (apiEndpoint), Google's gets ADC.
      return settings.endpoint
        ? new m.Storage({
            apiEndpoint: new URL(settings.endpoint).origin,
            projectId: settings.project,
            retryOptions,
          })
        : new m.Storage({ projectId: settings.project, retryOptions });
    },
  };
  const built: Partial<Pick<GcpClients, ClientName>> = {};
  const get = <K extends ClientName>(name: K): GcpClients[K] => {
    let client = built[name];
    if (client === undefined) {
      client = builders[name]();
      built[name] = client;
      onBuilt?.(name);
    }
    return client as GcpClients[K];
  };
  const clients = {
    async close() {
      // Only what was built; Storage holds no channel to close.
      const { storage: _storage, ...gax } = built;
      await Promise.all(Object.values(gax).map((c) => c.close()));
    },
  } as GcpClients;
  // One getter per client: `clients.jobs` builds the job client the first time it is read.
  for (const name of Object.keys(builders) as ClientName[]) {
    Object.defineProperty(clients, name, { get: () => get(name), enumerable: true });
  }
  return clients;
}
