/**
 * The files the loader read from inside the tree, and the only files code frames may quote. A
 * diagnostic names a file; a renderer that opened that name again would follow whatever it is now
 * (a link to `/etc/...` that the loader refused) and print its first line. So renderers read
 * through here: a file the loader never read has no code frame.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { MAX_MANIFEST_BYTES } from './source-file.js';

/** Absolute path as loaded -> its realpath at that time. Oldest first, for eviction. */
const loaded = new Map<string, string>();
/** A long-running controller loads many commits; the newest files are the ones it renders. */
const MAX_REMEMBERED = 20_000;

export function rememberLoadedFile(path: string, real: string): void {
  const key = resolve(path);
  loaded.delete(key);
  loaded.set(key, real);
  if (loaded.size > MAX_REMEMBERED) loaded.delete(loaded.keys().next().value as string);
}

/**
 * The text of a file the loader read (by its displayed or absolute path), read again from the
 * realpath it had then; undefined for any other file, a non-regular file or one over the size cap.
 */
export function readLoadedFile(file: string): string | undefined {
  const real = loaded.get(resolve(file));
  if (real === undefined) return undefined;
  let fd: number | undefined;
  try {
    fd = openSync(real, 'r');
    const info = fstatSync(fd);
    if (!info.isFile() || info.size > MAX_MANIFEST_BYTES) return undefined;
    const buffer = Buffer.alloc(info.size);
    let read = 0;
    while (read < info.size) {
      const n = readSync(fd, buffer, read, info.size - read, read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read).toString('utf8');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
