import { v1 as aiplatform } from '@google-cloud/aiplatform';
import { v2 as run } from '@google-cloud/run';
import { CloudSchedulerClient } from '@google-cloud/scheduler';
import { Storage } from '@google-cloud/storage';
import {
  fakeClientOptions,
  fakeStorageOptions,
  startFakeGcp,
  type FakeGcp,
  type FakeGcpOptions,
} from '../fakes/gcp/index.js';

export const PARENT = 'projects/test-project/locations/us-central1';

export interface Clients {
  jobs: aiplatform.JobServiceClient;
  models: aiplatform.ModelServiceClient;
  services: run.ServicesClient;
  revisions: run.RevisionsClient;
  scheduler: CloudSchedulerClient;
  storage: Storage;
}

export function clients(fake: FakeGcp): Clients {
  const o = fakeClientOptions(fake);
  return {
    jobs: new aiplatform.JobServiceClient(o),
    models: new aiplatform.ModelServiceClient(o),
    services: new run.ServicesClient(o),
    revisions: new run.RevisionsClient(o),
    scheduler: new CloudSchedulerClient(o),
    storage: new Storage({ ...fakeStorageOptions(fake), retryOptions: { autoRetry: false } }),
  };
}

export async function start(options: FakeGcpOptions = {}): Promise<{ fake: FakeGcp; c: Clients }> {
  const fake = await startFakeGcp({ checkResponses: true, ...options });
  return { fake, c: clients(fake) };
}

export async function closeAll(fake: FakeGcp, c: Clients): Promise<void> {
  await Promise.all([
    c.jobs.close(),
    c.models.close(),
    c.services.close(),
    c.revisions.close(),
    c.scheduler.close(),
  ]);
  await fake.close();
}

export async function waitFor<T>(
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 5000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('waitFor timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** HTTP status of a client error (in fallback mode gax rejects with a GaxiosError: code = HTTP status). */
export function errCode(e: unknown): number | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'number'
    ? e.code
    : undefined;
}

/** Google's `error.status` (e.g. 'RESOURCE_EXHAUSTED'), parsed from the GaxiosError message (the raw JSON body). */
export function errStatus(e: unknown): string | undefined {
  try {
    const j: unknown = JSON.parse(errMessage(e));
    if (typeof j === 'object' && j !== null && 'error' in j) {
      const inner: unknown = j.error;
      if (
        typeof inner === 'object' &&
        inner !== null &&
        'status' in inner &&
        typeof inner.status === 'string'
      )
        return inner.status;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

export function errMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
