/**
 * Child environments are an allow-list (issue 18, item 11d): what train and serve need passes,
 * anything else (the controller's secrets, an operator's unrelated exports) stays behind; the
 * provider's own extras are added and the redirecting variables dropped.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { childEnv, resolveSettings } from '../../../providers/local/settings.js';

const saved = { ...process.env };
afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
  Object.assign(process.env, saved);
});

describe('childEnv', () => {
  it('keeps the allow-listed variables and families, drops the rest', () => {
    Object.assign(process.env, {
      GOOGLE_APPLICATION_CREDENTIALS: '/etc/sa.json',
      CLOUDSDK_CORE_PROJECT: 'p',
      TF_CPP_MIN_LOG_LEVEL: '2',
      CUDA_VISIBLE_DEVICES: '0',
      LC_ALL: 'C.UTF-8',
      MLFORM_BACKEND: 'wasm',
      MLFORM_WEBHOOK_SECRET: 'w',
      MLFORM_GIT_TOKEN: 't',
      MLFORM_SERVER_TOKEN: 's',
      MLFORM_SECRET_HUGGINGFACE_TOKEN: 'h',
      AWS_SECRET_ACCESS_KEY: 'a',
      GITHUB_TOKEN: 'g',
      PORT: '1',
    });
    const env = childEnv(resolveSettings({ env: { EXTRA: 'x', PORT: '2' } }), ['PORT']);
    for (const kept of [
      'PATH',
      'GOOGLE_APPLICATION_CREDENTIALS',
      'CLOUDSDK_CORE_PROJECT',
      'TF_CPP_MIN_LOG_LEVEL',
      'CUDA_VISIBLE_DEVICES',
      'LC_ALL',
      'MLFORM_BACKEND',
    ]) {
      expect(env[kept], kept).toBe(process.env[kept]);
    }
    expect(env.EXTRA).toBe('x');
    for (const dropped of [
      'MLFORM_WEBHOOK_SECRET',
      'MLFORM_GIT_TOKEN',
      'MLFORM_SERVER_TOKEN',
      'MLFORM_SECRET_HUGGINGFACE_TOKEN',
      'AWS_SECRET_ACCESS_KEY',
      'GITHUB_TOKEN',
      'PORT',
    ]) {
      expect(dropped in env, dropped).toBe(false);
    }
  });
});
