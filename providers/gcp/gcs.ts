/** Cloud Storage through the caller: JSON records, custom metadata, preconditions, paged lists. */
import type { Storage } from '@google-cloud/storage';
import { parseGcsUri, TooLargeError } from '../../artifact/storage.js';
import type { Caller } from './call.js';
import { isKind } from './call.js';

export interface GcsObject {
  uri: string;
  name: string;
  generation: string;
  updated?: string;
  metadata: Record<string, string>;
}

export interface Gcs {
  read(uri: string): Promise<Buffer>;
  /**
   * undefined when the object does not exist. With `maxBytes`, an object larger than that is
   * refused (TooLargeError) before it is downloaded: a trainer container writes what it likes.
   */
  readIfExists(
    uri: string,
    options?: { maxBytes?: number },
  ): Promise<{ data: Buffer; generation: string } | undefined>;
  write(
    uri: string,
    data: Uint8Array | string,
    options?: {
      metadata?: Record<string, string>;
      ifGenerationMatch?: number | string;
      contentType?: string;
    },
  ): Promise<{ generation: string }>;
  exists(uri: string): Promise<boolean>;
  remove(uri: string, options?: { ifGenerationMatch?: number | string }): Promise<void>;
  /** Every object under a prefix with its custom metadata: one paged list. */
  list(prefixUri: string): Promise<GcsObject[]>;
}

type MetadataShape = {
  name?: string;
  generation?: string | number;
  updated?: string;
  metadata?: Record<string, string | number | boolean | null>;
};

const toStrings = (m: MetadataShape['metadata']): Record<string, string> =>
  Object.fromEntries(
    Object.entries(m ?? {}).flatMap(([k, v]) => (v === null || v === undefined ? [] : [[k, String(v)]])),
  );

export function createGcs(storageOf: () => Storage, call: Caller): Gcs {
  const file = (uri: string) => {
    const storage = storageOf();
    const { bucket, name } = parseGcsUri(uri);
    return storage.bucket(bucket).file(name);
  };
  return {
    async read(uri) {
      const [data] = await call('storage', 'objects.get', () => file(uri).download());
      return data;
    },
    async readIfExists(uri, options = {}) {
      try {
        // Metadata first, then that very generation: the data and its generation belong together.
        const [metadata] = await call('storage', 'objects.get', () => file(uri).getMetadata());
        const generation = String((metadata as MetadataShape).generation ?? '');
        const size = Number((metadata as { size?: string | number }).size ?? 0);
        if (options.maxBytes !== undefined && size > options.maxBytes) {
          throw new TooLargeError(`${uri} is ${size} bytes, over the limit of ${options.maxBytes}`);
        }
        const { bucket, name } = parseGcsUri(uri);
        const pinned = storageOf()
          .bucket(bucket)
          .file(name, generation ? { generation: Number(generation) } : {});
        const [data] = await call('storage', 'objects.get', () => pinned.download());
        return { data, generation };
      } catch (e) {
        if (isKind(e, 'not-found')) return undefined;
        throw e;
      }
    },
    async write(uri, data, options = {}) {
      const f = file(uri);
      await call('storage', 'objects.insert', () =>
        f.save(typeof data === 'string' ? data : Buffer.from(data), {
          resumable: false,
          contentType: options.contentType ?? 'application/json',
          ...(options.metadata && { metadata: { metadata: options.metadata } }),
          ...(options.ifGenerationMatch !== undefined && {
            preconditionOpts: { ifGenerationMatch: options.ifGenerationMatch },
          }),
        }),
      );
      return { generation: String((f.metadata as MetadataShape).generation ?? '') };
    },
    async exists(uri) {
      const [exists] = await call('storage', 'objects.get', () => file(uri).exists());
      return exists;
    },
    async remove(uri, options = {}) {
      try {
        await call('storage', 'objects.delete', () =>
          file(uri).delete(
            options.ifGenerationMatch !== undefined ? { ifGenerationMatch: options.ifGenerationMatch } : {},
          ),
        );
      } catch (e) {
        if (!isKind(e, 'not-found')) throw e;
      }
    },
    async list(prefixUri) {
      const { bucket, name: prefix } = parseGcsUri(prefixUri);
      const out: GcsObject[] = [];
      let pageToken: string | undefined;
      do {
        const [files, next] = await call('storage', 'objects.list', () =>
          // The client is built inside the call: after the credentials check (credentials.ts).
          storageOf()
            .bucket(bucket)
            .getFiles({ prefix, autoPaginate: false, maxResults: 1000, ...(pageToken && { pageToken }) }),
        );
        for (const f of files) {
          const m = f.metadata as MetadataShape;
          out.push({
            uri: `gs://${bucket}/${f.name}`,
            name: f.name,
            generation: String(m.generation ?? ''),
            ...(m.updated !== undefined && { updated: m.updated }),
            metadata: toStrings(m.metadata),
          });
        }
        pageToken = (next as { pageToken?: string } | null)?.pageToken;
      } while (pageToken);
      return out;
    },
  };
}
