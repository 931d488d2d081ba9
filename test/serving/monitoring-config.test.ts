/** The `monitoring` section of a serving config (issue 15): defaults, paths, every problem named. */
import { describe, expect, it } from 'vitest';
import { formatPath } from '../../resources/diagnostic.js';
import { normalizeServingConfig } from '../../serving/config.js';
import { matchRoute } from '../../serving/routes.js';

const versions = [{ uri: 'a' }];

describe('monitoring config', () => {
  it('fills defaults; a relative root resolves next to the config, gs:// stays', () => {
    const { config } = normalizeServingConfig(
      { versions, monitoring: { root: 'mon', endpoint: 'mpg-api' } },
      '/base',
    );
    expect(config?.monitoring).toEqual({
      root: '/base/mon',
      endpoint: 'mpg-api',
      sampleRate: 0.1,
      windowSeconds: 3600,
      retentionSeconds: 604800,
      bufferRecords: 10000,
      flushRecords: 1000,
      flushSeconds: 10,
    });
    const gcs = normalizeServingConfig({
      versions,
      monitoring: { root: 'gs://b/s/monitoring/e', endpoint: 'e' },
    });
    expect(gcs.config?.monitoring?.root).toBe('gs://b/s/monitoring/e');
    expect(normalizeServingConfig({ versions }).config?.monitoring).toBeUndefined();
  });

  it('names every bad field at once', () => {
    const { diagnostics } = normalizeServingConfig({
      versions,
      monitoring: {
        endpoint: '../x',
        sampleRate: 2,
        windowSeconds: 5,
        instance: 'A_B',
        flushSeconds: 0,
        extra: 1,
      },
    });
    expect(diagnostics.map((d) => formatPath(d.path ?? []))).toEqual([
      'monitoring.extra',
      'monitoring.root',
      'monitoring.endpoint',
      'monitoring.sampleRate',
      'monitoring.instance',
      'monitoring.windowSeconds',
      'monitoring.flushSeconds',
    ]);
  });

  it('routes POST /v1/models/{m}:feedback, and only that way', () => {
    expect(matchRoute('POST', '/v1/models/mpg:feedback')).toEqual({ kind: 'feedback', model: 'mpg' });
    expect(() => matchRoute('GET', '/v1/models/mpg:feedback')).toThrow(/use POST/);
    expect(() => matchRoute('POST', '/v1/models/mpg/versions/2:feedback')).toThrow(
      /request ids, not versions/,
    );
  });
});
