/**
 * The pieces behind points 6 and 9: recognising credentials (warnings, masking), redacting free
 * text (logs, errors, /api/status), and the gcp mappings of secret references, checked against
 * the Vertex AI and Cloud Run protos.
 */
import { describe, expect, it } from 'vitest';
import { gitAuthEnv, gitCredentials, splitRepoUrl } from '../../controller/loop/git-credentials.js';
import { cloudRunEnv, secretId, vertexEnv } from '../../providers/gcp/secrets.js';
import { credentialKind, maskCredentials, redactCredentials } from '../../resources/credential.js';
import { checkEnv } from '../../resources/secret-ref.js';
import { checkMessage } from '../fakes/gcp/proto.js';

describe('credentialKind', () => {
  it.each([
    ['ghp_Zq8rT3xY7wPm2LkN5vB9cD4fG6hJ1aS0eR2u', 'a well-known token format'],
    ['github_pat_11ABCDEFG0123456789_abcdefghijklmnop', 'a well-known token format'],
    ['glpat-abcdefghij0123456789', 'a well-known token format'],
    ['xoxb-123456789012-abcdefghij', 'a well-known token format'],
    ['sk-proj-abcdefghijklmnop1234', 'a well-known token format'],
    ['AKIAIOSFODNN7EXAMPLE', 'a well-known token format'],
    ['AIzaSyA1234567890abcdefghijklmnopqrstuv', 'a well-known token format'],
    ['ya29.a0AfH6SMBabcdefghijk', 'a well-known token format'],
    ['hf_abcdefghijklmnopqrstuvwxyz', 'a well-known token format'],
    ['-----BEGIN RSA PRIVATE KEY-----\nMIIE...', 'a private key'],
    ['https://bob:hunter2@db.example.com/x', 'a URL with credentials'],
    ['Bearer abcdefgh12345678', 'an authorization header'],
    ['q8Zr3TxY7wPm2LkN5vB9cD4fG6hJ1aS0', 'a long random-looking string'],
  ])('%s is %s', (value, kind) => {
    expect(credentialKind(value)).toBe(kind);
  });

  it.each([
    'fast',
    'https://example.com/data.csv',
    '/usr/local/lib/python3.11/site-packages',
    '3f786850e387550fdab836ed7e6dc881de23001b', // a commit: hex is not judged random
    '123e4567-e89b-12d3-a456-426614174000',
    'gs://bucket/prefix/model',
    'The quick brown fox jumps over the lazy dog',
    'INFO',
    'task-regression-long-name-here',
  ])('%s is not a credential', (value) => {
    expect(credentialKind(value)).toBeUndefined();
  });
});

describe('redactCredentials', () => {
  it('redacts userinfo, tokens, authorization values and keys, and keeps the rest of the message', () => {
    expect(
      redactCredentials(
        "fatal: unable to access 'https://user:s3cr3t@github.com/acme/ml.git/': The requested URL returned error: 403",
      ),
    ).toBe(
      "fatal: unable to access 'https://***@github.com/acme/ml.git/': The requested URL returned error: 403",
    );
    expect(redactCredentials('Authorization: Basic dXNlcjpzM2NyM3Q= rejected')).toBe(
      'Authorization: Basic *** rejected',
    );
    expect(
      redactCredentials('token ghp_Zq8rT3xY7wPm2LkN5vB9cD4fG6hJ1aS0eR2u expired at commit 3f786850e3'),
    ).toBe('token *** expired at commit 3f786850e3');
  });

  it('masks whole values in display data, keeping keys and harmless strings', () => {
    expect(
      maskCredentials({
        env: { A: 'fast', B: 'AKIAIOSFODNN7EXAMPLE' },
        hash: '3f786850e387550fdab836ed7e6dc881de23001b',
      }),
    ).toEqual({ env: { A: 'fast', B: '***' }, hash: '3f786850e387550fdab836ed7e6dc881de23001b' });
  });

  it('warns per literal, naming the variable and never the value', () => {
    const d = checkEnv(
      { OK: 'fast', KEY: 'AKIAIOSFODNN7EXAMPLE', REF: { secretRef: { name: 'a', key: 'b' } } },
      ['spec', 'env'],
    );
    expect(d).toHaveLength(1);
    expect(d[0]?.path).toEqual(['spec', 'env', 'KEY']);
    // The variable references travel in is mlform's: a literal could point the trainer anywhere.
    expect(checkEnv({ MLFORM_SECRET_REFS: '{}' }, ['env']).map((x) => [x.severity, x.code])).toEqual([
      ['error', 'env-reserved'],
    ]);
    expect(JSON.stringify(d)).not.toContain('AKIAIOSFODNN7EXAMPLE');
  });
});

