/**
 * Notifications on gcp against test/fakes/gcp: sink secrets from Secret Manager (`<name>_<key>`),
 * the outbox in the stack's bucket prefix, delivered signed to a local HTTPS receiver.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Notifier } from '../../controller/notify/notifier.js';
import { harness, type Harness } from '../providers/gcp/helpers.js';
import { startReceiver, type Receiver } from './receiver.js';

let h: Harness;
let receiver: Receiver;
beforeAll(async () => {
  [h, receiver] = await Promise.all([harness(), startReceiver()]);
});
afterAll(async () => {
  await Promise.all([h.close(), receiver.close()]);
});

describe('notifications on gcp', () => {
  it('resolves the sink from Secret Manager and keeps the outbox in the bucket', async () => {
    h.fake.seed.secret('demo-proj', 'hook_url', receiver.url('/gcp'));
    h.fake.seed.secret('demo-proj', 'hook_signing', 'gcp-signing-key');
    const notifier = new Notifier({
      provider: { stateStore: h.provider.stateStore! },
      ctx: h.ctx,
      sinks: [
        {
          name: 'ops',
          type: 'webhook',
          url: { secretRef: { name: 'hook', key: 'url' } },
          signingKey: { secretRef: { name: 'hook', key: 'signing' } },
        },
      ],
      secrets: { provider: 'gcp', project: 'demo-proj', env: { MLFORM_GCP_API_ENDPOINT: h.fake.url } },
      operator: { policy: { allowPrivate: true, allowHosts: [] }, ca: [receiver.cert], timeoutMs: 2000 },
    });
    const event = await notifier.emit({
      type: 'rollout.done',
      resource: 'DeployedEndpoint/mpg',
      identity: 'x',
      summary: 'DeployedEndpoint/mpg serves v2 100%',
    });
    const outboxObjects = h.fake.objects('mlform-test').map((o) => o.name);
    expect(outboxObjects).toContain(`state/demo/store/notifications/outbox/${event.id}.json`);
    const drained = await notifier.drain();
    expect(drained.outcomes.map((o) => [o.ok, o.error])).toEqual([[true, undefined]]);
    const [got] = receiver.received;
    const timestamp = String(got.headers['x-mlform-timestamp']);
    expect(got.headers['x-mlform-signature']).toBe(
      `sha256=${createHmac('sha256', 'gcp-signing-key').update(`${timestamp}.${got.body}`).digest('hex')}`,
    );
    expect(h.fake.objects('mlform-test').map((o) => o.name)).not.toContain(
      `state/demo/store/notifications/outbox/${event.id}.json`,
    );
  });
});
