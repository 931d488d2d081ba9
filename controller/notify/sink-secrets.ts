/**
 * A sink's URL and signing key are `secretRef`s, resolved where the sending process runs and only
 * when it sends — with the same resolvers as env secrets: locally the operator's secrets folder or
 * `MLFORM_SECRET_<NAME>_<KEY>` (trainer/secrets.ts), on gcp Secret Manager `<name>_<key>` with the
 * process's credentials. Values live in memory for one drain; they are never logged, printed or
 * written to the outbox, and errors name the reference, never a value.
 */
import { formatSecretRef, type SecretRef } from '../../resources/secret-ref.js';
import { errorMessage } from '../../resources/error-message.js';
import type { NotificationSink } from '../../resources/monitoring.js';
import { resolveLocalSecret, secretManagerAccess } from '../../trainer/secrets.js';
import { secretVersionName } from '../../providers/gcp/secrets.js';

export interface SinkSecrets {
  url: string;
  signingKey?: string;
}

export interface SecretSource {
  /** `local`: the operator's folder or environment; `gcp`: Secret Manager of `project`. */
  provider: 'local' | 'gcp';
  project?: string;
  env: NodeJS.ProcessEnv;
  /** The manifest tree: a secrets folder inside it is refused. */
  treeRoot?: string;
}

export type ResolveSecret = (ref: SecretRef) => Promise<string>;

/** A resolver for one drain; `close` releases the Secret Manager client if one was made. */
export function secretResolver(source: SecretSource): { resolve: ResolveSecret; close(): Promise<void> } {
  if (source.provider === 'local') {
    return {
      resolve: async (ref) => {
        const found = await resolveLocalSecret(ref, { env: source.env, treeRoot: source.treeRoot });
        if (!found.ok)
          throw new Error(
            `${found.diagnostic.message}${found.diagnostic.hint ? `; ${found.diagnostic.hint}` : ''}`,
          );
        return found.value;
      },
      close: async () => {},
    };
  }
  let manager: Promise<Awaited<ReturnType<typeof secretManagerAccess>>> | undefined;
  return {
    resolve: async (ref) => {
      manager ??= secretManagerAccess(source.env);
      try {
        return await (await manager).access(secretVersionName(source.project ?? '', ref));
      } catch (e) {
        throw new Error(
          `cannot read ${formatSecretRef(ref)} from Secret Manager: ${errorMessage(e).split('\n')[0]}`,
        );
      }
    },
    close: async () => {
      if (manager) await (await manager).close();
    },
  };
}

export async function resolveSink(sink: NotificationSink, resolve: ResolveSecret): Promise<SinkSecrets> {
  const url = (await resolve(sink.url.secretRef)).trim();
  if (sink.type === 'webhook' && sink.signingKey) {
    return { url, signingKey: await resolve(sink.signingKey.secretRef) };
  }
  return { url };
}
