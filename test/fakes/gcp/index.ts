/**
 * A local fake of Vertex AI v1 (jobs, models, TensorBoard instances, endpoints), Cloud Run Admin v2, Cloud Scheduler v1, Secret Manager v1 and the Cloud Storage
 * JSON API, speaking the REST wire format the real SDK clients use with `fallback: true`.
 * See README.md.
 */
import { createRequire } from 'node:module';
import type { ClientOptions } from 'google-gax';
import { FakeEnv, type ResolvedOptions, type RunContainer } from './env.js';
import { FaultInjector, type FakeFaults, type NextFault } from './faults.js';
import { operationRoutes, OperationStore, type OperationJson } from './operations.js';
import { protoRoot } from './proto.js';
import { matches, type FakeRequest, type RequestFilter } from './request-log.js';
import { Router } from './router.js';
import { CloudRun } from './run.js';
import { Scheduler, type FireOutcome } from './scheduler.js';
import { SecretManager } from './secret-manager.js';
import { FakeServer } from './server.js';
import { GcsStore, type StoredObject } from './storage.js';
import { VertexJobs, type JobState, type SeedJob } from './vertex-jobs.js';
import { VertexEndpoints } from './vertex-endpoints.js';
import { VertexModels } from './vertex-models.js';
import { VertexTensorboards } from './vertex-tensorboards.js';
import { FakeIam } from './iam.js';
import { ArtifactRegistry } from './artifact-registry.js';

export type { FakeContainerRun, RunContainer } from './env.js';
export type { FakeFaults, FaultKind, NextFault } from './faults.js';
export { DEADLINE_MESSAGE, RATE_LIMIT_MESSAGE, UNAVAILABLE_MESSAGE } from './faults.js';
export type { FakeRequest, RequestFilter } from './request-log.js';
export type { StoredObject } from './storage.js';
export type { JobState, SeedJob } from './vertex-jobs.js';
export { PREEMPTED_MESSAGE, capacityMessage, exitMessage } from './vertex-jobs.js';
export type { FireOutcome } from './scheduler.js';
export type { OperationJson } from './operations.js';

export interface FakeGcpOptions {
  /** Port to listen on (default 0: any free port). */
  port?: number;
  /** Added to every (external) request. */
  latencyMs?: number;
  faults?: FakeFaults;
  /** CustomJob timing: QUEUED for queuedMs, PENDING for pendingMs, RUNNING for runningMs (defaults 10/10/50). */
  jobTiming?: { queuedMs?: number; pendingMs?: number; runningMs?: number };
  /** Accelerator types (e.g. 'NVIDIA_L4') for which CreateCustomJob answers 429 RESOURCE_EXHAUSTED (capacity/quota). */
  outOfCapacity?: string[];
  runContainer?: RunContainer;
  /** A new Cloud Run revision becomes Ready this long after creation (default 0). */
  revisionReadyMs?: number;
  /** Revisions whose container image contains this string never become ready (CONDITION_FAILED). */
  failRevisionsWithImage?: string;
  /** Vertex AI deployments of model versions whose container image contains this string fail. */
  failDeploymentsWithImage?: string;
  /** LRO completion delay; a number or [min, max] (default [0, 50]). */
  operationDelayMs?: number | [number, number];
  /** Default page size of list calls (default 100). */
  defaultPageSize?: number;
  /** Max page size of list calls (default 100... requests above are clamped). */
  maxPageSize?: number;
  /** Check request bodies against the SDK protos (default true). */
  checkBodies?: boolean;
  /** Check the fake's own responses against the protos (a self-test aid; default false). */
  checkResponses?: boolean;
}

