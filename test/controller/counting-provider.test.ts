import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countingProvider } from '../../controller/loop/counting-provider.js';
import { createLocalProvider } from '../../providers/local/index.js';

describe('countingProvider', () => {
  it('counts every verb per kind with its outcome and passes results through', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mlform-count-'));
    try {
      const counts = new Map<string, number>();
      const provider = countingProvider(createLocalProvider({ stateDir: join(dir, 'state') }), (l) => {
        const key = `${l.provider} ${l.kind} ${l.verb} ${l.outcome}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      });
      const ctx = { stack: 's', projectDir: dir };
      expect((await provider.trainingRuns.list(ctx)).items).toEqual([]);
      await provider.registeredModels.list(ctx);
      const missing = await provider.schedules.trigger(ctx, { name: 'nope' });
      expect(missing.diagnostics[0]?.code).toBe('local-schedule-not-found');
      const lock = await provider.lock(ctx, { name: 'leader', holder: 'me', ttlMs: 1000 });
      await lock.lease?.release();
      expect(Object.fromEntries(counts)).toEqual({
        'local TrainingRun list ok': 1,
        'local RegisteredModel list ok': 1,
        'local Schedule trigger error': 1,
        'local Lease lock ok': 1,
      });
      expect(provider.name).toBe('local');
    } finally {
      await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    }
  });
});
