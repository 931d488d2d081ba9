/**
 * Notifications for one stack, as `apply` and the controller use them: record what the state says
 * (derive, enqueue, then move the snapshot), enqueue events that happen outside observed state
 * (sync failed, schedule missed), and drain the outbox to the sinks of mlform.yaml.
 */
import type { ObservedState, Provider, ProviderContext, StackStateStore } from '../../providers/provider.js';
import type { NotificationSink } from '../../resources/monitoring.js';
import { errorMessage } from '../../resources/error-message.js';
import type { Change, Plan } from '../engine/change.js';
import { checkDestination, type DestinationPolicy, type LookupAll } from './destination.js';
import { makeEvent, type EventInput, type NotificationEvent } from './events.js';
import {
  deriveEvents,
  NotifiedSnapshotSchema,
  type FailedRollout,
  type GateRejection,
  type NotifiedSnapshot,
} from './derive.js';
import { Outbox, type DrainResult } from './outbox.js';
import { resolveSink, secretResolver, type SecretSource, type SinkSecrets } from './sink-secrets.js';
import { sendSlack } from './sinks/slack.js';
import { sendWebhook } from './sinks/webhook.js';
import AjvModule from 'ajv';
import { toJsonSchema } from '../../resources/schema-helpers.js';

export const SNAPSHOT_KEY = 'notifications/snapshot.json';

const Ajv = AjvModule.default;
const validateSnapshot = new Ajv({ strict: false }).compile(toJsonSchema(NotifiedSnapshotSchema));

/** The operator's side of notifications (flags and environment, never the manifests). */
export interface NotifyOperator {
  policy: DestinationPolicy;
  /** Extra trusted CA certificates (PEM text), for a receiver with a private CA. */
  ca?: string[];
  timeoutMs?: number;
  /** Resolver for the host names of sinks (tests); default the system's. */
  lookup?: LookupAll;
}

export interface NotifierOptions {
  provider: Pick<Provider, 'stateStore'> & { stateStore: StackStateStore };
  ctx: ProviderContext;
  sinks: readonly NotificationSink[];
  secrets: SecretSource;
  operator: NotifyOperator;
  now?: () => Date;
}

/** Gate rejections as the plan reports them: a noticed noop per run of a RegisteredModel. */
export function gateRejectionsOf(plan: Plan | undefined): GateRejection[] {
  const out: GateRejection[] = [];
  for (const c of plan?.changes ?? []) {
    if (c.kind !== 'RegisteredModel' || c.action !== 'noop') continue;
    const match = /^RegisteredModel\/([^/]+)\/versions\/(.+)$/.exec(c.address);
    const reason = / failed the gate: (.*)$/.exec(c.reason);
    if (match && reason) out.push({ address: c.address, model: match[1], run: match[2], reason: reason[1] });
  }
  return out;
}

/** The endpoint changes apply could not carry out, with what they tried to roll out. */
export function failedRolloutOf(change: Change, reason: string): FailedRollout | undefined {
  if (change.kind !== 'DeployedEndpoint' || (change.action !== 'create' && change.action !== 'update'))
    return undefined;
  const after = change.after;
  const traffic = after.traffic.map((t) => `${t.version ?? '?'}:${t.percent}`).join(',');
  return { endpoint: after.name, target: `${after.specHash}|${traffic}`, reason };
}

export class Notifier {
  readonly outbox: Outbox;
  private readonly store: StackStateStore;
  private readonly now: () => Date;

  constructor(private readonly options: NotifierOptions) {
    this.store = options.provider.stateStore;
    this.now = options.now ?? (() => new Date());
    this.outbox = new Outbox(this.store, options.ctx, this.now);
  }

  get sinkNames(): string[] {
    return this.options.sinks.map((s) => s.name);
  }

