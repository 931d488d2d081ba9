/**
 * Which files a Parquet `data.uri` means: one file, or a folder of part files (a URI ending in `/`,
 * or `format: parquet` on a folder): every `*.parquet` directly inside it, in name order. Names
 * starting with `_` or `.` are skipped (`_SUCCESS`, `_metadata`, `.crc` files of Spark and Hive
 * writers), and so are subfolders: partitioned layouts (`year=2024/`) are not read.
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isInside } from '../../manifests/tree-root.js';
import { isGcsUri, storeFor, toLocalPath } from '../../artifact/storage.js';

/** A part's URI (what is read) and its name inside the folder (what messages show). */
export interface PartFile {
  uri: string;
  name: string;
}

const isPartName = (name: string): boolean =>
  name.toLowerCase().endsWith('.parquet') && !name.startsWith('_') && !name.startsWith('.');

const byName = (a: PartFile, b: PartFile): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/**
 * The part files of a Parquet URI, or a message saying why there are none. A local folder's parts
 * must resolve inside the folder itself: a symlinked part pointing elsewhere would read a file the
 * data-location check (which looked at the folder) never saw.
 */
export async function parquetParts(uri: string, baseDir: string): Promise<PartFile[] | string> {
  if (isGcsUri(uri)) return gcsParts(uri);
  const path = toLocalPath(uri, baseDir);
  let isFolder: boolean;
  try {
    isFolder = (await stat(path)).isDirectory();
  } catch {
    return `file not found (looked for ${path})`;
  }
  if (!isFolder) {
    if (uri.endsWith('/')) return `is a file, not a folder (${path})`;
    return [{ uri: path, name: path.slice(path.lastIndexOf('/') + 1) }];
  }
  const folder = await realpath(path);
  const parts: PartFile[] = [];
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    if (!isPartName(entry.name) || entry.isDirectory()) continue;
    const real = await realpath(join(folder, entry.name));
    if (!isInside(real, folder) || !(await stat(real)).isFile()) {
      return `part file ${entry.name} resolves to ${real}, outside the folder ${folder}; copy the file into the folder instead of linking it`;
    }
    parts.push({ uri: real, name: entry.name });
  }
  if (parts.length === 0) return `the folder ${path} holds no *.parquet files`;
  return parts.sort(byName);
}

async function gcsParts(uri: string): Promise<PartFile[] | string> {
  const prefix = uri.endsWith('/') ? uri : `${uri}/`;
  const store = storeFor(uri);
  if (!uri.endsWith('/') && uri.toLowerCase().endsWith('.parquet'))
    return [{ uri, name: uri.slice(uri.lastIndexOf('/') + 1) }];
  const parts = (await store.list(prefix))
    .map((object) => ({ uri: object, name: object.slice(prefix.length) }))
    // Direct children only: a further "/" is a subfolder.
    .filter((part) => !part.name.includes('/') && isPartName(part.name));
  if (parts.length > 0) return parts.sort(byName);
  // `format: parquet` on an object whose name lacks the extension: a single file.
  if (!uri.endsWith('/') && (await store.exists(uri)))
    return [{ uri, name: uri.slice(uri.lastIndexOf('/') + 1) }];
  return `no *.parquet objects under ${prefix}`;
}
