import { hostname } from 'node:os';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createDirectorySource } from '../../controller/loop/directory-source.js';
import { resolveLoopOptions, type SyncLoopOptions } from '../../controller/loop/loop-options.js';
import { createControllerMetrics } from '../../controller/loop/metrics.js';

const given = (): SyncLoopOptions => ({
  source: createDirectorySource({ dir: '.' }),
  openProject: async () => ({ diagnostics: [] }),
  log: pino({ level: 'silent' }),
  metrics: createControllerMetrics({ defaultMetrics: false }),
  version: 'test',
  resyncMs: 180_000,
  leaseTtlMs: 15_000,
  selfHeal: true,
  prune: false,
});

describe('resolveLoopOptions', () => {
  it('fills every default once: requeue 5 s, lock retry 2 s, parallelism 10, backoff 5 s to 5 min, host/pid', () => {
    const settings = resolveLoopOptions(given());
    expect(settings).toMatchObject({
      pollMs: undefined,
      resyncMs: 180_000,
      progressMs: 5_000,
      lockRetryMs: 2_000,
      parallelism: 10,
      backoff: { baseMs: 5_000, maxMs: 300_000 },
      identity: `${hostname()}/${process.pid}`,
    });
  });

  it('keeps what the caller gave, a partial backoff included', () => {
    const settings = resolveLoopOptions({
      ...given(),
      pollMs: 30_000,
      progressMs: 100,
      lockRetryMs: 50,
      parallelism: 2,
      backoff: { maxMs: 1_000 },
      identity: 'pod-a/1',
    });
    expect(settings).toMatchObject({
      pollMs: 30_000,
      progressMs: 100,
      lockRetryMs: 50,
      parallelism: 2,
      backoff: { baseMs: 5_000, maxMs: 1_000 },
      identity: 'pod-a/1',
    });
  });
});
