/**
 * Notification events (issue 15 item 6): what happened to which resource, as one JSON document a
 * sink receives. An event's id is a hash of its type, its resource and the identity of what
 * happened (a run number, a version, a window), never of the time it was noticed: deriving the same
 * transition again after a crash gives the same id, so the outbox holds it once and a receiver can
 * dedupe by it (`X-Mlform-Delivery`).
 */
import { createHash } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { NOTIFICATION_EVENTS, type NotificationEventType } from '../../resources/monitoring.js';
import { StringEnum } from '../../resources/schema-helpers.js';

export const NOTIFICATION_FORMAT_VERSION = 1;

export const NotificationEventSchema = Type.Object({
  /** 32 hex digits: sha256 of type, resource and identity. */
  id: Type.String({ pattern: '^[0-9a-f]{32}$' }),
  type: StringEnum(NOTIFICATION_EVENTS),
  /** When it was noticed (ISO instant). */
  time: Type.String(),
  stack: Type.String(),
  /** The resource's address (`TrainingRun/mpg-mlp#2`, `RegisteredModel/mpg`, `DeployedEndpoint/mpg`). */
  resource: Type.String(),
  /** One line for people: what happened. */
  summary: Type.String(),
  /** More for people: why, the numbers, where to look. */
  detail: Type.String(),
  /** The facts as data, per type (run number, version, alias, traffic, scores). */
  data: Type.Record(Type.String(), Type.Unknown()),
});
export type NotificationEvent = Static<typeof NotificationEventSchema>;

/** The deterministic id: the same transition always hashes to the same id. */
export function eventId(type: NotificationEventType, resource: string, identity: string): string {
  return createHash('sha256')
    .update(JSON.stringify([type, resource, identity]))
    .digest('hex')
    .slice(0, 32);
}

export interface EventInput {
  type: NotificationEventType;
  resource: string;
  /** What makes this occurrence itself (run number, version, window start, revision). */
  identity: string;
  summary: string;
  detail?: string;
  data?: Record<string, unknown>;
}

export const makeEvent = (stack: string, time: Date, input: EventInput): NotificationEvent => ({
  id: eventId(input.type, input.resource, input.identity),
  type: input.type,
  time: time.toISOString(),
  stack,
  resource: input.resource,
  summary: input.summary,
  detail: input.detail ?? '',
  data: input.data ?? {},
});

/** The command that shows the resource, printed in messages (`mlform describe trainingrun/mpg-mlp`). */
export function describeCommand(resource: string): string {
  const [kind, rest = ''] = resource.split('/');
  return `mlform describe ${kind.toLowerCase()}/${rest.split('#')[0]}`;
}
