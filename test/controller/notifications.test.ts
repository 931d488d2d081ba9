/**
 * The controller's notifications on a watched directory with the real local provider: a sync that
 * turns degraded sends `sync.failed`, its recovery `sync.recovered`, both drained by the loop to a
 * local HTTPS receiver, counted in /metrics.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyncLoop } from '../../controller/loop/sync-loop.js';
import { directoryLoopOptions, failingModelPut, modelManifest, waitFor } from './helpers.js';
import { startReceiver, type Receiver } from '../notify/receiver.js';

let dir: string;
let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
  dir = await mkdtemp(join(tmpdir(), 'mlform-loop-notify-'));
  await writeFile(
    join(dir, 'mlform.yaml'),
    `stack: notifytest
provider: local
local: {stateDir: .state}
notifications:
  - name: ops
    type: webhook
    url: {secretRef: {name: hook, key: url}}
    events: [sync.failed, sync.recovered]
`,
  );
  await writeFile(join(dir, 'a.yaml'), modelManifest('alpha'));
});
afterAll(async () => {
  await receiver.close();
  await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

describe('controller notifications', () => {
  it('sends sync.failed and sync.recovered and counts them in /metrics', async () => {
    const failing = { on: false };
    const options = directoryLoopOptions(dir, failingModelPut(failing));
    const loop = new SyncLoop({
      ...options,
      backoff: { baseMs: 200, maxMs: 400 },
      notify: {
        operator: { policy: { allowPrivate: true, allowHosts: [] }, ca: [receiver.cert], timeoutMs: 2000 },
        env: { MLFORM_SECRET_HOOK_URL: receiver.url('/ctl') },
        everyMs: 100,
      },
    });
    loop.start();
    try {
      await waitFor(
        'a first sync',
        async () => loop.status().controller.lastSync?.result === 'succeeded',
        10_000,
        20,
      );
      failing.on = true;
      await writeFile(join(dir, 'a.yaml'), modelManifest('alpha', 'changed'));
      await receiver.waitFor((all) => all.length >= 1, 10_000);
      failing.on = false;
      await receiver.waitFor((all) => all.length >= 2, 10_000);
      const events = receiver.received.map((r) => JSON.parse(r.body) as { type: string; summary: string });
      expect(events.map((e) => e.type)).toEqual(['sync.failed', 'sync.recovered']);
      expect(events[0].summary).toContain('RegisteredModel/alpha');
      await waitFor(
        'the metrics',
        async () =>
          (await options.metrics.registry.metrics()).includes(
            'mlform_notifications_delivered_total{sink="ops"} 2',
          ),
        5_000,
        20,
      );
      expect(await options.metrics.registry.metrics()).toContain('mlform_notifications_pending 0');
    } finally {
      await loop.stop();
    }
  });
});
