/** Provider.stateStore on both providers, and the outbox drained over gcp in one list call. */
import { mkdtemp, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localStateStore } from '../../providers/local/state-store.js';
import type { ProviderContext, StackStateStore } from '../../providers/provider.js';
import { Outbox } from '../../controller/notify/outbox.js';
import { makeEvent } from '../../controller/notify/events.js';
import { harness, type Harness } from '../providers/gcp/helpers.js';

async function contract(store: StackStateStore, ctx: ProviderContext): Promise<void> {
  expect(await store.list(ctx, 'notifications/outbox/')).toEqual([]);
  expect(await store.read(ctx, 'notifications/snapshot.json')).toBeUndefined();
  await store.write(ctx, 'notifications/outbox/b.json', '{"b":1}');
  await store.write(ctx, 'notifications/outbox/a.json', '{"a":1}');
  await store.write(ctx, 'notifications/snapshot.json', '{}');
  await store.write(ctx, 'notifications/outbox/a.json', '{"a":2}');
  expect(await store.list(ctx, 'notifications/outbox/')).toEqual([
    'notifications/outbox/a.json',
    'notifications/outbox/b.json',
  ]);
  expect(await store.list(ctx, 'notifications/')).toHaveLength(3);
  expect((await store.read(ctx, 'notifications/outbox/a.json'))?.toString()).toBe('{"a":2}');
  await store.remove(ctx, 'notifications/outbox/a.json');
  await store.remove(ctx, 'notifications/outbox/a.json');
  expect(await store.list(ctx, 'notifications/outbox/')).toEqual(['notifications/outbox/b.json']);
  for (const bad of ['../x.json', '/etc/passwd', 'Notifications/x', 'a/../../b', 'a//b']) {
    await expect(store.write(ctx, bad, 'x')).rejects.toThrow('is not a key');
    await expect(store.read(ctx, bad)).rejects.toThrow('is not a key');
  }
}

describe('local state store', () => {
  it('keeps keys as private files under the state directory store folder', async () => {
    const root = await mkdtemp(join(tmpdir(), 'mlform-store-'));
    const ctx = { stack: 'demo', projectDir: root };
    const store = localStateStore(() => root);
    await contract(store, ctx);
    const file = join(root, 'store', 'notifications', 'outbox', 'b.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // No temp files left behind by the atomic writes.
    expect(await readdir(join(root, 'store', 'notifications', 'outbox'))).toEqual(['b.json']);
  });
});

describe('gcp state store', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
  });
  afterAll(() => h.close());

  it('keeps keys as objects under the stack prefix of the bucket', async () => {
    const store = h.provider.stateStore!;
    await contract(store, h.ctx);
    const names = h.fake.requests.filter((r) => r.rpc === 'objects.insert').map((r) => r.path);
    expect(names.length).toBeGreaterThan(0);
    expect(
      await h.provider.artifacts.read(h.ctx, 'gs://mlform-test/state/demo/store/notifications/outbox/b.json'),
    ).toEqual(Buffer.from('{"b":1}'));
  });

  it('drains the outbox with one list call', async () => {
    const outbox = new Outbox(h.provider.stateStore!, h.ctx);
    const events = [1, 2, 3].map((n) =>
      makeEvent('demo', new Date(), {
        type: 'run.started',
        resource: `TrainingRun/x#${n}`,
        identity: String(n),
        summary: 's',
      }),
    );
    await outbox.enqueue(events, [
      { name: 'ops', type: 'webhook', url: { secretRef: { name: 'h', key: 'u' } } },
    ]);
    h.fake.resetRequests();
    const sent: string[] = [];
    const result = await outbox.drain(async (_sink, e) => void sent.push(e.id), new Set(['ops']));
    expect(result.outcomes.filter((o) => o.ok)).toHaveLength(3);
    expect(sent.sort()).toEqual(events.map((e) => e.id).sort());
    expect(h.fake.count({ rpc: 'objects.list' })).toBe(1);
    expect((await outbox.items()).items).toEqual([]);
  });
});