export interface FakeGcp {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  requests: FakeRequest[];
  resetRequests(): void;
  count(filter?: RequestFilter): number;
  setFaults(f: FakeFaults | undefined): void;
  /** Queue a one-shot fault for the next request matching rpc/api (deterministic tests). */
  failNext(f: NextFault): void;
  setLatency(ms: number): void;
  setOutOfCapacity(types: string[]): void;
  /** Runs a Cloud Scheduler job's target now (what RunJob does). */
  fireJob(schedulerJobName: string): Promise<void>;
  /** SPOT preemption: the job fails with error code 14 and PREEMPTED_MESSAGE. */
  preempt(customJobName: string): void;
  failJob(customJobName: string, message: string): void;
  /** Force a job state (tests). */
  setJobState(customJobName: string, state: JobState): void;
  /** Make a Cloud Run revision (full name) fail readiness. */
  failRevision(revisionName: string, message: string): void;
  customJobs(): Record<string, unknown>[];
  hyperparameterTuningJobs(): Record<string, unknown>[];
  /** All versions of all models. */
  models(): Record<string, unknown>[];
  /** Vertex AI TensorBoard instances. */
  tensorboards(): Record<string, unknown>[];
  /** What testIamPermissions grants (project and bucket alike); undefined: everything. */
  setGrantedPermissions(permissions: readonly string[] | undefined): void;
  /** An image in Artifact Registry (`L-docker.pkg.dev/P/R/IMAGE:TAG`); before the first, all exist. */
  pushImage(image: string): void;
  services(): Record<string, unknown>[];
  /** Vertex AI Endpoints, with their deployed models and traffic split. */
  vertexEndpoints(): Record<string, unknown>[];
  /** Changes a Vertex AI Endpoint as a person in the console would (drift). */
  editVertexEndpoint(name: string, edit: (endpoint: Record<string, unknown>) => void): void;
  revisions(): Record<string, unknown>[];
  schedulerJobs(): Record<string, unknown>[];
  schedulerAttempts(): { job: string; at: string; outcome: FireOutcome }[];
  /** Secret Manager secrets (`projects/P/secrets/ID`) and how many versions each has; no payloads. */
  secrets(): { name: string; versions: number }[];
  objects(bucket: string): StoredObject[];
  operations(): OperationJson[];
  seed: {
    customJob(s: SeedJob): Record<string, unknown>;
    hyperparameterTuningJob(s: SeedJob): Record<string, unknown>;
    /** A Secret Manager secret with one version per value (created when absent). */
    secret(project: string, id: string, ...values: (string | Buffer)[]): void;
    model(s: Parameters<VertexModels['seed']>[0]): Record<string, unknown>;
    /** A TensorBoard instance made outside mlform. */
    tensorboard(s: Parameters<VertexTensorboards['seed']>[0]): Record<string, unknown>;
    object(
      bucket: string,
      name: string,
      data: string | Buffer,
      meta?: { contentType?: string; metadata?: Record<string, string> },
    ): Record<string, unknown>;
  };
  close(): Promise<void>;
}

