/**
 * The controller's API token file (`--auth-token-file`): what is refused, and that the comparison
 * neither accepts near misses nor quotes the token back.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearerMatches, loadAuthToken } from '../../controller/loop/auth-token.js';

let dir: string;
const TOKEN = '0123456789abcdef0123456789abcdef';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-token-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

async function file(name: string, text: string, mode = 0o600): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  await chmod(path, mode);
  return path;
}

describe('loadAuthToken', () => {
  it('reads a trimmed token from a private or group-readable file', async () => {
    expect(await loadAuthToken(await file('ok', `  ${TOKEN}\n`))).toEqual({ token: TOKEN, diagnostics: [] });
    expect((await loadAuthToken(await file('group', TOKEN, 0o440))).token).toBe(TOKEN);
  });

  it('refuses world-readable, world-writable, empty, short, multi-word and missing files without quoting them', async () => {
    const cases: [string, Promise<string>, string][] = [
      ['auth-token-permissions', file('readable', TOKEN, 0o644), 'read by every user'],
      ['auth-token-permissions', file('writable', TOKEN, 0o602), 'written by every user'],
      ['auth-token-empty', file('empty', ' \n'), 'is empty'],
      ['auth-token-short', file('short', 'abc123'), 'at least 16'],
      ['auth-token-format', file('words', `${TOKEN} ${TOKEN}`), 'printable ASCII'],
      ['auth-token-unreadable', Promise.resolve(join(dir, 'nope')), 'ENOENT'],
      ['auth-token-file', Promise.resolve(dir), 'not a regular file'],
    ];
    for (const [code, path, says] of cases) {
      const result = await loadAuthToken(await path);
      expect(result.token, code).toBeUndefined();
      expect(result.diagnostics[0].code).toBe(code);
      expect(result.diagnostics[0].message).toContain(says);
      expect(JSON.stringify(result.diagnostics)).not.toContain(TOKEN);
    }
  });

  it('skips the mode check on Windows, where ACLs decide', async () => {
    expect((await loadAuthToken(await file('win', TOKEN, 0o644), 'win32')).token).toBe(TOKEN);
  });
});

describe('bearerMatches', () => {
  it('accepts exactly `Bearer <token>`', () => {
    expect(bearerMatches(TOKEN, `Bearer ${TOKEN}`)).toBe(true);
    expect(bearerMatches(TOKEN, `bearer ${TOKEN}`)).toBe(true);
    for (const header of [
      undefined,
      '',
      TOKEN,
      `Basic ${TOKEN}`,
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(1)}`,
      'Bearer ',
      `Bearer ${TOKEN} extra`,
    ]) {
      expect(bearerMatches(TOKEN, header), String(header)).toBe(false);
    }
  });
});
