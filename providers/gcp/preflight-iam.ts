/**
 * `mlform check`: whether the identity mlform runs as holds the roles of deploy/README.md
 * ("Identities and IAM roles", the `mlform-controller` table). Google's `testIamPermissions`
 * answers which of a list of permissions the caller has, without needing any permission itself:
 * on the project through the Resource Manager API, on the bucket through Cloud Storage's. Each
 * missing permission is reported with the role that grants it (`roleFor`, errors.ts).
 *
 * Not testable this way: `iam.serviceAccounts.actAs` on the runner account (granted on the
 * account, not the project); a launch that lacks it fails with that permission and its role.
 */
import type { ProjectsClient } from '@google-cloud/resource-manager/build/src/v3/projects_client.js';
import type { GcpApi } from './api-calls.js';
import type { CheckResult } from './preflight.js';
import type { Gcp } from './context.js';
import { roleFor } from './errors.js';

/** What the controller identity needs on the project, by role (deploy/README.md). */
export const PROJECT_PERMISSIONS: readonly string[] = [
  // roles/aiplatform.user
  'aiplatform.customJobs.create',
  'aiplatform.customJobs.list',
  'aiplatform.customJobs.cancel',
  'aiplatform.hyperparameterTuningJobs.create',
  'aiplatform.hyperparameterTuningJobs.list',
  'aiplatform.models.upload',
  'aiplatform.models.list',
  'aiplatform.models.update',
  'aiplatform.models.delete',
  // roles/run.developer
  'run.services.create',
  'run.services.update',
  'run.services.list',
  'run.services.delete',
  'run.revisions.list',
  // roles/cloudscheduler.admin
  'cloudscheduler.jobs.create',
  'cloudscheduler.jobs.update',
  'cloudscheduler.jobs.list',
  'cloudscheduler.jobs.pause',
  'cloudscheduler.jobs.enable',
  'cloudscheduler.jobs.run',
  'cloudscheduler.jobs.delete',
];
/** With `gcp.tensorboard: {create: true}`: finding and creating the stack's instance. */
export const TENSORBOARD_PERMISSIONS: readonly string[] = [
  'aiplatform.tensorboards.list',
  'aiplatform.tensorboards.create',
];
/** On the bucket (roles/storage.objectAdmin): locks, markers, records, data, metrics. */
export const BUCKET_PERMISSIONS: readonly string[] = [
  'storage.objects.create',
  'storage.objects.get',
  'storage.objects.list',
  'storage.objects.update',
  'storage.objects.delete',
];

const PROJECT_CHECK = 'permissions on the project';
const BUCKET_CHECK = 'permissions on the bucket';

/** One check from the permissions asked and the ones granted. */
export function permissionResult(
  name: string,
  where: string,
  asked: readonly string[],
  granted: readonly string[],
  grant: (role: string) => string,
): CheckResult {
  const have = new Set(granted);
  const missing = asked.filter((p) => !have.has(p));
  if (missing.length === 0) {
    return { name, status: 'pass', detail: `all ${asked.length} permissions mlform needs on ${where}` };
  }
  // Grouped by role: one grant fixes every permission of its group.
  const byRole = new Map<string, string[]>();
  for (const p of missing) {
    const role = roleFor(p)?.split(' ')[0] ?? 'a role that grants it';
    byRole.set(role, [...(byRole.get(role) ?? []), p]);
  }
  return {
    name,
    status: 'fail',
    detail: `missing on ${where}: ${[...byRole].map(([role, ps]) => `${ps.join(', ')} (${role})`).join('; ')}`,
    fix: `${[...byRole.keys()].map(grant).join('; ')} (deploy/README.md "Identities and IAM roles")`,
  };
}

/** The project's and the bucket's permission checks. */
export async function permissionChecks(
  gcp: Gcp,
  projects: () => Promise<ProjectsClient>,
  /** A call that failed (API disabled, denied, unreachable) as its check, with the fix. */
  failure: (name: string, api: GcpApi, e: unknown) => CheckResult,
): Promise<CheckResult[]> {
  const { project, bucket, tensorboard } = gcp.settings;
  const bucketName = bucket.replace(/^gs:\/\//, '').split('/')[0] ?? '';
  const asked = [
    ...PROJECT_PERMISSIONS,
    ...(typeof tensorboard === 'object' && tensorboard.create ? TENSORBOARD_PERMISSIONS : []),
  ];
  const onProject = async (): Promise<CheckResult> => {
    const client = await projects();
    const [answer] = await gcp.call('resourcemanager', 'TestIamPermissions', (o) =>
      client.testIamPermissions({ resource: `projects/${project}`, permissions: [...asked] }, o),
    );
    return permissionResult(
      PROJECT_CHECK,
      `project ${project}`,
      asked,
      answer.permissions ?? [],
      (role) => `gcloud projects add-iam-policy-binding ${project} --member=MEMBER --role=${role}`,
    );
  };
  const onBucket = async (): Promise<CheckResult> => {
    const [granted] = await gcp.call('storage', 'buckets.testIamPermissions', () =>
      gcp.clients.storage.bucket(bucketName).iam.testPermissions([...BUCKET_PERMISSIONS]),
    );
    return permissionResult(
      BUCKET_CHECK,
      `gs://${bucketName}`,
      BUCKET_PERMISSIONS,
      Object.keys(granted).filter((p) => granted[p]),
      (role) =>
        `gcloud storage buckets add-iam-policy-binding gs://${bucketName} --member=MEMBER --role=${role}`,
    );
  };
  return Promise.all([
    onProject().catch((e: unknown) => failure(PROJECT_CHECK, 'resourcemanager', e)),
    onBucket().catch((e: unknown) => failure(BUCKET_CHECK, 'storage', e)),
  ]);
}
