/**
 * Application Default Credentials, looked for once before the first request (README.md "First
 * hour"). Without it every SDK client probes on its own: four "Could not load the default
 * credentials" errors, a `MetadataLookupWarning` from gcp-metadata, and an unhandled rejection
 * from the OperationsClient a JobServiceClient builds in its constructor.
 *
 * The order is google-auth-library's: GOOGLE_APPLICATION_CREDENTIALS, gcloud's well-known file,
 * then the metadata server (GCE, Cloud Run, GKE Workload Identity). The metadata server is asked
 * here first, quietly and briefly, so that the library only probes where it will find one.
 */
import { access, constants, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { error, type Diagnostic } from '../../resources/diagnostic.js';
import { errorMessage } from '../../resources/error-message.js';
import type { GcpApi } from './api-calls.js';
import type { CallOptions, Caller, GaxCallOptions } from './call.js';
import { GcpSetupError } from './errors.js';

export const CREDENTIALS_ENV = 'GOOGLE_APPLICATION_CREDENTIALS';

const FIX =
  'run `gcloud auth application-default login` (a person), set GOOGLE_APPLICATION_CREDENTIALS=key.json ' +
  '(a service account key), or in a cluster use Workload Identity (deploy/README.md)';

/** Where the credentials come from, when found. */
export type CredentialsSource = 'env-file' | 'gcloud' | 'metadata';

export type CredentialsResult =
  { ok: true; source: CredentialsSource; detail: string } | { ok: false; diagnostic: Diagnostic };

type Env = Record<string, string | undefined>;

interface AuthLibrary {
  GoogleAuth: new (options: { keyFilename: string; scopes: string[] }) => { getClient(): Promise<unknown> };
}

interface MetadataLibrary {
  getGCPResidency(): boolean;
}

/** google-gax's own copies (the ones the SDK clients use). */
function gaxRequire(): NodeJS.Require {
  const require = createRequire(import.meta.url);
  return createRequire(require.resolve('google-gax'));
}

/** gcloud's application-default file, where `gcloud auth application-default login` writes it. */
export function wellKnownFile(env: Env): string | undefined {
  const config = env.CLOUDSDK_CONFIG ?? (env.HOME ? join(env.HOME, '.config', 'gcloud') : undefined);
  return config ? join(config, 'application_default_credentials.json') : undefined;
}

async function isReadableFile(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false;
    await access(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a metadata server answers (GCE, Cloud Run, GKE): the residency check (BIOS, no
 * network), else one short request to it.
 */
async function metadataServerAnswers(env: Env, timeoutMs: number): Promise<boolean> {
  try {
    const metadata = gaxRequire()('gcp-metadata') as MetadataLibrary;
    if (metadata.getGCPResidency()) return true;
  } catch {
    // No residency answer: ask the server.
  }
  const host = env.GCE_METADATA_HOST ?? env.GCE_METADATA_IP ?? '169.254.169.254';
  try {
    const res = await fetch(`http://${host}/computeMetadata/v1/instance`, {
      headers: { 'Metadata-Flavor': 'Google' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    return res.headers.get('metadata-flavor') === 'Google';
  } catch {
    return false;
  }
}

const missing = (message: string): CredentialsResult => ({
  ok: false,
  diagnostic: error('gcp-no-credentials', message, { hint: FIX }),
});

/** Finds the credentials the SDK clients would use, or the one diagnostic that says what to do. */
export async function findCredentials(env: Env, metadataTimeoutMs = 1500): Promise<CredentialsResult> {
  let source: CredentialsSource;
  let detail: string;
  const fromEnv = env[CREDENTIALS_ENV];
  const gcloud = wellKnownFile(env);
  if (fromEnv) {
    if (!(await isReadableFile(fromEnv))) {
      return missing(
        `no Google Cloud credentials found: ${CREDENTIALS_ENV}=${fromEnv} is not a readable file`,
      );
    }
    [source, detail] = ['env-file', fromEnv];
  } else if (gcloud && (await isReadableFile(gcloud))) {
    [source, detail] = ['gcloud', gcloud];
  } else if (await metadataServerAnswers(env, metadataTimeoutMs)) {
    [source, detail] = ['metadata', 'the metadata server'];
  } else {
    return missing(
      `no Google Cloud credentials found (no ${CREDENTIALS_ENV}, no ${gcloud ?? 'gcloud application-default file'}, no metadata server)`,
    );
  }
  if (source === 'metadata') return { ok: true, source, detail };
  try {
    // The file the SDK clients will read, parsed now (the library reads process.env, not `env`).
    const { GoogleAuth } = gaxRequire()('google-auth-library') as AuthLibrary;
    await new GoogleAuth({
      keyFilename: detail,
      scopes: ['https://www.googleapis.com/auth/cloud-platform'],
    }).getClient();
  } catch (e) {
    return missing(`Google Cloud credentials from ${detail} could not be used: ${errorMessage(e)}`);
  }
  return { ok: true, source, detail };
}

/**
 * `ready()` resolves once credentials were found and throws the `GcpSetupError` otherwise. Calls
 * in flight together share one look-up; a found source is kept, a failure is looked up again by
 * the next call (the controller outlives a key mounted late).
 */
export function credentialsGate(env: Env): () => Promise<void> {
  let found: Promise<CredentialsResult> | undefined;
  return async () => {
    const pending = (found ??= findCredentials(env));
    const result = await pending;
    if (result.ok) return;
    if (found === pending) found = undefined;
    throw new GcpSetupError(result.diagnostic);
  };
}

/** `call` that first awaits `ready` (the credentials gate): nothing is sent, nor a client built, before. */
export function gatedCaller(call: Caller, ready: () => Promise<void>): Caller {
  const gated = async <T, R = T>(
    api: GcpApi,
    rpc: string,
    fn: (opts: GaxCallOptions) => Promise<T>,
    options?: CallOptions<T, R>,
  ): Promise<R> => {
    await ready();
    return call(api, rpc, fn, options);
  };
  return Object.assign(gated, { policy: call.policy });
}
