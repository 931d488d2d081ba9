/**
 * Resolving `{secretRef: {name, key}}` env values (resources/secret-ref.ts) where a process runs,
 * never where it is planned. Two resolvers, for the two places a trainer (or later a serving
 * container) starts:
 *
 * - **Local** (`resolveLocalEnv`): from the operator, never from the manifest tree. First the
 *   secrets folder (`$MLFORM_SECRETS_DIR`, laid out like a mounted Kubernetes Secret volume:
 *   `<dir>/<name>/<key>`, one trailing newline dropped), then the environment variable
 *   `MLFORM_SECRET_<NAME>_<KEY>` (upper case, `-` as `_`). A missing secret is an error naming
 *   the reference and where it was looked for, never a value.
 * - **Vertex AI** (`resolveSecretRefsEnv`): a job's container gets `MLFORM_SECRET_REFS`, JSON
 *   `{ENV_NAME: "projects/P/secrets/S/versions/V"}` (providers/gcp/secrets.ts); mlform's trainer
 *   calls this at start, with the job's service account, before anything else reads the env.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { error, type Diagnostic, type FieldPath } from '../resources/diagnostic.js';
import { formatSecretRef, isSecretRef, type Env, type SecretRef } from '../resources/secret-ref.js';

/** The operator's secrets folder (a flag may set it later; a manifest never can). */
export const SECRETS_DIR_ENV = 'MLFORM_SECRETS_DIR';
/** The references a Vertex job's container resolves at start. */
export const SECRET_REFS_ENV = 'MLFORM_SECRET_REFS';
/** Secret Manager's own payload limit; a larger file is a mistake (a folder, a dump), not a secret. */
export const MAX_SECRET_BYTES = 64 * 1024;

/** `MLFORM_SECRET_HUGGINGFACE_TOKEN` for `{name: huggingface, key: token}`. */
export const secretEnvName = (ref: Pick<SecretRef, 'name' | 'key'>): string =>
  `MLFORM_SECRET_${ref.name}_${ref.key}`.toUpperCase().replace(/-/g, '_');

export interface LocalSecretSources {
  /** The operator's secrets folder; default `$MLFORM_SECRETS_DIR`. */
  secretsDir?: string;
  /** The operator's environment (process.env). */
  env: Record<string, string | undefined>;
  /**
   * The manifest tree (the controller's checkout): a secrets folder inside it would let a commit
   * supply "secrets", so it is refused.
   */
  treeRoot?: string;
  /** Variable names the launcher sets itself (a trainer's `AIP_MODEL_DIR`, `PATH`): refused. */
  reserved?: readonly string[];
}

/** The error for an env entry naming a variable mlform sets itself. */
export const reservedEnvDiagnostic = (
  name: string,
  path: FieldPath,
  reserved: readonly string[],
): Diagnostic =>
  error('env-reserved', `${name} is set by mlform itself`, {
    path,
    hint: `remove it; mlform sets ${reserved.join(', ')}`,
  });

type Resolved = { ok: true; value: string } | { ok: false; diagnostic: Diagnostic };

