/**
 * The outbox: every event is written to `notifications/outbox/<id>.json` in the stack's state
 * store before anything is sent (and before the snapshot moves, derive.ts), then delivered per
 * subscribed sink, retried with exponential backoff (attempts and the next time persisted in the
 * item), and removed once every sink took it. At least once: a process killed after a delivery but
 * before the item is rewritten sends it again, with the same `X-Mlform-Delivery` id, for the
 * receiver to dedupe.
 *
 * Items hold the event and sink names only — never a URL or key: those are secrets, resolved at
 * send time (secrets.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import AjvModule from 'ajv';
import type { ProviderContext, StackStateStore } from '../../providers/provider.js';
import type { NotificationSink } from '../../resources/monitoring.js';
import { toJsonSchema } from '../../resources/schema-helpers.js';
import { errorMessage } from '../../resources/error-message.js';
import { NotificationEventSchema, type NotificationEvent } from './events.js';

export const OUTBOX_PREFIX = 'notifications/outbox/';
export const outboxKey = (id: string): string => `${OUTBOX_PREFIX}${id}.json`;

/** Delays between attempts: 2 s, 4 s, 8 s ... at most 15 min; after 12 failures the sink gives up (about 1 h 40 min in all). */
export const BACKOFF = { firstMs: 2_000, maxMs: 15 * 60_000, attempts: 12 } as const;

export const backoffMs = (attempts: number): number =>
  Math.min(BACKOFF.maxMs, BACKOFF.firstMs * 2 ** Math.max(0, attempts - 1));

const DeliveryStateSchema = Type.Object({
  attempts: Type.Integer({ minimum: 0 }),
  /** Not before this instant (ISO). */
  nextAt: Type.String(),
  /** The last failure, redacted (no URL, no key). */
  lastError: Type.Optional(Type.String()),
});

export const OutboxItemSchema = Type.Object({
  event: NotificationEventSchema,
  enqueuedAt: Type.String(),
  /** Sink name -> its delivery, for the sinks that still have to take it. */
  deliveries: Type.Record(Type.String(), DeliveryStateSchema),
});
export type OutboxItem = Static<typeof OutboxItemSchema>;

const Ajv = AjvModule.default;
const validateItem = new Ajv({ strict: false }).compile(toJsonSchema(OutboxItemSchema));

/** The sinks that subscribe to an event (no `events` list: all). */
export const subscribers = (
  sinks: readonly NotificationSink[],
  event: Pick<NotificationEvent, 'type'>,
): string[] =>
  sinks.filter((s) => s.events === undefined || s.events.includes(event.type)).map((s) => s.name);

export interface DeliveryOutcome {
  sink: string;
  event: NotificationEvent;
  ok: boolean;
  error?: string;
  /** The sink gave up on this event (attempts exhausted, or the sink is gone from mlform.yaml). */
  gaveUp?: boolean;
}

export interface DrainResult {
  outcomes: DeliveryOutcome[];
  /** Deliveries still owed after this drain. */
  pending: number;
  /** When the earliest of them is due (epoch ms); undefined when none is pending. */
  nextAt?: number;
  /** Items that could not be read or parsed (left in place, reported). */
  unreadable: string[];
}

/** Sends one event to one sink; throws an error whose message names the sink, never its URL. */
export type Deliver = (sink: string, event: NotificationEvent) => Promise<void>;

export class Outbox {
  constructor(
    private readonly store: StackStateStore,
    private readonly ctx: ProviderContext,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * Writes each event no sink has yet (an item already there keeps its attempts: a re-derived
   * event is the same event). Events no sink subscribes to are not written. Returns the ids written.
   */
  async enqueue(events: readonly NotificationEvent[], sinks: readonly NotificationSink[]): Promise<string[]> {
    const written: string[] = [];
    for (const event of events) {
      const names = subscribers(sinks, event);
      if (names.length === 0) continue;
      const key = outboxKey(event.id);
      if ((await this.store.read(this.ctx, key)) !== undefined) continue;
      const at = this.now().toISOString();
      const item: OutboxItem = {
        event,
        enqueuedAt: at,
        deliveries: Object.fromEntries(names.map((n) => [n, { attempts: 0, nextAt: at }])),
      };
      await this.store.write(this.ctx, key, `${JSON.stringify(item, null, 2)}\n`);
      written.push(event.id);
    }
    return written;
  }

  /** Every item: one list call, then one read each. */
  async items(): Promise<{ items: OutboxItem[]; unreadable: string[] }> {
    const keys = await this.store.list(this.ctx, OUTBOX_PREFIX);
    const items: OutboxItem[] = [];
    const unreadable: string[] = [];
    for (const key of keys.filter((k) => k.endsWith('.json'))) {
      const data = await this.store.read(this.ctx, key);
      if (data === undefined) continue; // delivered by another process since the listing
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.toString('utf8'));
      } catch {
        parsed = undefined;
      }
      if (validateItem(parsed)) items.push(parsed as OutboxItem);
      else unreadable.push(key);
    }
    return { items, unreadable };
  }

  /**
   * Delivers what is due now to the sinks still configured (`sinks`); a sink no longer in
   * mlform.yaml gives up its deliveries. Each item is rewritten (attempts, next time) or removed.
   */
  async drain(deliver: Deliver, sinks: ReadonlySet<string>): Promise<DrainResult> {
    const { items, unreadable } = await this.items();
    const outcomes: DeliveryOutcome[] = [];
    let pending = 0;
    let nextAt: number | undefined;
    for (const item of items) {
      const now = this.now().getTime();
      const left: OutboxItem['deliveries'] = {};
      const due = Object.entries(item.deliveries);
      await Promise.all(
        due.map(async ([sink, state]) => {
          if (!sinks.has(sink)) {
            outcomes.push({
              sink,
              event: item.event,
              ok: false,
              gaveUp: true,
              error: `sink ${sink} is no longer in mlform.yaml`,
            });
            return;
          }
          if (Date.parse(state.nextAt) > now) {
            left[sink] = state;
            return;
          }
          try {
            await deliver(sink, item.event);
            outcomes.push({ sink, event: item.event, ok: true });
          } catch (e) {
            const attempts = state.attempts + 1;
            const error = errorMessage(e);
            const gaveUp = attempts >= BACKOFF.attempts;
            outcomes.push({ sink, event: item.event, ok: false, error, ...(gaveUp && { gaveUp }) });
            if (!gaveUp) {
              left[sink] = {
                attempts,
                nextAt: new Date(this.now().getTime() + backoffMs(attempts)).toISOString(),
                lastError: error,
              };
            }
          }
        }),
      );
      const key = outboxKey(item.event.id);
      if (Object.keys(left).length === 0) {
        await this.store.remove(this.ctx, key);
        continue;
      }
      for (const state of Object.values(left)) {
        pending++;
        const at = Date.parse(state.nextAt);
        nextAt = nextAt === undefined ? at : Math.min(nextAt, at);
      }
      if (JSON.stringify(left) !== JSON.stringify(item.deliveries)) {
        await this.store.write(this.ctx, key, `${JSON.stringify({ ...item, deliveries: left }, null, 2)}\n`);
      }
    }
    return { outcomes, pending, ...(nextAt !== undefined && { nextAt }), unreadable };
  }
}
