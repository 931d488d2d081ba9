import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Notifier, type NotifyOperator } from '../../controller/notify/notifier.js';
import { checkDestination, isPrivateAddress, type LookupAll } from '../../controller/notify/destination.js';
import { localStateStore } from '../../providers/local/state-store.js';
import type { NotificationSink } from '../../resources/monitoring.js';
import { startReceiver, type Receiver } from './receiver.js';

const SIGNING_KEY = 'k3y-for-tests-0123456789';
let receiver: Receiver;
beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(() => receiver.close());
beforeEach(() => {
  receiver.received.length = 0;
  receiver.respond = (_req, res) => res.writeHead(200).end('ok');
});

const ref = (name: string, key: string) => ({ secretRef: { name, key } });
const webhook: NotificationSink = {
  name: 'ops',
  type: 'webhook',
  url: ref('hook', 'url'),
  signingKey: ref('hook', 'signing'),
};
const slack: NotificationSink = {
  name: 'team',
  type: 'slack',
  url: ref('slack', 'url'),
  events: ['run.failed', 'drift.detected'],
};

async function notifier(options: {
  sinks: NotificationSink[];
  urls: Record<string, string>;
  operator?: Partial<NotifyOperator>;
  now?: () => Date;
}): Promise<Notifier> {
  const root = await mkdtemp(join(tmpdir(), 'mlform-notify-'));
  const env: NodeJS.ProcessEnv = { MLFORM_SECRET_HOOK_SIGNING: SIGNING_KEY };
  for (const [name, url] of Object.entries(options.urls))
    env[`MLFORM_SECRET_${name.toUpperCase()}_URL`] = url;
  return new Notifier({
    provider: { stateStore: localStateStore(() => root) },
    ctx: { stack: 'demo', projectDir: root },
    sinks: options.sinks,
    secrets: { provider: 'local', env },
    operator: {
      policy: { allowPrivate: true, allowHosts: [] },
      ca: [receiver.cert],
      timeoutMs: 2000,
      ...options.operator,
    },
    ...(options.now && { now: options.now }),
  });
}

const failedRun = {
  type: 'run.failed' as const,
  resource: 'TrainingRun/mpg-mlp#2',
  identity: '2',
  summary: 'mpg-mlp#2 failed: loss is NaN <check>',
  detail: 'see `mlform logs trainingrun/mpg-mlp`',
  data: { number: 2 },
};

describe('webhook sink', () => {
  it('POSTs the event signed over timestamp and body, with the delivery id, then empties the outbox', async () => {
    const n = await notifier({ sinks: [webhook], urls: { hook: receiver.url('/hook?x=1') } });
    const event = await n.emit(failedRun);
    const result = await n.drain();
    expect(result.outcomes.map((o) => o.ok)).toEqual([true]);
    expect(result.pending).toBe(0);
    const [got] = receiver.received;
    expect(got.path).toBe('/hook?x=1');
    expect(got.headers['x-mlform-event']).toBe('run.failed');
    expect(got.headers['x-mlform-delivery']).toBe(event.id);
    const timestamp = String(got.headers['x-mlform-timestamp']);
    const expected = `sha256=${createHmac('sha256', SIGNING_KEY).update(`${timestamp}.${got.body}`).digest('hex')}`;
    const signature = String(got.headers['x-mlform-signature']);
    expect(timingSafeEqual(Buffer.from(signature), Buffer.from(expected))).toBe(true);
    expect(JSON.parse(got.body)).toMatchObject({
      formatVersion: 1,
      id: event.id,
      type: 'run.failed',
      stack: 'demo',
    });
    expect(await n.outbox.items()).toEqual({ items: [], unreadable: [] });
  });

  it('retries with backoff, keeping attempts in the outbox item, and does not follow redirects', async () => {
    let clock = Date.parse('2026-12-05T08:00:00Z');
    const n = await notifier({
      sinks: [webhook],
      urls: { hook: receiver.url() },
      now: () => new Date(clock),
    });
    receiver.respond = (_req, res) => res.writeHead(302, { location: 'https://169.254.169.254/' }).end();
    await n.emit(failedRun);
    const first = await n.drain();
    expect(first.outcomes[0]).toMatchObject({ ok: false, error: 'sink ops: the receiver answered HTTP 302' });
    expect(receiver.received).toHaveLength(1);
    const [item] = (await n.outbox.items()).items;
    expect(item.deliveries.ops).toMatchObject({ attempts: 1, nextAt: '2026-12-05T08:00:02.000Z' });
    // Not due yet: nothing sent.
    expect((await n.drain()).outcomes).toEqual([]);
    receiver.respond = (_req, res) => res.writeHead(204).end();
    clock += 2_000;
    const second = await n.drain();
    expect(second.outcomes.map((o) => o.ok)).toEqual([true]);
    expect(receiver.received.map((r) => r.headers['x-mlform-delivery'])).toEqual([
      item.event.id,
      item.event.id,
    ]);
  });
});

