/**
 * The model server's monitoring writing to Cloud Storage (issue 15): log batches, window
 * summaries and feedback as objects under the stack's monitoring prefix of the fake bucket
 * (test/fakes/gcp), read back by listing; retention deletes them by the age in their names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Storage } from '@google-cloud/storage';
import { pino } from 'pino';
import { gcsStore, type ObjectStore } from '../../../artifact/storage.js';
import { normalizeServingConfig } from '../../../serving/config.js';
import { ServingMonitor } from '../../../serving/monitoring.js';
import { ServingMetrics } from '../../../serving/serving-metrics.js';
import { fakeStorageOptions, startFakeGcp, type FakeGcp } from '../../fakes/gcp/index.js';

const ROOT = 'gs://mlform-test/state/demo/monitoring/mpg-api';
let fake: FakeGcp;
let store: ObjectStore;

beforeAll(async () => {
  fake = await startFakeGcp();
  store = gcsStore({ client: new Storage(fakeStorageOptions(fake)) });
});
afterAll(async () => {
  await fake?.close();
});

describe('monitoring into a bucket', () => {
  it('writes the log, the window summary and the feedback as objects; retention deletes them', async () => {
    const { config } = normalizeServingConfig({
      versions: [{ uri: 'gs://mlform-test/state/demo/runs/mpg/1' }],
      monitoring: { root: ROOT, endpoint: 'mpg-api', sampleRate: 1, retentionSeconds: 86400 },
    });
    let now = Date.parse('2026-12-05T10:15:00Z');
    const monitor = new ServingMonitor({
      config: config!.monitoring!,
      model: 'mpg',
      metrics: new ServingMetrics('mpg', { processMetrics: false }),
      log: pino({ level: 'silent' }),
      store,
      now: () => now,
      env: { K_REVISION: 'mpg-api-v1' },
    });
    await monitor.addVersion(1, '/nonexistent-artifact', 100);
    monitor.observe(1, [{ Horsepower: 90 }], [21.5], 'req-1');
    monitor.observe(1, [{ Horsepower: 150 }, { Horsepower: null }], [18, 30], 'req-2');
    expect(monitor.feedback({ feedback: [{ id: 'req-2', index: 1, truth: 28 }] })).toMatchObject({
      matched: 1,
    });
    await monitor.runTick(true);

    const names = (await store.list(ROOT)).map((u) => u.slice(ROOT.length + 1));
    const instance = monitor.instance;
    expect(instance).toMatch(/^mpg-api-v1-[0-9a-f]{8}$/);
    expect(names.sort()).toEqual(
      [
        `feedback/2026-12-05/10/101500.000-${instance}-0.jsonl`,
        `logs/2026-12-05/10/101500.000-${instance}-0.jsonl`,
        `windows/20261205T100000Z/v1-${instance}.json`,
      ].sort(),
    );
    const log = (await store.read(`${ROOT}/logs/2026-12-05/10/101500.000-${instance}-0.jsonl`)).toString();
    expect(
      log
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { id: string }).id),
    ).toEqual(['req-1', 'req-2']);
    const summary = JSON.parse(
      (await store.read(`${ROOT}/windows/20261205T100000Z/v1-${instance}.json`)).toString(),
    ) as { count: number; quality: { count: number; sumAbsError: number } };
    expect(summary).toMatchObject({ count: 3, quality: { count: 1, sumAbsError: 2 } });

    // A day and a half later with a day's retention, all three are expired.
    now += 36 * 3_600_000;
    expect(await monitor.sweep()).toBe(3);
    expect(await store.list(ROOT)).toEqual([]);
  });
});
