/**
 * The secret resolvers (trainer/secrets.ts): locally from the operator's secrets folder or
 * environment, on Vertex AI from Secret Manager (the fake, through the real client).
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MAX_SECRET_BYTES,
  resolveLocalEnv,
  resolveSecretRefsAtStart,
  resolveSecretRefsEnv,
  secretEnvName,
} from '../../trainer/secrets.js';
import { startFakeGcp, type FakeGcp } from '../fakes/gcp/index.js';

describe('local secret resolution', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mlform-secrets-'));
    await mkdir(join(dir, 'huggingface'));
    await writeFile(join(dir, 'huggingface', 'token'), 'hf-from-file\n');
    // A Kubernetes Secret volume: keys are symlinks into ..data/.
    await mkdir(join(dir, 'db', '..data'), { recursive: true });
    await writeFile(join(dir, 'db', '..data', 'password'), 'pw-from-volume');
    await symlink('..data/password', join(dir, 'db', 'password'));
    await mkdir(join(dir, 'big'));
    await writeFile(join(dir, 'big', 'blob'), Buffer.alloc(MAX_SECRET_BYTES + 1, 65));
  });
  afterAll(() => rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 }));

  it('names the environment variable after the reference', () => {
    expect(secretEnvName({ name: 'hugging-face', key: 'api_token' })).toBe(
      'MLFORM_SECRET_HUGGING_FACE_API_TOKEN',
    );
  });

  it('reads the folder first (one trailing newline dropped, volume symlinks followed), then the environment', async () => {
    const resolved = await resolveLocalEnv(
      {
        MODE: 'fast',
        HF_TOKEN: { secretRef: { name: 'huggingface', key: 'token' } },
        DB_PASSWORD: { secretRef: { name: 'db', key: 'password' } },
        SLACK: { secretRef: { name: 'slack', key: 'webhook' } },
      },
      {
        secretsDir: dir,
        env: { MLFORM_SECRET_SLACK_WEBHOOK: 'slack-from-env', MLFORM_SECRET_HUGGINGFACE_TOKEN: 'loses' },
      },
    );
    expect(resolved.diagnostics).toEqual([]);
    expect(resolved.env).toEqual({
      MODE: 'fast',
      HF_TOKEN: 'hf-from-file',
      DB_PASSWORD: 'pw-from-volume',
      SLACK: 'slack-from-env',
    });
  });

  it('takes the folder from MLFORM_SECRETS_DIR', async () => {
    const resolved = await resolveLocalEnv(
      { T: { secretRef: { name: 'huggingface', key: 'token' } } },
      { env: { MLFORM_SECRETS_DIR: dir } },
    );
    expect(resolved.env).toEqual({ T: 'hf-from-file' });
  });

  it('refuses a secrets folder inside the manifest tree (a commit could write it)', async () => {
    const resolved = await resolveLocalEnv(
      { T: { secretRef: { name: 'huggingface', key: 'token' } } },
      { secretsDir: dir, env: {}, treeRoot: join(dir, '..') },
    );
    expect(resolved.env).toBeUndefined();
    expect(resolved.diagnostics[0]?.code).toBe('secrets-dir-in-tree');
  });

  it('reports every missing secret with where it looked, and no env at all', async () => {
    const resolved = await resolveLocalEnv(
      {
        A: { secretRef: { name: 'nope', key: 'x' } },
        B: { secretRef: { name: 'big', key: 'blob' } },
        C: 'literal',
      },
      { secretsDir: dir, env: {} },
      ['spec', 'trainer', 'container', 'env'],
    );
    expect(resolved.env).toBeUndefined();
    expect(resolved.diagnostics.map((d) => [d.code, d.path])).toEqual([
      ['secret-not-found', ['spec', 'trainer', 'container', 'env', 'A']],
      ['secret-too-large', ['spec', 'trainer', 'container', 'env', 'B']],
    ]);
    expect(resolved.diagnostics[0]?.message).toBe(
      `secretRef(nope/x) is not set (looked in ${join(dir, 'nope', 'x')}, $MLFORM_SECRET_NOPE_X)`,
    );
  });
});

describe('MLFORM_SECRET_REFS on Vertex AI', () => {
  let fake: FakeGcp;
  beforeAll(async () => {
    fake = await startFakeGcp();
    fake.seed.secret('p1', 'huggingface_token', 'old-value', 'hf-secret-value');
  });
  afterAll(() => fake.close());

  it('resolves references through Secret Manager before the trainer starts, and removes the variable', async () => {
    const env: Record<string, string | undefined> = {
      MLFORM_GCP_API_ENDPOINT: fake.url,
      MLFORM_SECRET_REFS: JSON.stringify({
        HF_TOKEN: 'projects/p1/secrets/huggingface_token/versions/latest',
        HF_OLD: 'projects/p1/secrets/huggingface_token/versions/1',
      }),
    };
    await resolveSecretRefsAtStart(env);
    expect(env.HF_TOKEN).toBe('hf-secret-value');
    expect(env.HF_OLD).toBe('old-value');
    expect(env.MLFORM_SECRET_REFS).toBeUndefined();
    expect(fake.count({ api: 'secretmanager', rpc: 'AccessSecretVersion' })).toBe(2);
  });

  it('fails before anything runs on a missing secret or a malformed document, naming no value', async () => {
    const access = () => Promise.reject(new Error('404 NOT_FOUND'));
    await expect(
      resolveSecretRefsEnv(
        { MLFORM_SECRET_REFS: JSON.stringify({ X: 'projects/p1/secrets/gone/versions/latest' }) },
        access,
      ),
    ).rejects.toThrow('cannot read secret projects/p1/secrets/gone/versions/latest for X: 404 NOT_FOUND');
    await expect(
      resolveSecretRefsEnv({ MLFORM_SECRET_REFS: '{"X": "/etc/passwd"}' }, access),
    ).rejects.toThrow('X must map to "projects/P/secrets/S/versions/V"');
    await expect(resolveSecretRefsEnv({}, access)).resolves.toEqual({});
  });
});