export async function startFakeGcp(options: FakeGcpOptions = {}): Promise<FakeGcp> {
  const resolved: ResolvedOptions = {
    latencyMs: options.latencyMs ?? 0,
    jobTiming: {
      queuedMs: options.jobTiming?.queuedMs ?? 10,
      pendingMs: options.jobTiming?.pendingMs ?? 10,
      runningMs: options.jobTiming?.runningMs ?? 50,
    },
    outOfCapacity: options.outOfCapacity ?? [],
    runContainer: options.runContainer,
    revisionReadyMs: options.revisionReadyMs ?? 0,
    failRevisionsWithImage: options.failRevisionsWithImage,
    operationDelayMs: options.operationDelayMs ?? [0, 50],
    defaultPageSize: options.defaultPageSize ?? 100,
    maxPageSize: options.maxPageSize ?? 100,
    checkBodies: options.checkBodies ?? true,
    checkResponses: options.checkResponses ?? false,
  };
  const faults = new FaultInjector(options.faults);
  const ops = new OperationStore(() => 0);
  const env = new FakeEnv(resolved, ops, faults);
  const jobs = new VertexJobs(env);
  const models = new VertexModels(env);
  const tensorboards = new VertexTensorboards(env);
  const endpoints = new VertexEndpoints(env, models, {
    ...(options.failDeploymentsWithImage !== undefined && {
      failDeploymentsWithImage: options.failDeploymentsWithImage,
    }),
  });
  jobs.tensorboardExists = (name) => tensorboards.exists(name);
  const run = new CloudRun(env);
  const scheduler = new Scheduler(env);
  const storage = new GcsStore(env);
  const secretManager = new SecretManager(env);
  const iam = new FakeIam(env);
  const registry = new ArtifactRegistry();
  const router = new Router();
  router.add(
    ...operationRoutes(ops),
    ...jobs.routes(),
    ...models.routes(),
    ...tensorboards.routes(),
    ...endpoints.routes(),
    ...run.routes(),
    ...scheduler.routes(),
    ...storage.routes(),
    ...secretManager.routes(),
    ...iam.routes(),
    ...registry.routes(),
  );
  if (resolved.checkBodies || resolved.checkResponses) {
    // Load the protos up front so the first request is not slow.
    protoRoot('aiplatform');
    protoRoot('run');
    protoRoot('scheduler');
    protoRoot('secretmanager');
  }
  const server = new FakeServer(env, router);
  const port = await server.listen(options.port ?? 0);
  const url = `http://127.0.0.1:${port}`;
  env.url = url;
  return {
    url,
    port,
    requests: server.requests,
    resetRequests: () => {
      server.requests.length = 0;
    },
    count: (filter) => server.requests.filter((r) => matches(r, filter)).length,
    setFaults: (f) => faults.set(f),
    failNext: (f) => faults.failNext(f),
    setLatency: (ms) => {
      resolved.latencyMs = ms;
    },
    setOutOfCapacity: (types) => {
      resolved.outOfCapacity = [...types];
    },
    fireJob: async (name) => {
      await scheduler.fire(name);
    },
    preempt: (name) => jobs.preempt(name),
    failJob: (name, message) => jobs.failJob(name, message),
    setJobState: (name, state) => jobs.setState(name, state),
    failRevision: (name, message) => run.failRevision(name, message),
    customJobs: () => jobs.all('customJobs'),
    hyperparameterTuningJobs: () => jobs.all('hyperparameterTuningJobs'),
    models: () => models.all(),
    tensorboards: () => tensorboards.all(),
    setGrantedPermissions: (permissions) => {
      iam.granted = permissions === undefined ? undefined : new Set(permissions);
    },
    pushImage: (image) => registry.push(image),
    services: () => run.allServices(),
    vertexEndpoints: () => endpoints.all(),
    editVertexEndpoint: (name, edit) => endpoints.edit(name, edit),
    revisions: () => run.allRevisions(),
    schedulerJobs: () => scheduler.all(),
    schedulerAttempts: () => [...scheduler.attempts],
    secrets: () => secretManager.all(),
    objects: (bucket) => storage.all(bucket),
    operations: () => ops.all(),
    seed: {
      customJob: (s) => jobs.seed('customJobs', s),
      hyperparameterTuningJob: (s) => jobs.seed('hyperparameterTuningJobs', s),
      secret: (project, id, ...values) => secretManager.seed(project, id, ...values),
      model: (s) => models.seed(s),
      tensorboard: (s) => tensorboards.seed(s),
      object: (bucket, name, data, meta = {}) =>
        storage.write(bucket, name, typeof data === 'string' ? Buffer.from(data) : data, meta),
    },
    close: async () => {
      env.close();
      await server.close();
    },
  };
}

type AuthClient = NonNullable<ClientOptions['authClient']>;

/** A type alias (not an interface) so it is assignable to gax's index-signature ClientOptions. */
export type FakeClientOptions = {
  apiEndpoint: string;
  port: number;
  protocol: 'http';
  fallback: true;
  authClient: AuthClient;
};

interface OAuth2ClientLike {
  setCredentials(c: { access_token: string }): void;
}

/**
 * Options for the gax-based clients (JobServiceClient, ModelServiceClient, ServicesClient,
 * RevisionsClient, CloudSchedulerClient). The authClient is an OAuth2Client from the copy of
 * google-auth-library google-gax itself depends on, with a fixed token.
 */
export function fakeClientOptions(fake: Pick<FakeGcp, 'port'>): FakeClientOptions {
  const gaxRequire = createRequire(createRequire(import.meta.url).resolve('google-gax'));
  const gal = gaxRequire('google-auth-library') as { OAuth2Client: new () => OAuth2ClientLike };
  const client = new gal.OAuth2Client();
  client.setCredentials({ access_token: 'fake-token' });
  return {
    apiEndpoint: '127.0.0.1',
    port: fake.port,
    protocol: 'http',
    fallback: true,
    authClient: client as unknown as AuthClient,
  };
}

/** Options for `new Storage(...)` from @google-cloud/storage (no auth is sent to a custom endpoint). */
export function fakeStorageOptions(fake: Pick<FakeGcp, 'url'>): { apiEndpoint: string; projectId: string } {
  return { apiEndpoint: fake.url, projectId: 'test-project' };
}
