/**
 * `{secretRef: {name, key}}` on gcp (resources/secret-ref.ts): the Secret Manager secret
 * `<name>_<key>` of the project. mlform itself never reads a secret's value: it passes references
 * and checks at plan time that the secrets exist.
 *
 * - Vertex AI CustomJobs have no secret environment variables, so a job gets literals as env and
 *   the references as one variable, `MLFORM_SECRET_REFS` = JSON `{ENV_NAME: "projects/P/secrets/
 *   S/versions/V"}`. mlform's trainer resolves them at start with the job's service account
 *   (`trainer/secrets.ts`); a container of your own reads that variable and resolves them itself.
 * - Cloud Run resolves secret environment variables natively (`valueSource.secretKeyRef`):
 *   `cloudRunEnv` maps an env to that form, for serving containers.
 */
import type { protos as aiplatform } from '@google-cloud/aiplatform';
import type { protos as run } from '@google-cloud/run';
import { error, formatPath, warning, type Diagnostic, type FieldPath } from '../../resources/diagnostic.js';
import {
  isSecretRef,
  RESERVED_ENV,
  secretRefsOf,
  type Env,
  type SecretRef,
} from '../../resources/secret-ref.js';
import type { DeployedEndpointSpec } from '../../resources/deployed-endpoint.js';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import type { ValidateResource } from '../provider.js';
import { callDiagnostic } from './call.js';
import { listAll, type Gcp } from './context.js';

/** The variable a Vertex job's container reads its secret references from (reserved in manifests). */
export const SECRET_REFS_ENV = RESERVED_ENV;

/** Secret Manager secret id: names have no `_`, so the id splits back one way only. */
export const secretId = (ref: SecretRef): string => `${ref.name}_${ref.key}`;

export const secretResource = (project: string, ref: SecretRef): string =>
  `projects/${project}/secrets/${secretId(ref)}`;

export const secretVersionName = (project: string, ref: SecretRef): string =>
  `${secretResource(project, ref)}/versions/${ref.version ?? 'latest'}`;

/** A Vertex container's env: the literals, then `MLFORM_SECRET_REFS` when there are references. */
export function vertexEnv(
  env: Env | undefined,
  project: string,
): aiplatform.google.cloud.aiplatform.v1.IEnvVar[] {
  const out: aiplatform.google.cloud.aiplatform.v1.IEnvVar[] = [];
  for (const [name, value] of Object.entries(env ?? {})) {
    if (typeof value === 'string') out.push({ name, value });
  }
  const refs = secretRefsOf(env);
  if (refs.length > 0) {
    out.push({
      name: SECRET_REFS_ENV,
      value: JSON.stringify(
        Object.fromEntries(refs.map(([name, ref]) => [name, secretVersionName(project, ref)])),
      ),
    });
  }
  return out;
}

/** A Cloud Run v2 container's env: literals as values, references as native secret variables. */
export function cloudRunEnv(env: Env | undefined, project: string): run.google.cloud.run.v2.IEnvVar[] {
  return Object.entries(env ?? {}).map(([name, value]) =>
    isSecretRef(value)
      ? {
          name,
          valueSource: {
            secretKeyRef: {
              secret: secretResource(project, value.secretRef),
              version: value.secretRef.version ?? 'latest',
            },
          },
        }
      : { name, value },
  );
}

interface EnvField {
  resource: ValidateResource;
  path: FieldPath;
  env: Env;
}

/** Every manifest field that passes environment. */
function envFields(resources: readonly ValidateResource[]): EnvField[] {
  const out: EnvField[] = [];
  for (const r of resources) {
    if (r.kind === 'DeployedEndpoint') {
      const env = (r.manifest as { spec: DeployedEndpointSpec }).spec.container?.env;
      if (env) out.push({ resource: r, path: ['spec', 'container', 'env'], env });
    }
    if (r.kind !== 'TrainingRun') continue;
    const env = (r.manifest as { spec: TrainingRunSpec }).spec.trainer.container?.env;
    if (env) out.push({ resource: r, path: ['spec', 'trainer', 'container', 'env'], env });
  }
  return out;
}

/**
 * Plan-time check: every referenced secret exists in the project, with one (paged) ListSecrets
 * call and only when something references a secret. A missing one is an error at the variable's
 * line; a list that fails (no permission to list) is a warning, because the runtime service
 * account may well be able to read what the planner cannot list.
 */
export async function checkSecretRefs(
  gcp: Pick<Gcp, 'clients' | 'call' | 'settings'>,
  resources: readonly ValidateResource[],
): Promise<Diagnostic[]> {
  const fields = envFields(resources).filter((f) => secretRefsOf(f.env).length > 0);
  if (fields.length === 0) return [];
  const project = gcp.settings.project;
  type Req = { parent: string; pageSize: number; pageToken?: string | null };
  let existing: Set<string>;
  try {
    const secrets = await listAll<Req, { name?: string | null }>(
      gcp.call,
      'secretmanager',
      'ListSecrets',
      { parent: `projects/${project}`, pageSize: 25_000 },
      (req, opts) =>
        gcp.clients.secrets.listSecrets(req, opts) as unknown as Promise<
          [{ name?: string | null }[], Req | null, unknown]
        >,
    );
    existing = new Set(secrets.flatMap((s) => (s.name ? [s.name.split('/').pop() ?? ''] : [])));
  } catch (e) {
    const d = callDiagnostic(`projects/${project}`, 'listing Secret Manager secrets', e);
    return [
      warning('gcp-secrets-unchecked', `${d.message}; secret references were not checked`, {
        ...(d.hint !== undefined && { hint: d.hint }),
      }),
    ];
  }
  const out: Diagnostic[] = [];
  for (const { resource: r, path, env } of fields) {
    for (const [name, ref] of secretRefsOf(env)) {
      if (existing.has(secretId(ref))) continue;
      const at: FieldPath = [...path, name];
      out.push(
        error(
          'gcp-secret-missing',
          `${formatPath(at)}: secret ${secretId(ref)} does not exist in project ${project}`,
          {
            address: r.address,
            file: r.source.file,
            line: r.source.line,
            col: r.source.col,
            path: at,
            hint: `create it (gcloud secrets create ${secretId(ref)} --data-file=-) or fix the reference; the job's service account needs roles/secretmanager.secretAccessor on it`,
          },
        ),
      );
    }
  }
  return out;
}
