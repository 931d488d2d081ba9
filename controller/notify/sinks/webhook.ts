/**
 * The generic webhook sink: the event as JSON, POSTed with
 * - `X-Mlform-Event`: the event type;
 * - `X-Mlform-Delivery`: the event id (the same on every retry: dedupe by it);
 * - `X-Mlform-Timestamp`: Unix seconds when this attempt was signed;
 * - `X-Mlform-Signature`: `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the signing key>`,
 *   when the sink has a `signingKey`. The timestamp is inside the signed content, so a receiver
 *   that refuses old timestamps cannot be fed a replayed body (README "Notifications").
 */
import { createHmac } from 'node:crypto';
import type { NotificationEvent } from '../events.js';
import { NOTIFICATION_FORMAT_VERSION } from '../events.js';
import type { CheckedDestination } from '../destination.js';
import { expectOk, postPinned, type PostOptions } from '../https-post.js';

export const SIGNATURE_HEADER = 'x-mlform-signature';

/** `sha256=<hex>` of `<timestamp>.<body>`: what a receiver recomputes to verify. */
export const signature = (key: string, timestamp: string, body: string): string =>
  `sha256=${createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex')}`;

export const webhookBody = (event: NotificationEvent): string =>
  JSON.stringify({ formatVersion: NOTIFICATION_FORMAT_VERSION, ...event });

export async function sendWebhook(
  sink: string,
  to: CheckedDestination,
  event: NotificationEvent,
  options: { signingKey?: string; now?: () => Date } & Pick<PostOptions, 'timeoutMs' | 'ca'>,
): Promise<void> {
  const body = webhookBody(event);
  const timestamp = String(Math.floor((options.now?.() ?? new Date()).getTime() / 1000));
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'mlform-notify',
    'x-mlform-event': event.type,
    'x-mlform-delivery': event.id,
    'x-mlform-timestamp': timestamp,
    ...(options.signingKey !== undefined && {
      [SIGNATURE_HEADER]: signature(options.signingKey, timestamp, body),
    }),
  };
  expectOk(sink, await postPinned(sink, to, { headers, body, timeoutMs: options.timeoutMs, ca: options.ca }));
}
