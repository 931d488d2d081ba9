/**
 * The bearer token that guards the controller's API (`--auth-token-file`). It is operator input: a
 * file outside the checkout, never a flag value (argv is visible in `ps`) and never the
 * environment of a process a commit could influence. Problems come back as diagnostics, and no
 * message ever quotes the token itself.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { error, type Diagnostic } from '../../resources/diagnostic.js';

/** Shorter tokens can be guessed online; `openssl rand -hex 32` gives 64 characters. */
export const MIN_TOKEN_LENGTH = 16;

/** What a header can carry unchanged: printable ASCII without spaces (RFC 6750 b64token and more). */
const TOKEN_CHARS = /^[\x21-\x7e]+$/;

const FIX = 'e.g. openssl rand -hex 32 > token && chmod 600 token';

/**
 * Reads and checks the token file: trimmed, at least MIN_TOKEN_LENGTH printable characters, a
 * regular file that other users can neither read nor write (a world-readable token is shared with
 * every account on the host; a world-writable one lets any of them set it). Group bits are allowed:
 * Kubernetes mounts Secrets root-owned with the pod's fsGroup.
 */
export async function loadAuthToken(
  file: string,
  platform: NodeJS.Platform = process.platform,
): Promise<{ token?: string; diagnostics: Diagnostic[] }> {
  const fail = (code: string, message: string, hint = FIX) => ({
    diagnostics: [error(code, message, { hint })],
  });
  let text: string;
  try {
    const info = await stat(file);
    if (!info.isFile()) return fail('auth-token-file', `the auth token file ${file} is not a regular file`);
    // POSIX modes mean nothing on Windows, where ACLs decide.
    if (platform !== 'win32' && (info.mode & 0o006) !== 0) {
      return fail(
        'auth-token-permissions',
        `the auth token file ${file} can be ${info.mode & 0o002 ? 'written' : 'read'} by every user (mode ${(info.mode & 0o777).toString(8).padStart(3, '0')})`,
        `chmod o-rwx ${file}`,
      );
    }
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(
      'auth-token-unreadable',
      `cannot read the auth token file ${file}${code ? ` (${code})` : ''}`,
      'give a readable file with --auth-token-file',
    );
  }
  const token = text.trim();
  if (token === '') return fail('auth-token-empty', `the auth token file ${file} is empty`);
  if (!TOKEN_CHARS.test(token)) {
    return fail(
      'auth-token-format',
      `the auth token in ${file} must be one line of printable ASCII without spaces`,
    );
  }
  if (token.length < MIN_TOKEN_LENGTH) {
    return fail(
      'auth-token-short',
      `the auth token in ${file} has ${token.length} characters; at least ${MIN_TOKEN_LENGTH} are required`,
    );
  }
  return { token, diagnostics: [] };
}

/**
 * Checks `Authorization: Bearer <token>` in constant time: both sides are hashed first, so neither
 * the content nor the length of the expected token shows in the timing.
 */
export function bearerMatches(expected: string, header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header[0] : header;
  const match = value === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value);
  const given = createHash('sha256')
    .update(match ? match[1] : '')
    .digest();
  const wanted = createHash('sha256').update(expected).digest();
  return timingSafeEqual(given, wanted) && match !== null;
}
