import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadWebhookSecret, signBody, verifySignature } from '../../controller/loop/webhook.js';
import { DeliveryMemory } from '../../controller/loop/delivery-memory.js';

const body = Buffer.from('{"ref":"refs/heads/main","after":"abc"}');

describe('verifySignature (GitHub X-Hub-Signature-256)', () => {
  it('accepts the HMAC-SHA256 of the raw body with the shared secret', () => {
    // Known answer computed with `printf %s BODY | openssl dgst -sha256 -hmac s3cret`.
    expect(signBody('s3cret', 'hello')).toBe(
      'sha256=e5a01537481fa0b2c697f787c7aff885412cf0760d08e08502259b39d2d6ae68',
    );
    expect(verifySignature('s3cret', body, signBody('s3cret', body))).toBe('valid');
    expect(
      verifySignature('s3cret', body, signBody('s3cret', body).toUpperCase().replace('SHA256', 'sha256')),
    ).toBe('valid');
  });

  it('rejects another secret, another body, and malformed headers', () => {
    expect(verifySignature('s3cret', body, signBody('other', body))).toBe('invalid');
    expect(verifySignature('s3cret', Buffer.from(`${body.toString()} `), signBody('s3cret', body))).toBe(
      'invalid',
    );
    expect(verifySignature('s3cret', body, 'sha1=abc')).toBe('invalid');
    expect(verifySignature('s3cret', body, 'sha256=zz')).toBe('invalid');
    expect(verifySignature('s3cret', body, `${signBody('s3cret', body)}00`)).toBe('invalid');
  });

  it('reports a missing signature as missing', () => {
    expect(verifySignature('s3cret', body, undefined)).toBe('missing');
    expect(verifySignature('s3cret', body, '')).toBe('missing');
  });
});

describe('loadWebhookSecret', () => {
  it('reads the file (trimmed), which wins over the environment', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlform-secret-'));
    try {
      const file = join(dir, 'secret');
      await writeFile(file, 'from-file\n');
      expect(await loadWebhookSecret(file, { MLFORM_WEBHOOK_SECRET: 'from-env' })).toEqual({
        secret: 'from-file',
        diagnostics: [],
      });
      await writeFile(file, '\n');
      expect((await loadWebhookSecret(file, {})).diagnostics[0]?.code).toBe('webhook-secret-empty');
      expect((await loadWebhookSecret(join(dir, 'missing'), {})).diagnostics[0]?.code).toBe(
        'webhook-secret-unreadable',
      );
    } finally {
      await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    }
  });

  it('falls back to MLFORM_WEBHOOK_SECRET; neither means disabled', async () => {
    expect((await loadWebhookSecret(undefined, { MLFORM_WEBHOOK_SECRET: ' env ' })).secret).toBe('env');
    expect(await loadWebhookSecret(undefined, {})).toEqual({ diagnostics: [] });
  });
});

describe('DeliveryMemory (replayed X-GitHub-Delivery ids)', () => {
  it('remembers ids within its age and forgets them after', () => {
    let now = 0;
    const memory = new DeliveryMemory({ maxIds: 10, maxAgeMs: 1000, now: () => now });
    memory.record('a');
    now = 999;
    expect(memory.has('a')).toBe(true);
    now = 1000;
    expect(memory.has('a')).toBe(false);
    expect(memory.size).toBe(0);
  });

  it('keeps at most maxIds, forgetting the oldest first', () => {
    let now = 0;
    const memory = new DeliveryMemory({ maxIds: 3, maxAgeMs: 60_000, now: () => now++ });
    for (const id of ['a', 'b', 'c', 'd']) memory.record(id);
    expect(memory.size).toBe(3);
    expect(memory.has('a')).toBe(false);
    expect(['b', 'c', 'd'].every((id) => memory.has(id))).toBe(true);
    // A flood of distinct ids stays bounded.
    for (let i = 0; i < 10_000; i++) memory.record(`flood-${i}`);
    expect(memory.size).toBe(3);
  });

  it('ignores ids longer than a GUID could be', () => {
    const memory = new DeliveryMemory();
    memory.record('x'.repeat(201));
    expect(memory.size).toBe(0);
  });
});