async function isInside(path: string, root: string): Promise<boolean> {
  const real = async (p: string) => realpath(p).catch(() => resolve(p));
  const rel = relative(await real(root), await real(path));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** One reference, locally. The name and key patterns keep `<dir>/<name>/<key>` inside `<dir>`. */
export async function resolveLocalSecret(
  ref: SecretRef,
  sources: LocalSecretSources,
  path: FieldPath = [],
): Promise<Resolved> {
  const dir = sources.secretsDir ?? (sources.env[SECRETS_DIR_ENV] || undefined);
  const looked: string[] = [];
  if (dir !== undefined && sources.treeRoot !== undefined && (await isInside(dir, sources.treeRoot))) {
    return {
      ok: false,
      diagnostic: error('secrets-dir-in-tree', `the secrets folder ${dir} is inside the manifest tree`, {
        path,
        hint: `keep ${SECRETS_DIR_ENV} outside ${sources.treeRoot}: files in the tree are written by whoever commits`,
      }),
    };
  }
  if (dir !== undefined) {
    const file = join(dir, ref.name, ref.key);
    looked.push(file);
    const info = await stat(file).catch(() => undefined);
    if (info?.isFile()) {
      if (info.size > MAX_SECRET_BYTES) {
        return {
          ok: false,
          diagnostic: error(
            'secret-too-large',
            `${formatSecretRef(ref)}: ${file} is ${info.size} bytes; secrets are at most ${MAX_SECRET_BYTES}`,
            { path },
          ),
        };
      }
      // `echo token > file` is how most secret files are written: one trailing newline is not part of it.
      return { ok: true, value: (await readFile(file, 'utf8')).replace(/\r?\n$/, '') };
    }
  }
  const variable = secretEnvName(ref);
  looked.push(`$${variable}`);
  const fromEnv = sources.env[variable];
  if (fromEnv !== undefined) return { ok: true, value: fromEnv };
  return {
    ok: false,
    diagnostic: error(
      'secret-not-found',
      `${formatSecretRef(ref)} is not set (looked in ${looked.join(', ')})`,
      {
        path,
        hint: `give it to mlform as an operator: ${dir === undefined ? `set ${SECRETS_DIR_ENV}=<folder> with ${ref.name}/${ref.key} in it, or ` : ''}export ${variable}=...`,
      },
    ),
  };
}

/**
 * An env with its references resolved locally: all or nothing, every missing secret (and every
 * name in `sources.reserved`) reported.
 * The result holds secret values: pass it to a child's environment, never to argv, a file in the
 * tree, a state record or a log.
 */
export async function resolveLocalEnv(
  env: Env | undefined,
  sources: LocalSecretSources,
  path: FieldPath = [],
): Promise<{ env?: Record<string, string>; diagnostics: Diagnostic[] }> {
  const out: Record<string, string> = {};
  const diagnostics: Diagnostic[] = [];
  for (const [name, value] of Object.entries(env ?? {})) {
    if (sources.reserved?.includes(name)) {
      diagnostics.push(reservedEnvDiagnostic(name, [...path, name], sources.reserved));
      continue;
    }
    if (!isSecretRef(value)) {
      out[name] = value;
      continue;
    }
    const resolved = await resolveLocalSecret(value.secretRef, sources, [...path, name]);
    if (resolved.ok) out[name] = resolved.value;
    else diagnostics.push(resolved.diagnostic);
  }
  return diagnostics.length > 0 ? { diagnostics } : { env: out, diagnostics };
}

// ---- Vertex AI: MLFORM_SECRET_REFS ---------------------------------------------------------

/** Reads one Secret Manager version: `projects/P/secrets/S/versions/V` -> its payload as text. */
export type AccessSecret = (versionName: string) => Promise<string>;

const VERSION_NAME = /^projects\/[^/]+\/secrets\/[A-Za-z0-9_-]{1,255}\/versions\/(latest|[1-9][0-9]*)$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The variables `MLFORM_SECRET_REFS` names, resolved through `access`; `{}` without it. Throws
 * (before anything else runs) on a malformed document or a secret that cannot be read, naming
 * the variable and the secret, never a value.
 */
export async function resolveSecretRefsEnv(
  env: Record<string, string | undefined>,
  access: AccessSecret,
): Promise<Record<string, string>> {
  const text = env[SECRET_REFS_ENV];
  if (text === undefined || text === '') return {};
  let refs: unknown;
  try {
    refs = JSON.parse(text);
  } catch {
    throw new Error(`${SECRET_REFS_ENV} is not JSON`);
  }
  if (refs === null || typeof refs !== 'object' || Array.isArray(refs)) {
    throw new Error(`${SECRET_REFS_ENV} must be a JSON object {ENV_NAME: "projects/P/secrets/S/versions/V"}`);
  }
  const out: Record<string, string> = {};
  for (const [name, version] of Object.entries(refs as Record<string, unknown>)) {
    if (!ENV_NAME.test(name) || typeof version !== 'string' || !VERSION_NAME.test(version)) {
      throw new Error(`${SECRET_REFS_ENV}: ${name} must map to "projects/P/secrets/S/versions/V"`);
    }
    try {
      out[name] = await access(version);
    } catch (e) {
      const why = e instanceof Error ? e.message.split('\n')[0] : String(e);
      throw new Error(`cannot read secret ${version} for ${name}: ${why}`);
    }
  }
  return out;
}

interface SecretManagerLike {
  accessSecretVersion(request: {
    name: string;
  }): Promise<[{ payload?: { data?: Uint8Array | string | null } | null }, ...unknown[]]>;
  close(): Promise<void>;
}

/**
 * Secret Manager with Application Default Credentials (the job's service account), or, with
 * `MLFORM_GCP_API_ENDPOINT=http://host:port`, an emulator with a fixed token (tests). The client
 * loads only when a job has references.
 */
export async function secretManagerAccess(
  env: Record<string, string | undefined>,
): Promise<{ access: AccessSecret; close(): Promise<void> }> {
  const { SecretManagerServiceClient } =
    await import('@google-cloud/secret-manager/build/src/v1/secret_manager_service_client.js');
  const endpoint = env.MLFORM_GCP_API_ENDPOINT || undefined;
  let options: ConstructorParameters<typeof SecretManagerServiceClient>[0] = { fallback: true };
  if (endpoint !== undefined) {
    const url = new URL(endpoint);
    const protocol = url.protocol.replace(':', '');
    // The OAuth2Client of the google-auth-library copy google-gax itself uses (providers/gcp/clients.ts).
    const gaxRequire = createRequire(createRequire(import.meta.url).resolve('google-gax'));
    const { OAuth2Client } = gaxRequire('google-auth-library') as {
      OAuth2Client: new () => { setCredentials(c: { access_token: string; expiry_date: number }): void };
    };
    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: 'mlform-emulator-token', expiry_date: Date.now() + 3600_000 });
    options = {
      fallback: true,
      apiEndpoint: url.hostname,
      port: Number(url.port || (protocol === 'https' ? 443 : 80)),
      protocol,
      authClient: authClient as unknown as NonNullable<typeof options>['authClient'],
    };
  }
  const client = new SecretManagerServiceClient(options) as unknown as SecretManagerLike;
  return {
    access: async (name) => {
      const [version] = await client.accessSecretVersion({ name });
      const data = version.payload?.data;
      if (data === undefined || data === null) throw new Error('the version has no payload');
      return typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
    },
    close: () => client.close(),
  };
}

/**
 * What mlform's trainer entrypoint does first on Vertex AI: `MLFORM_SECRET_REFS` resolved into
 * `env` (in place), so the rest of the process sees plain variables. No-op without references.
 */
export async function resolveSecretRefsAtStart(env: Record<string, string | undefined>): Promise<void> {
  if (!env[SECRET_REFS_ENV]) return;
  const manager = await secretManagerAccess(env);
  try {
    Object.assign(env, await resolveSecretRefsEnv(env, manager.access));
  } finally {
    await manager.close();
  }
  delete env[SECRET_REFS_ENV];
}