describe('slack sink', () => {
  it('sends a readable Block Kit message through @slack/webhook, only for subscribed events', async () => {
    const n = await notifier({ sinks: [slack], urls: { slack: receiver.url('/services/T0/B0/secret') } });
    await n.emit({ ...failedRun, type: 'run.succeeded', identity: 'x' });
    expect(await n.outbox.items()).toEqual({ items: [], unreadable: [] });
    await n.emit(failedRun);
    expect((await n.drain()).outcomes.map((o) => o.ok)).toEqual([true]);
    const [got] = receiver.received;
    expect(got.path).toBe('/services/T0/B0/secret');
    const body = JSON.parse(got.body) as {
      text: string;
      blocks: { type: string; text?: { text: string }; elements?: { text: string }[] }[];
    };
    expect(body.text).toBe('run.failed: mpg-mlp#2 failed: loss is NaN &lt;check&gt;');
    expect(body.blocks.map((b) => b.type)).toEqual(['section', 'context', 'section']);
    expect(body.blocks[0].text?.text).toBe(':x: *mpg-mlp#2 failed: loss is NaN &lt;check&gt;*');
    expect(body.blocks[1].elements?.[0].text).toContain('TrainingRun/mpg-mlp#2 · stack `demo`');
    expect(body.blocks[2].text?.text).toBe('see `mlform logs trainingrun/mpg-mlp`');
  });
});

describe('destination rules', () => {
  const strict = { allowPrivate: false, allowHosts: [] };
  const resolvesTo =
    (address: string): LookupAll =>
    async () => [{ address, family: address.includes(':') ? 6 : 4 }];

  it.each([
    ['https://127.0.0.1/hook', 'loopback, link-local or private'],
    ['https://[::1]/hook', 'loopback, link-local or private'],
    ['https://169.254.169.254/computeMetadata/v1/', 'loopback, link-local or private'],
    ['https://10.1.2.3/x', 'loopback, link-local or private'],
    ['https://[::ffff:127.0.0.1]/x', 'loopback, link-local or private'],
    ['http://hooks.slack.com/services/T0/B0/secret', 'must be https://'],
    ['https://user:pw@hooks.slack.com/x', 'user name or password'],
  ])('refuses %s, naming the sink and never the URL', async (url, why) => {
    const refusal = checkDestination('ops', url, strict, resolvesTo('203.0.113.9'));
    await expect(refusal).rejects.toThrow(why);
    await expect(refusal).rejects.toThrow(/^sink ops: /);
    const message = await refusal.catch((e: Error) => e.message);
    expect(message).not.toContain('secret');
    expect(message).not.toContain('/hook');
  });

  it('refuses a DNS name that resolves to 127.0.0.1, by the real resolver and by any', async () => {
    await expect(checkDestination('ops', 'https://localhost/hook', strict)).rejects.toThrow(
      'private address',
    );
    await expect(
      checkDestination('ops', 'https://hooks.example.test/x', strict, resolvesTo('127.0.0.1')),
    ).rejects.toThrow('sink ops: its host resolves to a loopback');
    await expect(
      checkDestination('ops', 'https://hooks.example.test/x', strict, async () => [
        { address: '203.0.113.9', family: 4 },
        { address: '192.168.1.1', family: 4 },
      ]),
    ).rejects.toThrow('192.168.1.1');
  });

  it('keeps to the operator host lists, exact or as a domain suffix', async () => {
    const policy = { allowPrivate: false, allowHosts: [['hooks.slack.com', '.example.org']] };
    const ok = resolvesTo('203.0.113.9');
    await expect(checkDestination('s', 'https://hooks.slack.com/x', policy, ok)).resolves.toMatchObject({
      address: '203.0.113.9',
    });
    await expect(checkDestination('s', 'https://a.example.org/x', policy, ok)).resolves.toBeDefined();
    await expect(checkDestination('s', 'https://evil.com/x', policy, ok)).rejects.toThrow(
      "not in the operator's allowed notification hosts",
    );
  });

  it('classifies addresses', () => {
    for (const a of [
      '127.0.0.1',
      '0.0.0.0',
      '169.254.169.254',
      '172.16.0.1',
      '192.168.0.1',
      '100.64.0.1',
      '224.0.0.1',
      '::',
      '::1',
      'fd00::1',
      'fe80::1',
      'ff02::1',
      '::ffff:7f00:1',
      '64:ff9b::a9fe:a9fe',
    ]) {
      expect([a, isPrivateAddress(a)]).toEqual([a, true]);
    }
    for (const a of ['203.0.113.9', '8.8.8.8', '2001:4860:4860::8888', '::ffff:8.8.8.8']) {
      expect([a, isPrivateAddress(a)]).toEqual([a, false]);
    }
  });

  it('connects to the checked address (no second DNS answer), verifying TLS for the host name', async () => {
    const n = await notifier({
      sinks: [webhook],
      urls: { hook: receiver.url('/pinned', 'hooks.example.test') },
      operator: { lookup: resolvesTo('127.0.0.1') },
    });
    await n.emit(failedRun);
    expect((await n.drain()).outcomes.map((o) => o.ok)).toEqual([true]);
    expect(receiver.received.map((r) => r.path)).toEqual(['/pinned']);
  });

  it('fails a receiver whose certificate is not trusted, without printing the URL', async () => {
    const n = await notifier({
      sinks: [webhook],
      urls: { hook: receiver.url('/secret-path') },
      operator: { ca: [] },
    });
    await n.emit(failedRun);
    const [outcome] = (await n.drain()).outcomes;
    expect(outcome.ok).toBe(false);
    expect(outcome.error).toMatch(/^sink ops: TLS verification failed/);
    expect(outcome.error).not.toContain('secret-path');
  });

  it('refuses a private receiver unless the operator allows it, and keeps the event for later', async () => {
    const n = await notifier({
      sinks: [webhook],
      urls: { hook: receiver.url('/secret-path') },
      operator: { policy: { allowPrivate: false, allowHosts: [] } },
    });
    await n.emit(failedRun);
    const result = await n.drain();
    expect(result.outcomes[0].error).toContain('sink ops: its host resolves to a loopback');
    expect(result.outcomes[0].error).not.toContain('secret-path');
    expect(result.pending).toBe(1);
    expect(receiver.received).toEqual([]);
  });
});
