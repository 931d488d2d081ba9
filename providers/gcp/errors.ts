/**
 * Failures whose cause is the set-up rather than one resource (README.md "First hour"): no
 * credentials, an API host that cannot be reached, a permission the identity lacks. Each becomes
 * one diagnostic that names the cause and the fix, and carries no address: the same cause met by
 * four list calls is four equal diagnostics, printed once (`uniqueDiagnostics`).
 */
import { error, type Diagnostic } from '../../resources/diagnostic.js';
import { errorMessage } from '../../resources/error-message.js';
import type { GcpApi } from './api-calls.js';

/** A failure found before any request was sent (e.g. no credentials), with its diagnostic. */
export class GcpSetupError extends Error {
  constructor(readonly diagnostic: Diagnostic) {
    super(diagnostic.message);
    this.name = 'GcpSetupError';
  }
}

/** The API's host when the error does not name one. */
export const API_HOST: Record<GcpApi, string> = {
  aiplatform: 'aiplatform.googleapis.com',
  run: 'run.googleapis.com',
  scheduler: 'cloudscheduler.googleapis.com',
  storage: 'storage.googleapis.com',
  secretmanager: 'secretmanager.googleapis.com',
  resourcemanager: 'cloudresourcemanager.googleapis.com',
  artifactregistry: 'artifactregistry.googleapis.com',
};

/**
 * Permission prefix -> the role of deploy/README.md "Identities and IAM roles" that grants it; the
 * longest matching prefix wins.
 */
const ROLE_FOR_PERMISSION: readonly (readonly [string, string])[] = [
  ['iam.serviceAccounts.actAs', 'roles/iam.serviceAccountUser on the mlform-runner service account'],
  ['aiplatform.', 'roles/aiplatform.user on the project'],
  ['run.', 'roles/run.developer on the project'],
  ['cloudscheduler.', 'roles/cloudscheduler.admin on the project'],
  ['storage.', 'roles/storage.objectAdmin on the bucket'],
  ['secretmanager.', 'roles/secretmanager.viewer on the project'],
  ['artifactregistry.', 'roles/artifactregistry.reader on the image repository'],
];

/** The role granting `permission`, from deploy/README.md; undefined when none of ours does. */
export function roleFor(permission: string): string | undefined {
  let best: readonly [string, string] | undefined;
  for (const entry of ROLE_FOR_PERMISSION) {
    if (permission.startsWith(entry[0]) && entry[0].length > (best?.[0].length ?? -1)) best = entry;
  }
  return best?.[1];
}

/**
 * The IAM permission a PERMISSION_DENIED names: Google's ErrorInfo `metadata.permission`, or the
 * message ("Permission 'aiplatform.customJobs.list' denied on ...", Cloud Storage's "... does not
 * have storage.objects.list access to ...").
 */
export function deniedPermission(e: unknown): string | undefined {
  const info = fieldOf(e, 'errorInfoMetadata');
  const fromInfo = fieldOf(info, 'permission');
  if (typeof fromInfo === 'string') return fromInfo;
  const raw = errorMessage(e);
  const m =
    /Permission '([a-z][\w.]+)' denied/i.exec(raw) ??
    /does not have ([a-z][\w]*\.[\w.]+) access/i.exec(raw) ??
    /"permission"\s*:\s*"([a-z][\w.]+)"/i.exec(raw);
  return m?.[1];
}

const UNREACHABLE = /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)\b/;

/** The host a network failure could not reach, when the error is one (else undefined). */
export function unreachable(api: GcpApi, e: unknown): { host: string; code: string } | undefined {
  const raw = `${errorMessage(e)} ${String(fieldOf(e, 'code') ?? '')}`;
  const code = UNREACHABLE.exec(raw)?.[1];
  if (!code) return undefined;
  const host =
    /(?:ENOTFOUND|EAI_AGAIN)\s+([\w.-]+)/.exec(raw)?.[1] ??
    /request to https?:\/\/([^/\s]+)/.exec(raw)?.[1] ??
    /(?:ECONNREFUSED|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH)\s+([\w.:[\]-]+)/.exec(raw)?.[1] ??
    API_HOST[api];
  return { host, code };
}

/** A network failure as its one diagnostic: which host, and what to check. */
export function unreachableDiagnostic(host: string, code: string): Diagnostic {
  return error('gcp-unreachable', `could not reach ${host}: ${code}`, {
    hint:
      'check the network and DNS, an HTTPS_PROXY the network requires, and MLFORM_GCP_API_ENDPOINT ' +
      '(set only for an emulator)',
  });
}

/** A PERMISSION_DENIED as its one diagnostic: the permission and the role that grants it. */
export function permissionDiagnostic(api: GcpApi, rpc: string, permission: string | undefined): Diagnostic {
  const role = permission ? roleFor(permission) : undefined;
  const what = permission ? `permission ${permission}` : `the permission for ${api} ${rpc}`;
  return error('gcp-permission', `the identity running mlform lacks ${what} (${api} ${rpc})`, {
    hint: role
      ? `grant it ${role} (deploy/README.md "Identities and IAM roles")`
      : 'grant it the role deploy/README.md "Identities and IAM roles" lists for this API',
  });
}

/**
 * The diagnostic of a failure whose cause is the set-up (credentials, network, permission), or
 * undefined for a failure about the resource itself.
 */
export function setupDiagnostic(api: GcpApi, rpc: string, e: unknown, kind?: string): Diagnostic | undefined {
  if (e instanceof GcpSetupError) return e.diagnostic;
  const net = unreachable(api, e);
  if (net) return unreachableDiagnostic(net.host, net.code);
  if (kind === 'permission') return permissionDiagnostic(api, rpc, deniedPermission(e));
  return undefined;
}

function fieldOf(e: unknown, key: string): unknown {
  return e !== null && typeof e === 'object' ? (e as Record<string, unknown>)[key] : undefined;
}
