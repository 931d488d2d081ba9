/** The serving config: defaults, every problem at once with its field path, file reading, routes. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatPath } from '../../resources/diagnostic.js';
import {
  mergeRawConfig,
  normalizeServingConfig,
  readServingConfig,
  versionFromUri,
} from '../../serving/config.js';
import { matchRoute } from '../../serving/routes.js';
import { tempDir } from './temp-dir.js';

const problems = (raw: unknown): string[] =>
  normalizeServingConfig(raw, '/base').diagnostics.map((d) => `${formatPath(d.path ?? [])}: ${d.message}`);

describe('normalizeServingConfig', () => {
  it('fills defaults; one version without percent takes all traffic', () => {
    const { config, diagnostics } = normalizeServingConfig({ versions: [{ uri: 'a' }] }, '/base');
    expect(diagnostics).toEqual([]);
    expect(config).toEqual({
      name: 'default',
      versions: [{ version: 1, uri: '/base/a', percent: 100 }],
      batching: { enabled: true, maxBatchSize: 64, batchTimeoutMicros: 0 },
      limits: {
        maxBodyBytes: 10 * 1024 * 1024,
        maxInstances: 1000,
        missingFeatures: 'explicit',
        requestTimeoutSeconds: 300,
        headersTimeoutSeconds: 10,
        receiveTimeoutSeconds: 60,
        keepAliveTimeoutSeconds: 5,
        maxConnections: 1024,
      },
      logging: { level: 'info', requests: true },
      drainTimeoutSeconds: 8,
    });
  });

  it('gives the latest version all traffic when no percent is set, and keeps gs:// URIs', () => {
    const { config } = normalizeServingConfig({
      versions: [
        { version: 4, uri: 'gs://b/m/4' },
        { version: 9, uri: 'file:///models/9' },
      ],
    });
    expect(config?.versions).toEqual([
      { version: 4, uri: 'gs://b/m/4', percent: 0 },
      { version: 9, uri: '/models/9', percent: 100 },
    ]);
  });

  it('reports every problem at once with field paths', () => {
    expect(
      problems({
        name: 'no spaces',
        versions: [
          { version: 1, uri: 'a', percent: 60 },
          { version: 1, uri: '', percent: 60, weight: 3 },
        ],
        batching: { enabled: 'yes', maxBatchSize: 0, batchTimeoutMicro: 5 },
        limits: { missingFeatures: 'ignore' },
        logging: { level: 'loud' },
        extra: true,
      }),
    ).toEqual([
      'extra: unknown field "extra"',
      'name: expected a model name of letters, digits, ".", "_" and "-" (at most 63), got "no spaces"',
      'versions[1].weight: unknown field "weight"',
      'versions[1].version: version 1 is listed twice',
      'versions[1].uri: required: the artifact directory (a path, file:// or gs:// URI)',
      'batching.batchTimeoutMicro: unknown field "batchTimeoutMicro"',
      'batching.enabled: expected true or false, got "yes"',
      'batching.maxBatchSize: expected an integer from 1 to 65536, got 0',
      'limits.missingFeatures: expected one of explicit, fill, error, got "ignore"',
      'logging.level: expected one of fatal, error, warn, info, debug, trace, silent, got "loud"',
    ]);
  });

  it('checks traffic percents', () => {
    expect(
      problems({
        versions: [
          { uri: 'a', percent: 50 },
          { uri: 'b', percent: 40 },
        ],
      }),
    ).toEqual(['versions: traffic percents must sum to 100, they sum to 90']);
    expect(problems({ versions: [{ uri: 'a', percent: 100 }, { uri: 'b' }] })).toEqual([
      'versions[1].percent: set percent on every version or on none',
    ]);
    expect(problems({ versions: [] })).toEqual([
      'versions: expected a non-empty array of versions, got an empty array',
    ]);
    expect(problems([])).toEqual([': a serving config is a JSON object, got an array']);
  });

  it('reads a file: relative URIs next to it, flags merged over file fields', async () => {
    const dir = await tempDir();
    try {
      const file = join(dir.path, 'endpoint.json');
      await writeFile(
        file,
        JSON.stringify({ name: 'mpg', versions: [{ version: 2, uri: 'v2' }], batching: { maxBatchSize: 8 } }),
      );
      const { config } = await readServingConfig(file, { batching: { enabled: false }, name: undefined });
      expect(config?.versions[0].uri).toBe(join(dir.path, 'v2'));
      expect(config?.batching).toEqual({ enabled: false, maxBatchSize: 8, batchTimeoutMicros: 0 });
      expect(config?.name).toBe('mpg');
      await writeFile(file, '{ nope');
      const broken = await readServingConfig(file);
      expect(broken.diagnostics[0].message).toContain('is not JSON');
      expect(broken.diagnostics[0].file).toBe(file);
    } finally {
      await dir.remove();
    }
  });

  it('merges sections field by field', () => {
    expect(
      mergeRawConfig({ limits: { maxInstances: 5, maxBodyBytes: 2048 } }, { limits: { maxInstances: 7 } }),
    ).toEqual({
      limits: { maxInstances: 7, maxBodyBytes: 2048 },
    });
  });

  it('numbers a lone artifact from its directory name', () => {
    expect(versionFromUri('/models/mpg/versions/3')).toBe(3);
    expect(versionFromUri('gs://b/mpg/v12/')).toBe(12);
    expect(versionFromUri('/tmp/artifact')).toBe(1);
    expect(versionFromUri('/tmp/0')).toBe(1);
  });
});

describe('matchRoute', () => {
  it('matches TF Serving and Open Inference Protocol routes', () => {
    expect(matchRoute('POST', '/v1/models/mpg:predict')).toEqual({ kind: 'predict', model: 'mpg' });
    expect(matchRoute('POST', '/v1/models/mpg/versions/2:predict')).toEqual({
      kind: 'predict',
      model: 'mpg',
      version: '2',
    });
    expect(matchRoute('GET', '/v1/models/mpg')).toEqual({ kind: 'status', model: 'mpg' });
    expect(matchRoute('GET', '/v1/models/mpg/')).toEqual({ kind: 'status', model: 'mpg' });
    expect(matchRoute('GET', '/v1/models/mpg/versions/2')).toEqual({
      kind: 'status',
      model: 'mpg',
      version: '2',
    });
    expect(matchRoute('GET', '/v1/models/mpg/metadata')).toEqual({ kind: 'metadata', model: 'mpg' });
    expect(matchRoute('GET', '/v1/models/mpg/versions/2/metadata')).toEqual({
      kind: 'metadata',
      model: 'mpg',
      version: '2',
    });
    expect(matchRoute('HEAD', '/v2/health/ready')).toEqual({ kind: 'ready' });
    expect(matchRoute('GET', '/v2/models/mpg/ready')).toEqual({ kind: 'model-ready', model: 'mpg' });
    expect(matchRoute('GET', '/v2/models/mpg/versions/1/ready')).toEqual({
      kind: 'model-ready',
      model: 'mpg',
      version: '1',
    });
    expect(matchRoute('POST', '/v1/models/m%C3%B6del:predict')).toEqual({ kind: 'predict', model: 'mödel' });
  });

  it('refuses what it does not serve', () => {
    expect(() => matchRoute('GET', '/v1/models/mpg/versions')).toThrow('no route');
    expect(() => matchRoute('POST', '/v1/models/mpg/metadata:predict')).toThrow('no route');
    expect(() => matchRoute('DELETE', '/v1/models/mpg')).toThrow('DELETE is not allowed');
    expect(() => matchRoute('POST', '/v1/models/mpg:explain')).toThrow('no route');
  });
});