describe('git credentials', () => {
  it('splits userinfo off https URLs, keeps ssh login names', () => {
    expect(splitRepoUrl('https://user:tok%40en@host:8443/x.git')).toEqual({
      url: 'https://host:8443/x.git',
      userinfo: { username: 'user', password: 'tok@en' },
    });
    expect(splitRepoUrl('ssh://git@host/x.git')).toEqual({ url: 'ssh://git@host/x.git' });
    expect(splitRepoUrl('git@github.com:acme/ml.git')).toEqual({ url: 'git@github.com:acme/ml.git' });
  });

  it('prefers the token file, then the environment, then the URL; the header is scoped to the origin', async () => {
    const fromEnv = await gitCredentials({ repo: 'https://a:b@host/x.git', env: { MLFORM_GIT_TOKEN: 't1' } });
    expect(fromEnv.repo).toBe('https://host/x.git');
    expect(fromEnv.auth).toEqual({ username: 'x-access-token', token: 't1' });
    expect(fromEnv.warnings).toHaveLength(1);
    const ssh = await gitCredentials({ repo: 'git@github.com:acme/ml.git', env: { MLFORM_GIT_TOKEN: 't1' } });
    expect(ssh.auth).toBeUndefined();
    expect(ssh.warnings[0]).toContain('http(s) repositories only');
    const missing = await gitCredentials({
      repo: 'https://host/x.git',
      tokenFile: '/nonexistent/token',
      env: {},
    });
    expect(missing.diagnostics[0]?.code).toBe('git-token');
    const env = gitAuthEnv(
      'https://host:8443/x.git',
      { username: 'u', token: 'p' },
      { GIT_CONFIG_COUNT: '2' },
    );
    expect(env).toEqual({
      GIT_CONFIG_COUNT: '3',
      GIT_CONFIG_KEY_2: 'http.https://host:8443/.extraHeader',
      GIT_CONFIG_VALUE_2: `Authorization: Basic ${Buffer.from('u:p').toString('base64')}`,
    });
  });
});

describe('gcp mappings of secret references', () => {
  const env = {
    MODE: 'fast',
    HF_TOKEN: { secretRef: { name: 'huggingface', key: 'token' } },
    DB: { secretRef: { name: 'db', key: 'password', version: '3' } },
  };

  it('Vertex: literals as env, references in MLFORM_SECRET_REFS (a valid ContainerSpec)', () => {
    const vars = vertexEnv(env, 'p1');
    expect(vars).toEqual([
      { name: 'MODE', value: 'fast' },
      {
        name: 'MLFORM_SECRET_REFS',
        value: JSON.stringify({
          DB: 'projects/p1/secrets/db_password/versions/3',
          HF_TOKEN: 'projects/p1/secrets/huggingface_token/versions/latest',
        }),
      },
    ]);
    checkMessage('aiplatform', 'google.cloud.aiplatform.v1.ContainerSpec', { imageUri: 'i', env: vars }, '', {
      strict: true,
    });
  });

  it('Cloud Run: native secret environment variables (a valid Container)', () => {
    const vars = cloudRunEnv(env, 'p1');
    expect(vars[1]).toEqual({
      name: 'HF_TOKEN',
      valueSource: { secretKeyRef: { secret: 'projects/p1/secrets/huggingface_token', version: 'latest' } },
    });
    checkMessage('run', 'google.cloud.run.v2.Container', { image: 'i', env: vars }, '', { strict: true });
    expect(secretId({ name: 'db', key: 'password' })).toBe('db_password');
  });
});

describe('redaction stays linear on hostile text', () => {
  it('handles 200 kB of scheme-like and token-like noise in well under a second', () => {
    const noise = [
      'a.'.repeat(50_000),
      'x://'.repeat(10_000),
      'ghp_'.repeat(10_000),
      'Bearer '.repeat(5_000),
    ].join(' ');
    const started = performance.now();
    redactCredentials(noise);
    credentialKind(noise);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
