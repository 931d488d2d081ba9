/**
 * The SDK clients, all on the REST transport (`fallback: true`, README.md "Transport"). With
 * `MLFORM_GCP_API_ENDPOINT=http://127.0.0.1:PORT` (an emulator, test/fakes/gcp) every API goes to
 * that host with a fixed bearer token; otherwise to Google's regional endpoints with Application
 * Default Credentials.
 */
import { createRequire } from 'node:module';
// The clients' own modules, not the packages' index: the index of @google-cloud/aiplatform loads
// every API version (v1beta1 too), ~1.6 s of a plan's start-up; run and scheduler likewise.
import { EndpointServiceClient } from '@google-cloud/aiplatform/build/src/v1/endpoint_service_client.js';
import { JobServiceClient } from '@google-cloud/aiplatform/build/src/v1/job_service_client.js';
import { ModelServiceClient } from '@google-cloud/aiplatform/build/src/v1/model_service_client.js';
import { RevisionsClient } from '@google-cloud/run/build/src/v2/revisions_client.js';
import { ServicesClient } from '@google-cloud/run/build/src/v2/services_client.js';
import { CloudSchedulerClient } from '@google-cloud/scheduler/build/src/v1/cloud_scheduler_client.js';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager/build/src/v1/secret_manager_service_client.js';
import { Storage } from '@google-cloud/storage';

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

/**
 * An OAuth2Client with a fixed token, from the copy of google-auth-library that google-gax itself
 * uses (another copy fails with `auth.fetch is not a function`).
 */
export function fixedTokenAuthClient(token = 'mlform-emulator-token'): AuthClientOption {
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

export function createClients(settings: ClientSettings): GcpClients {
  const common = gaxOptions(settings);
  const retryOptions = { autoRetry: false, maxRetries: 0 };
  // An emulator's Cloud Storage gets no auth header (apiEndpoint), Google's gets ADC.
  const storage = settings.endpoint
    ? new Storage({
        apiEndpoint: new URL(settings.endpoint).origin,
        projectId: settings.project,
        retryOptions,
      })
    : new Storage({ projectId: settings.project, retryOptions });
  const regional = (region: string, service: string) => regionalEndpoint(settings, region, service);
  const jobs = new JobServiceClient({
    ...common,
    ...regional(settings.trainingRegion, 'aiplatform'),
  });
  const models = new ModelServiceClient({ ...common, ...regional(settings.region, 'aiplatform') });
  const endpoints = new EndpointServiceClient({ ...common, ...regional(settings.region, 'aiplatform') });
  const services = new ServicesClient({ ...common });
  const revisions = new RevisionsClient({ ...common });
  const scheduler = new CloudSchedulerClient({ ...common });
  const secrets = new SecretManagerServiceClient({ ...common });
  return {
    jobs,
    models,
    endpoints,
    services,
    revisions,
    scheduler,
    secrets,
    storage,
    async close() {
      await Promise.all([
        jobs.close(),
        models.close(),
        endpoints.close(),
        services.close(),
        revisions.close(),
        scheduler.close(),
        secrets.close(),
      ]);
    },
  };
}
