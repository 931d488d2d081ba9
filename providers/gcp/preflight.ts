/**
 * `mlform check` on a gcp project (README.md "First hour"), like `flux check --pre`: what a first
 * plan needs, each reported pass / fail / warn / skip with the fix. Credentials first (without
 * them nothing else can be asked); then one cheap call per API the stack uses, the bucket (exists,
 * location, a probe object written and deleted under the stack's prefix) and the offline checks of
 * the manifests' accelerators and machines in the training region.
 */
import { randomUUID } from 'node:crypto';
import { errorMessage } from '../../resources/error-message.js';
import type { ValidateResource } from '../provider.js';
import type { GcpApi } from './api-calls.js';
import { GcpCallError, isKind } from './call.js';
import type { Gcp } from './context.js';
import { findCredentials } from './credentials.js';
import { API_HOST, setupDiagnostic } from './errors.js';
import { checkSecretRefs } from './secrets.js';
import { validateGcp } from './validate.js';
import { permissionChecks } from './preflight-iam.js';
import { imagesCheck } from './preflight-images.js';
import {
  clientSettingsOf,
  createProjectsClient,
  createRegistryClient,
  type Closable,
} from './preflight-clients.js';

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export interface PreflightInput {
  gcp: Gcp;
  stack: string;
  resources: readonly ValidateResource[];
  env: Record<string, string | undefined>;
  /** An emulator (MLFORM_GCP_API_ENDPOINT): its fixed token stands for the credentials. */
  endpoint?: string | undefined;
}

/** The fix for a failed call: the set-up cause's hint, an API to enable, or the message itself. */
export function failure(name: string, api: GcpApi, e: unknown): CheckResult {
  const detail = errorMessage(e);
  if (/SERVICE_DISABLED|has not been used in project|is disabled/i.test(detail)) {
    return {
      name,
      status: 'fail',
      detail: `the API is not enabled: ${detail}`,
      fix: `gcloud services enable ${API_HOST[api]}`,
    };
  }
  const setup = e instanceof GcpCallError ? setupDiagnostic(api, e.rpc, e, e.kind) : undefined;
  return {
    name,
    status: 'fail',
    detail: setup?.message ?? detail,
    ...((setup?.hint ?? undefined) !== undefined && { fix: setup?.hint }),
  };
}

/** `europe-west4` is in the multi-region `EU`; `us-central1` in `US`; `asia-east1` in `ASIA`. */
function multiRegionOf(region: string): string | undefined {
  if (region.startsWith('europe-')) return 'EU';
  if (region.startsWith('us-')) return 'US';
  if (region.startsWith('asia-')) return 'ASIA';
  return undefined;
}

async function apiCheck(name: string, api: GcpApi, send: () => Promise<unknown>): Promise<CheckResult> {
  try {
    await send();
    return { name, status: 'pass', detail: `${API_HOST[api]} answered` };
  } catch (e) {
    return failure(name, api, e);
  }
}

