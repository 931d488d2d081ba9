/**
 * Sealed records (state-dir.ts): what is written reads back; a record without a checksum (written
 * before checksums) still reads; a torn, truncated or edited one is a `local-corrupt-record`
 * diagnostic with the path and the repair, never a half-read value.
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Type } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureStateRoot,
  readRecord,
  writeJsonAtomic,
  writeTextAtomic,
} from '../../../providers/local/state-dir.js';

const Schema = Type.Object({ formatVersion: Type.Literal(1), name: Type.String(), n: Type.Number() });
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-records-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

describe('sealed records', () => {
  it('read back what was written, without the checksum member', async () => {
    const path = join(dir, 'a', 'record.json');
    await writeJsonAtomic(path, { formatVersion: 1, name: 'a', n: 1.5 });
    const text = await readFile(path, 'utf8');
    expect(text).toMatch(/"checksum": "sha256:[0-9a-f]{64}"/);
    expect(await readRecord(path, Schema, 'X/a')).toEqual({
      status: 'ok',
      value: { formatVersion: 1, name: 'a', n: 1.5 },
    });
    // Spreading a read record into a new one and writing it re-seals it.
    const read = await readRecord(path, Schema, 'X/a');
    if (read.status !== 'ok') throw new Error('unreadable');
    await writeJsonAtomic(path, { ...read.value, n: 2 });
    expect(await readRecord(path, Schema, 'X/a')).toMatchObject({ status: 'ok', value: { n: 2 } });
  });

  it('still read a record written before checksums', async () => {
    const path = join(dir, 'legacy.json');
    await writeFile(path, JSON.stringify({ formatVersion: 1, name: 'old', n: 3 }));
    expect(await readRecord(path, Schema, 'X/old')).toMatchObject({ status: 'ok', value: { name: 'old' } });
  });

  it('detect a truncated or an edited record', async () => {
    const path = join(dir, 'b', 'record.json');
    await writeJsonAtomic(path, { formatVersion: 1, name: 'b', n: 7 });
    const whole = await readFile(path, 'utf8');

    await writeFile(path, whole.slice(0, whole.length - 20));
    const torn = await readRecord(path, Schema, 'X/b');
    expect(torn.status).toBe('corrupt');

    await writeFile(path, whole.replace('"n": 7', '"n": 8'));
    const edited = await readRecord(path, Schema, 'X/b');
    if (edited.status !== 'corrupt') throw new Error('an edited record was accepted');
    expect(edited.diagnostic.code).toBe('local-corrupt-record');
    expect(edited.diagnostic.message).toContain('checksum does not match');
    expect(edited.diagnostic.file).toBe(path);
    expect(edited.diagnostic.hint).toContain(`delete the folder ${join(dir, 'b')}`);
  });

  it('write files that may hold secrets with mode 0600', async () => {
    const path = join(dir, 'spec.json');
    await writeTextAtomic(path, '{}', 0o600);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('give a state directory they create a .gitignore of *, and leave an existing one alone', async () => {
    const fresh = join(dir, 'fresh', 'state');
    await ensureStateRoot(fresh);
    expect(await readFile(join(fresh, '.gitignore'), 'utf8')).toMatch(/^\*$/m);
    const existing = join(dir, 'existing');
    await mkdir(existing);
    await ensureStateRoot(existing);
    await expect(stat(join(existing, '.gitignore'))).rejects.toThrow();
  });
});
