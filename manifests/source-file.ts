/** Reading a manifest file safely: size limit, binary and encoding checks, each a diagnostic. */
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { error, type Diagnostic } from '../resources/diagnostic.js';

/** Kubernetes caps an object at ~1.5 MB; a manifest file over 4 MiB is a mistake (data, not config). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export type SourceText = { ok: true; text: string } | { ok: false; diagnostic: Diagnostic };

export async function readManifestFile(file: string, displayName: string): Promise<SourceText> {
  return Promise.resolve(readManifestFileSync(file, displayName));
}

/**
 * Synchronous: a load reads hundreds of small files, and one open, fstat, read and close on the
 * calling thread each cost far less than four trips through the thread pool (which competes with
 * the parsing for the same cores). A file named explicitly may be a pipe: it is read to its end.
 */
function readManifestFileSync(file: string, displayName: string): SourceText {
  const unreadable = (e: unknown) =>
    fail(
      displayName,
      'file-unreadable',
      `cannot read ${displayName}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
    );
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    return unreadable(e);
  }
  try {
    // One open, one fstat, one read: the size check costs no extra system call.
    const { size } = fstatSync(fd);
    if (size > MAX_MANIFEST_BYTES) {
      return fail(
        displayName,
        'file-too-large',
        `${displayName} is ${(size / 1024 / 1024).toFixed(1)} MiB; manifest files are limited to ${MAX_MANIFEST_BYTES / 1024 / 1024} MiB`,
        'keep data out of manifests (reference it with data.uri) or split the file',
      );
    }
    return decodeManifestBytes(readFileSync(fd), displayName);
  } catch (e) {
    return unreadable(e);
  } finally {
    closeSync(fd);
  }
}

export function decodeManifestBytes(bytes: Uint8Array, displayName: string): SourceText {
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    const { line, col } = positionOfByte(bytes, nul);
    return fail(
      displayName,
      'binary-file',
      `${displayName} looks binary (NUL byte at offset ${nul}), not YAML`,
      'remove it from the manifest tree or rename it',
      line,
      col,
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    const offset = firstInvalidUtf8(bytes);
    const { line, col } = positionOfByte(bytes, offset);
    return fail(
      displayName,
      'invalid-utf8',
      `${displayName} is not valid UTF-8 (byte 0x${bytes[offset].toString(16).padStart(2, '0')} at offset ${offset})`,
      'save the file as UTF-8',
      line,
      col,
    );
  }
  return { ok: true, text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text };
}

function fail(file: string, code: string, message: string, hint?: string, line = 1, col = 1): SourceText {
  return { ok: false, diagnostic: error(code, message, { file, line, col, hint }) };
}

function positionOfByte(bytes: Uint8Array, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, col: offset - lineStart + 1 };
}

function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    const need =
      b < 0x80 ? 0 : b >= 0xc2 && b < 0xe0 ? 1 : b >= 0xe0 && b < 0xf0 ? 2 : b >= 0xf0 && b < 0xf5 ? 3 : -1;
    if (need < 0) return i;
    for (let k = 1; k <= need; k++) if (i + k >= bytes.length || (bytes[i + k] & 0xc0) !== 0x80) return i;
    i += need + 1;
  }
  return Math.max(0, bytes.length - 1);
}