async function bucketChecks(gcp: Gcp, stack: string): Promise<CheckResult[]> {
  const { bucket, region } = gcp.settings;
  const name = bucket.replace(/^gs:\/\//, '').split('/')[0] ?? '';
  let location: string;
  try {
    const [metadata] = await gcp.call('storage', 'buckets.get', () =>
      gcp.clients.storage.bucket(name).getMetadata(),
    );
    location = String((metadata as { location?: string }).location ?? '').toUpperCase();
  } catch (e) {
    if (isKind(e, 'not-found')) {
      return [
        {
          name: 'bucket',
          status: 'fail',
          detail: `gs://${name} does not exist`,
          fix: `gcloud storage buckets create gs://${name} --location=${region} --uniform-bucket-level-access`,
        },
      ];
    }
    return [failure('bucket', 'storage', e)];
  }
  const results: CheckResult[] = [{ name: 'bucket', status: 'pass', detail: `gs://${name} exists` }];
  const multi = multiRegionOf(region);
  results.push(
    location === region.toUpperCase()
      ? { name: 'bucket location', status: 'pass', detail: `${location}, the region's` }
      : location === multi
        ? { name: 'bucket location', status: 'pass', detail: `${location}, a multi-region holding ${region}` }
        : {
            name: 'bucket location',
            status: 'warn',
            detail: `gs://${name} is in ${location}, the stack runs in ${region}: artifacts cross regions (egress, latency)`,
            fix: `use a bucket in ${region} (gcloud storage buckets create gs://NAME --location=${region})`,
          },
  );
  // Under the stack's own prefix, where mlform writes its lock and records.
  const probe = `${bucket}/${stack}/check-${randomUUID()}`;
  try {
    await gcp.gcs.write(probe, 'mlform check', { contentType: 'text/plain' });
    await gcp.gcs.read(probe);
    await gcp.gcs.remove(probe);
    results.push({ name: 'bucket access', status: 'pass', detail: `wrote, read and deleted ${probe}` });
  } catch (e) {
    results.push(failure('bucket access', 'storage', e));
  }
  return results;
}

function offerCheck(
  gcp: Gcp,
  resources: readonly ValidateResource[],
  env: PreflightInput['env'],
  stack: string,
) {
  const errors = validateGcp(gcp.settings, resources, env, stack).filter((d) => d.severity === 'error');
  const trainings = resources.filter((r) => r.kind === 'TrainingRun').length;
  if (errors.length === 0) {
    return {
      name: 'GPU and machine offers',
      status: 'pass' as const,
      detail: `${trainings} training(s): every machine and accelerator is offered in ${gcp.settings.trainingRegion}`,
    };
  }
  return {
    name: 'GPU and machine offers',
    status: 'fail' as const,
    detail: errors.map((d) => `${d.address ?? ''} ${d.message}`.trim()).join('; '),
    fix: errors.find((d) => d.hint)?.hint ?? 'run `mlform validate` for each field',
  };
}

async function secretsCheck(gcp: Gcp, resources: readonly ValidateResource[]): Promise<CheckResult> {
  const name = 'Secret Manager';
  if (!resources.some((r) => JSON.stringify(r.manifest).includes('"secretRef"'))) {
    return { name, status: 'skip', detail: 'no manifest references a secret' };
  }
  const found = await checkSecretRefs(gcp, resources);
  if (found.length === 0) return { name, status: 'pass', detail: 'every referenced secret exists' };
  return {
    name,
    status: 'fail',
    detail: found.map((d) => d.message).join('; '),
    ...(found[0]?.hint !== undefined && { fix: found[0].hint }),
  };
}

export async function gcpPreflight(input: PreflightInput): Promise<CheckResult[]> {
  const { gcp, stack, resources, env, endpoint } = input;
  const { project, region, trainingRegion } = gcp.settings;
  const results: CheckResult[] = [];
  const clients: Closable[] = [];
  if (endpoint) {
    results.push({ name: 'credentials', status: 'pass', detail: `emulator at ${endpoint} (fixed token)` });
  } else {
    const found = await findCredentials(env);
    if (!found.ok) {
      results.push({
        name: 'credentials',
        status: 'fail',
        detail: found.diagnostic.message,
        ...(found.diagnostic.hint !== undefined && { fix: found.diagnostic.hint }),
      });
      const skipped = ['Vertex AI', 'Cloud Run', 'Cloud Scheduler', 'bucket', 'Secret Manager'];
      // permissions and images are skipped below, in the order they would run.
      for (const name of skipped) results.push({ name, status: 'skip', detail: 'needs credentials' });
    } else {
      results.push({ name: 'credentials', status: 'pass', detail: `from ${found.detail}` });
    }
  }
  if (results[0]?.status === 'pass') {
    const page = { pageSize: 1 };
    const apis = await Promise.all([
      apiCheck('Vertex AI', 'aiplatform', () =>
        gcp.call('aiplatform', 'ListCustomJobs', (o) =>
          gcp.clients.jobs.listCustomJobs(
            { parent: `projects/${project}/locations/${trainingRegion}`, ...page },
            o,
          ),
        ),
      ),
      apiCheck('Cloud Run', 'run', () =>
        gcp.call('run', 'ListServices', (o) =>
          gcp.clients.services.listServices(
            { parent: `projects/${project}/locations/${region}`, ...page },
            o,
          ),
        ),
      ),
      apiCheck('Cloud Scheduler', 'scheduler', () =>
        gcp.call('scheduler', 'ListJobs', (o) =>
          gcp.clients.scheduler.listJobs({ parent: `projects/${project}/locations/${region}`, ...page }, o),
        ),
      ),
      bucketChecks(gcp, stack),
      secretsCheck(gcp, resources),
    ]);
    results.push(...apis.flat());
  }
  if (results[0]?.status === 'pass') {
    // Only `check` needs these two clients: loaded here, not with the provider's.
    const settings = clientSettingsOf(gcp, endpoint);
    const [permissions, images] = await Promise.all([
      permissionChecks(gcp, () => createProjectsClient(settings, clients), failure),
      imagesCheck(gcp, () => createRegistryClient(settings, clients), failure),
    ]);
    results.push(...permissions, images);
  } else {
    for (const name of ['permissions', 'images'])
      results.push({ name, status: 'skip', detail: 'needs credentials' });
  }
  await Promise.all(clients.map((c) => c.close()));
  results.push(offerCheck(gcp, resources, env, stack));
  return results;
}
