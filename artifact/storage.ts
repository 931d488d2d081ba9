/**
 * One interface for `file://` (or plain paths) and `gs://` URIs, used for training data, model
 * artifacts and checkpoints. `@google-cloud/storage` is loaded lazily so local runs never touch it.
 */
import { mkdir, open, readFile, readdir, rm, stat, writeFile, rename } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Storage as GcsStorage } from '@google-cloud/storage';

export interface ObjectStore {
  read(uri: string): Promise<Buffer>;
  /**
   * Size in bytes without reading the object, so that a loader refuses an oversized file before
   * it allocates for it. Optional: a store without it is read, then measured (readBounded).
   */
  size?(uri: string): Promise<number>;
  /** Writes atomically where the backend allows it (local: temp file + rename). */
  write(uri: string, data: Uint8Array | string): Promise<void>;
  exists(uri: string): Promise<boolean>;
  /** URIs of the objects under a prefix (recursive). */
  list(prefixUri: string): Promise<string[]>;
  remove(uri: string): Promise<void>;
}

/**
 * The folders a launched trainer may read local data from, as a JSON array of absolute paths. Set
 * by whoever launches it (the local provider: the project's tree root and the operator's
 * `--allow-data-root` folders); `[]` allows no local data at all. See trainer/data/README.md.
 */
export const DATA_ROOTS_ENV = 'MLFORM_DATA_ROOTS';
/** Folder of the prepared-data cache (trainer/data/prepared-cache.ts); unset: no cache. */
export const DATA_CACHE_ENV = 'MLFORM_DATA_CACHE';

/**
 * Modes of everything mlform writes locally (state, logs, artifacts, checkpoints, TensorBoard
 * files): private to the user running it. Artifacts hold raw category values (preprocess.json)
 * and records hold specs, so other users of the machine get nothing; plan files were 0600 already.
 */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

export const isGcsUri = (uri: string): boolean => uri.startsWith('gs://');

/** Joins URI segments with '/', for both local paths and gs:// URIs. */
export function joinUri(base: string, ...parts: string[]): string {
  if (isGcsUri(base)) return [base.replace(/\/+$/, ''), ...parts].join('/');
  return join(toLocalPath(base), ...parts);
}

/** `file:///abs`, `file://rel` (relative to baseDir) or a plain path -> absolute local path. */
export function toLocalPath(uri: string, baseDir: string = process.cwd()): string {
  if (uri.startsWith('file:///')) return fileURLToPath(uri);
  if (uri.startsWith('file://')) return resolve(baseDir, uri.slice('file://'.length));
  return resolve(baseDir, uri);
}

export const toFileUri = (path: string): string => pathToFileURL(path).href;

export function parseGcsUri(uri: string): { bucket: string; name: string } {
  const match = /^gs:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!match) throw new Error(`not a gs:// URI: ${uri}`);
  return { bucket: match[1], name: match[2] };
}

/** A file or object larger than its reader allows (artifact-limits.ts, model-io.ts). */
export class TooLargeError extends Error {
  override name = 'TooLargeError';
}

const READ_CHUNK = 4 * 2 ** 20;

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 3 : 1)} MiB`;

/**
 * Reads an object only if it holds at most `maxBytes`: the size is checked before anything is
 * read where the store can tell it, and the bytes are counted again after (a file that grew, a
 * store without `size`). An artifact is untrusted input: a loader must not allocate whatever a
 * file's length or content asks for.
 */
export async function readBounded(uri: string, maxBytes: number, what = uri): Promise<Buffer> {
  const store = storeFor(uri);
  const tooLarge = (size: number) =>
    new TooLargeError(`${what} is ${mib(size)}, over the limit of ${mib(maxBytes)}`);
  if (store.size) {
    const size = await store.size(uri);
    if (size > maxBytes) throw tooLarge(size);
  }
  if (store === localStore) {
    // At most maxBytes + 1 bytes are ever read, whatever the file has become since the stat.
    const handle = await open(toLocalPath(uri), 'r');
    try {
      const chunks: Buffer[] = [];
      let length = 0;
      for (;;) {
        const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, maxBytes + 1 - length));
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
        if (bytesRead === 0) break;
        chunks.push(chunk.subarray(0, bytesRead));
        length += bytesRead;
        if (length > maxBytes) throw tooLarge(length);
      }
      return Buffer.concat(chunks, length);
    } finally {
      await handle.close();
    }
  }
  const bytes = await store.read(uri);
  if (bytes.length > maxBytes) throw tooLarge(bytes.length);
  return bytes;
}

export const localStore: ObjectStore = {
  read: (uri) => readFile(toLocalPath(uri)),
  size: async (uri) => (await stat(toLocalPath(uri))).size,
  async write(uri, data) {
    const path = toLocalPath(uri);
    await mkdir(dirname(path), { recursive: true, mode: PRIVATE_DIR_MODE });
    const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(temp, data, { mode: PRIVATE_FILE_MODE });
    await rename(temp, path);
  },
  async exists(uri) {
    try {
      await stat(toLocalPath(uri));
      return true;
    } catch {
      return false;
    }
  },
  async list(prefixUri) {
    const root = toLocalPath(prefixUri);
    const out: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else out.push(full);
      }
    };
    await walk(root);
    return out.sort();
  },
  remove: (uri) => rm(toLocalPath(uri), { recursive: true, force: true }),
};

export interface GcsStoreOptions {
  /** A configured client (tests pass one pointed at test/fakes/gcp). */
  client?: GcsStorage;
}

export function gcsStore(options: GcsStoreOptions = {}): ObjectStore {
  let client: GcsStorage | undefined = options.client;
  const get = async (): Promise<GcsStorage> => {
    if (!client) {
      const { Storage } = await import('@google-cloud/storage');
      client = new Storage();
    }
    return client;
  };
  const file = async (uri: string) => {
    const { bucket, name } = parseGcsUri(uri);
    return (await get()).bucket(bucket).file(name);
  };
  return {
    async read(uri) {
      const [data] = await (await file(uri)).download();
      return data;
    },
    async size(uri) {
      const [metadata] = await (await file(uri)).getMetadata();
      return Number(metadata.size ?? 0);
    },
    async write(uri, data) {
      await (await file(uri)).save(typeof data === 'string' ? data : Buffer.from(data), { resumable: false });
    },
    async exists(uri) {
      const [exists] = await (await file(uri)).exists();
      return exists;
    },
    async list(prefixUri) {
      const { bucket, name } = parseGcsUri(prefixUri);
      const prefix = name && !name.endsWith('/') ? `${name}/` : name;
      const [files] = await (await get()).bucket(bucket).getFiles({ prefix, autoPaginate: true });
      return files.map((f) => `gs://${bucket}/${f.name}`).sort();
    },
    async remove(uri) {
      const { bucket, name } = parseGcsUri(uri);
      const prefix = name.endsWith('/') ? name : `${name}/`;
      const b = (await get()).bucket(bucket);
      await b.deleteFiles({ prefix, force: true });
      await b
        .file(name)
        .delete({ ignoreNotFound: true })
        .catch(() => undefined);
    },
  };
}

let defaultGcs: ObjectStore | undefined;

/** The store for a URI: gs:// goes to Cloud Storage, everything else is local. */
export function storeFor(uri: string): ObjectStore {
  if (isGcsUri(uri)) return (defaultGcs ??= gcsStore());
  return localStore;
}

/** Lets tests and the gcp provider point gs:// at a configured client. */
export function setDefaultGcsStore(store: ObjectStore | undefined): void {
  defaultGcs = store;
}
