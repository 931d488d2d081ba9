/**
 * The Slack sink: a Slack incoming webhook through `@slack/webhook`, whose HTTP goes through
 * `postPinned` (its `fetch` option): the checked address, no redirects, a timeout, a bounded
 * answer. The message is readable on its own: the summary in bold, what and where in a context
 * line, the detail (the command that shows the resource).
 */
import { IncomingWebhook, type FetchFunction, type IncomingWebhookSendArguments } from '@slack/webhook';
import type { NotificationEvent } from '../events.js';
import type { CheckedDestination } from '../destination.js';
import { DeliveryError, postPinned, type PostOptions } from '../https-post.js';

const EMOJI: Partial<Record<NotificationEvent['type'], string>> = {
  'run.failed': ':x:',
  'rollout.failed': ':x:',
  'sync.failed': ':x:',
  'gate.rejected': ':no_entry:',
  'drift.detected': ':warning:',
  'quality.degraded': ':warning:',
  'schedule.missed': ':warning:',
  'run.succeeded': ':white_check_mark:',
  'rollout.done': ':rocket:',
};

/** Slack's mrkdwn treats `&`, `<` and `>` as markup: names from a commit must not become links. */
const escapeMrkdwn = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function slackMessage(event: NotificationEvent): IncomingWebhookSendArguments {
  const emoji = EMOJI[event.type] ?? ':information_source:';
  const summary = escapeMrkdwn(event.summary);
  return {
    text: `${event.type}: ${summary}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${emoji} *${summary}*` } },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `\`${event.type}\` · ${escapeMrkdwn(event.resource)} · stack \`${escapeMrkdwn(event.stack)}\` · ${event.time}`,
          },
        ],
      },
      ...(event.detail !== ''
        ? [{ type: 'section' as const, text: { type: 'mrkdwn' as const, text: escapeMrkdwn(event.detail) } }]
        : []),
    ],
  };
}

export async function sendSlack(
  sink: string,
  to: CheckedDestination,
  event: NotificationEvent,
  options: Pick<PostOptions, 'timeoutMs' | 'ca'>,
): Promise<void> {
  // The client's own fetch would resolve the host again and follow nothing we checked.
  const fetch: FetchFunction = async (_url, init) => {
    const result = await postPinned(sink, to, {
      headers: init?.headers ?? {},
      body: typeof init?.body === 'string' ? init.body : '',
      ...options,
    });
    return new Response(result.body, { status: result.status });
  };
  const webhook = new IncomingWebhook(to.url.href, { fetch, retryConfig: { retries: 0 } });
  try {
    await webhook.send(slackMessage(event));
  } catch (e) {
    if (e instanceof DeliveryError) throw e;
    if (e instanceof Error && e.cause instanceof DeliveryError) throw e.cause;
    const status = (e as { statusCode?: unknown }).statusCode;
    // The client's messages name no URL, but its body echo could: only the status is kept.
    throw new DeliveryError(
      `sink ${sink}: Slack answered ${typeof status === 'number' ? `HTTP ${status}` : 'with an error'}`,
    );
  }
}