  async readSnapshot(): Promise<NotifiedSnapshot | undefined> {
    const data = await this.store.read(this.options.ctx, SNAPSHOT_KEY);
    if (data === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    // A damaged snapshot is a new baseline: better one missed transition than a flood of old ones.
    return validateSnapshot(parsed) ? (parsed as NotifiedSnapshot) : undefined;
  }

  private async writeSnapshot(snapshot: NotifiedSnapshot): Promise<void> {
    await this.store.write(this.options.ctx, SNAPSHOT_KEY, `${JSON.stringify(snapshot)}\n`);
  }

  /** A stack never notified takes the state before an apply acts as its baseline (so that apply's own work is notified). */
  async baseline(observe: () => Promise<ObservedState | undefined>): Promise<void> {
    if ((await this.readSnapshot()) !== undefined) return;
    const observed = await observe();
    if (!observed) return;
    const { next } = deriveEvents(undefined, {
      stack: this.options.ctx.stack,
      observed,
      gateRejections: [],
      now: this.now(),
    });
    await this.writeSnapshot(next);
  }

  /**
   * Before an apply acts: the baseline of a stack never notified; otherwise what changed since the
   * last notification (drift that appeared, a run that ended on its own) is recorded now, before
   * the apply's own work can hide it (a rollout moves traffic off the version that drifted).
   */
  async beforeApply(observe: () => Promise<ObservedState | undefined>): Promise<void> {
    if ((await this.readSnapshot()) === undefined) return this.baseline(observe);
    const observed = await observe();
    if (observed) await this.record(observed);
  }

  /**
   * Derives the events between the snapshot and `observed`, writes them to the outbox, then moves
   * the snapshot: a crash in between derives them again (same ids, enqueued once).
   */
  async record(
    observed: ObservedState,
    extra: { plan?: Plan; failedRollouts?: readonly FailedRollout[] } = {},
  ): Promise<NotificationEvent[]> {
    const before = await this.readSnapshot();
    const { events, next } = deriveEvents(before, {
      stack: this.options.ctx.stack,
      observed,
      gateRejections: gateRejectionsOf(extra.plan),
      failedRollouts: extra.failedRollouts ?? [],
      now: this.now(),
    });
    await this.outbox.enqueue(events, this.options.sinks);
    // Unchanged state writes nothing (a controller sync every few seconds, on gcp an object each).
    if (!before || !sameSnapshot(before, next)) await this.writeSnapshot(next);
    return events;
  }

  /** An event that is not in observed state, enqueued where it happens. */
  async emit(input: EventInput): Promise<NotificationEvent> {
    const event = makeEvent(this.options.ctx.stack, this.now(), input);
    await this.outbox.enqueue([event], this.options.sinks);
    return event;
  }

  /** One pass over the outbox: what is due goes out now. */
  async drain(): Promise<DrainResult> {
    const resolver = secretResolver(this.options.secrets);
    const resolved = new Map<string, Promise<SinkSecrets>>();
    const sinks = new Map(this.options.sinks.map((s) => [s.name, s]));
    try {
      return await this.outbox.drain(async (name, event) => {
        const sink = sinks.get(name);
        if (!sink) throw new Error(`sink ${name} is not configured`);
        let secrets = resolved.get(name);
        if (!secrets) {
          secrets = resolveSink(sink, resolver.resolve);
          resolved.set(name, secrets);
        }
        let values: SinkSecrets | undefined;
        try {
          values = await secrets;
          await this.send(sink, values, event);
        } catch (e) {
          throw new Error(redact(`${errorMessage(e)}`, values, name));
        }
      }, new Set(sinks.keys()));
    } finally {
      await resolver.close();
    }
  }

  /**
   * Drains until nothing is due before `deadline` (epoch ms), waiting for retries that fall before
   * it; what is left stays in the outbox for the next apply or the controller.
   */
  async drainUntil(
    deadline: number,
    signal?: AbortSignal,
    /** Longest wait for one retry: a receiver that keeps failing does not hold the caller long. */
    maxWaitMs = 5_000,
  ): Promise<DrainResult & { delivered: number; failed: number }> {
    let delivered = 0;
    let failed = 0;
    const outcomes: DrainResult['outcomes'] = [];
    for (;;) {
      const result = await this.drain();
      outcomes.push(...result.outcomes);
      delivered += result.outcomes.filter((o) => o.ok).length;
      failed += result.outcomes.filter((o) => !o.ok).length;
      const { nextAt } = result;
      if (
        result.pending === 0 ||
        nextAt === undefined ||
        nextAt > deadline ||
        nextAt - Date.now() > maxWaitMs ||
        signal?.aborted
      ) {
        return { ...result, outcomes, delivered, failed };
      }
      await new Promise((r) => setTimeout(r, Math.max(0, nextAt - Date.now())));
    }
  }

  private async send(sink: NotificationSink, values: SinkSecrets, event: NotificationEvent): Promise<void> {
    const { operator } = this.options;
    const to = await checkDestination(sink.name, values.url, operator.policy, operator.lookup);
    const transport = { timeoutMs: operator.timeoutMs, ca: operator.ca };
    if (sink.type === 'slack') await sendSlack(sink.name, to, event, transport);
    else
      await sendWebhook(sink.name, to, event, { ...transport, signingKey: values.signingKey, now: this.now });
  }
}

const sameSnapshot = (a: NotifiedSnapshot, b: NotifiedSnapshot): boolean =>
  JSON.stringify({ ...a, takenAt: '' }) === JSON.stringify({ ...b, takenAt: '' });

/** A secret never leaves in an error, whatever a library put in its message. */
function redact(message: string, values: SinkSecrets | undefined, sink: string): string {
  let out = message;
  for (const secret of [values?.url, values?.signingKey]) {
    if (secret && secret.length >= 4) out = out.split(secret).join(`<sink ${sink} secret>`);
  }
  return out;
}
