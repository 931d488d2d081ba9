/**
 * Where a `file://` URI of a manifest points, read exactly as the trainer reads it
 * (`artifact/storage.ts` `toLocalPath`): `file:///abs` is absolute, `file://rel` is relative to the
 * manifest's folder. Undefined for `gs://` and other remote URIs.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function fileUriPath(uri: string, baseDir: string): string | undefined {
  if (uri.startsWith('file:///')) {
    try {
      return fileURLToPath(uri);
    } catch {
      // Not a valid file URL (e.g. a %2F in it): the trainer could not open it either; still a path.
      return resolve(uri.slice('file://'.length));
    }
  }
  if (uri.startsWith('file://')) return resolve(baseDir, uri.slice('file://'.length));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) return undefined;
  return resolve(baseDir, uri);
}
