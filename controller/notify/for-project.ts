/** The notifier of a loaded project, and the lines `apply` prints about its deliveries. */
import type { LoadedProjectContext } from '../cli/project.js';
import type { Provider, ProviderContext } from '../../providers/provider.js';
import { Notifier, type NotifyOperator } from './notifier.js';
import { Outbox, type DrainResult } from './outbox.js';

/** Undefined when mlform.yaml names no sinks, or the provider keeps no state store. */
export function notifierFor(
  project: Pick<LoadedProjectContext, 'desired' | 'provider' | 'providerCtx'>,
  operator: NotifyOperator,
  env: NodeJS.ProcessEnv,
): Notifier | undefined {
  const config = project.desired.project?.config;
  const sinks = config?.notifications ?? [];
  const store = project.provider.stateStore;
  if (!config || sinks.length === 0 || !store) return undefined;
  return new Notifier({
    provider: { stateStore: store },
    ctx: project.providerCtx,
    sinks,
    secrets: {
      provider: project.provider.name,
      ...(config.gcp && { project: config.gcp.project }),
      env,
      ...(project.desired.treeRoot !== undefined && { treeRoot: project.desired.treeRoot }),
    },
    operator,
  });
}

/** One line per failure (redacted), then one summary line. */
export function drainLines(result: DrainResult & { delivered: number }): string[] {
  // The last failure per event and sink: retries within one apply are not listed one by one.
  const last = new Map(result.outcomes.map((o) => [`${o.sink}|${o.event.id}`, o]));
  const lines = [...last.values()]
    .filter((o) => !o.ok)
    .map(
      (o) =>
        `notification ${o.event.type} to ${o.sink}${o.gaveUp ? ' given up' : ' failed'}: ${o.error ?? ''}`,
    );
  const parts = [`${result.delivered} delivered`];
  if (result.pending > 0) {
    parts.push(
      `${result.pending} pending in the outbox${result.nextAt !== undefined ? ` (next try ${new Date(result.nextAt).toISOString()})` : ''}; the next apply or the controller sends them`,
    );
  }
  for (const key of result.unreadable)
    lines.push(`notification outbox item ${key} does not parse; it is left in place`);
  if (result.delivered > 0 || result.pending > 0 || lines.length > 0)
    lines.push(`Notifications: ${parts.join(', ')}.`);
  return lines;
}

/**
 * `get`'s footer: deliveries waiting in the outbox, and the last error of the ones failing
 * (already redacted when stored). Undefined when nothing waits or the provider keeps no store.
 */
export async function pendingLine(project: {
  provider: Pick<Provider, 'stateStore'>;
  providerCtx: ProviderContext;
}): Promise<string | undefined> {
  const store = project.provider.stateStore;
  if (!store) return undefined;
  const { items } = await new Outbox(store, project.providerCtx).items();
  const deliveries = items.flatMap((i) => Object.entries(i.deliveries).map(([sink, d]) => ({ sink, ...d })));
  if (deliveries.length === 0) return undefined;
  const failing = deliveries.filter((d) => d.attempts > 0);
  const last = failing.at(-1);
  return (
    `Notifications: ${deliveries.length} ${deliveries.length === 1 ? 'delivery' : 'deliveries'} pending in the outbox` +
    (last ? ` (${failing.length} failing; last: ${last.lastError ?? 'unknown'})` : '') +
    '; the next apply or the controller sends them.'
  );
}
