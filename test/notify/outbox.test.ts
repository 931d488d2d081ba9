import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../controller/notify/events.js';
import { pendingLine } from '../../controller/notify/for-project.js';
import { BACKOFF, backoffMs, Outbox } from '../../controller/notify/outbox.js';
import { localStateStore } from '../../providers/local/state-store.js';
import type { NotificationSink } from '../../resources/monitoring.js';
import { Notifier } from '../../controller/notify/notifier.js';
import type { ObservedState, ProviderContext } from '../../providers/provider.js';

const sink = (name: string, events?: NotificationSink['events']): NotificationSink => ({
  name,
  type: 'webhook',
  url: { secretRef: { name: 'h', key: 'u' } },
  ...(events && { events }),
});
const event = (n: number) =>
  makeEvent('demo', new Date(), {
    type: 'run.failed',
    resource: `TrainingRun/x#${n}`,
    identity: String(n),
    summary: 'failed',
  });

async function setup() {
  const root = await mkdtemp(join(tmpdir(), 'mlform-outbox-'));
  let clock = Date.parse('2026-12-05T08:00:00Z');
  const store = localStateStore(() => root);
  const providerCtx = { stack: 'demo', projectDir: root };
  const outbox = new Outbox(store, providerCtx, () => new Date(clock));
  return {
    outbox,
    project: { provider: { stateStore: store }, providerCtx },
    tick: (ms: number) => (clock += ms),
  };
}

describe('outbox', () => {
  it('writes an event once per id, only for subscribed sinks, keeping attempts of an item already there', async () => {
    const { outbox } = await setup();
    expect(await outbox.enqueue([event(1)], [sink('a', ['run.started'])])).toEqual([]);
    expect(await outbox.enqueue([event(1)], [sink('a'), sink('b', ['run.failed'])])).toHaveLength(1);
    await outbox.drain(
      async () => {
        throw new Error('sink a: the receiver answered HTTP 500');
      },
      new Set(['a', 'b']),
    );
    expect(await outbox.enqueue([event(1)], [sink('a')])).toEqual([]);
    const [item] = (await outbox.items()).items;
    expect(Object.keys(item.deliveries)).toEqual(['a', 'b']);
    expect(item.deliveries.a.attempts).toBe(1);
  });

  it('delivers each sink apart, backs off exponentially and gives up after the last attempt', async () => {
    const { outbox, project, tick } = await setup();
    await outbox.enqueue([event(1)], [sink('good'), sink('bad')]);
    const sent: string[] = [];
    const deliver = async (name: string) => {
      if (name === 'bad') throw new Error('sink bad: cannot connect (ECONNREFUSED)');
      sent.push(name);
    };
    const first = await outbox.drain(deliver, new Set(['good', 'bad']));
    expect(sent).toEqual(['good']);
    expect(first.pending).toBe(1);
    expect(await pendingLine(project)).toBe(
      'Notifications: 1 delivery pending in the outbox (1 failing; last: sink bad: cannot connect (ECONNREFUSED)); the next apply or the controller sends them.',
    );
    expect([1, 2, 3, 10, 11].map(backoffMs)).toEqual([2_000, 4_000, 8_000, 900_000, 900_000]);
    let outcome;
    for (let attempt = 2; attempt <= BACKOFF.attempts; attempt++) {
      tick(backoffMs(attempt - 1));
      outcome = await outbox.drain(deliver, new Set(['good', 'bad']));
      expect(outcome.outcomes).toHaveLength(1);
    }
    expect(outcome?.outcomes[0]).toMatchObject({ ok: false, gaveUp: true });
    expect(sent).toEqual(['good']);
    expect((await outbox.items()).items).toEqual([]);
    expect(await pendingLine(project)).toBeUndefined();
  });

  it('drops deliveries to a sink removed from mlform.yaml and reports unreadable items', async () => {
    const { outbox, project } = await setup();
    await outbox.enqueue([event(1)], [sink('gone')]);
    await project.provider.stateStore.write(
      project.providerCtx,
      'notifications/outbox/bad.json',
      '{"not":"an item"}',
    );
    const result = await outbox.drain(async () => {}, new Set(['other']));
    expect(result.outcomes).toMatchObject([{ sink: 'gone', ok: false, gaveUp: true }]);
    expect(result.unreadable).toEqual(['notifications/outbox/bad.json']);
  });
});

describe('Notifier.record', () => {
  it('writes the events to the outbox before it moves the snapshot, and nothing when the state is unchanged', async () => {
    const root = await mkdtemp(join(tmpdir(), 'mlform-record-'));
    const inner = localStateStore(() => root);
    const writes: string[] = [];
    const store = {
      ...inner,
      write: async (ctx: ProviderContext, key: string, data: string) => {
        writes.push(key);
        await inner.write(ctx, key, data);
      },
    };
    const notifier = new Notifier({
      provider: { stateStore: store },
      ctx: { stack: 'demo', projectDir: root },
      sinks: [sink('ops')],
      secrets: { provider: 'local', env: {} },
      operator: { policy: { allowPrivate: false, allowHosts: [] } },
    });
    const empty: ObservedState = { runs: [], models: [], endpoints: [], schedules: [] };
    await notifier.baseline(async () => empty);
    expect(writes).toEqual(['notifications/snapshot.json']);
    const running: ObservedState = {
      ...empty,
      runs: [
        { name: 'x', number: 1, specHash: 'h', state: 'running', attempt: 1, createdAt: '', annotations: {} },
      ],
    };
    const events = await notifier.record(running);
    expect(writes.slice(1)).toEqual([
      `notifications/outbox/${events[0].id}.json`,
      'notifications/snapshot.json',
    ]);
    await notifier.record(running);
    await notifier.baseline(async () => empty);
    expect(writes).toHaveLength(3);
  });
});
