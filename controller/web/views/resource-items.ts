/**
 * One resource as the overview's card shows it (api.ts `OverviewItem`), also the `resource` head
 * of every per-resource document: badges and summary from its status, labels and source from its
 * manifest, its group and links for the tree, and small children (versions, runs, fires, traffic).
 */
import { addressOf, runRef } from '../../../resources/address.js';
import type { Kind } from '../../../resources/kinds.js';
import type { ObservedRun } from '../../../providers/provider.js';
import { formatInZone } from '../../engine/status.js';
import { lastFireOf } from '../../engine/once-schedule.js';
import type { ResourceStatusView } from '../../loop/status-schema.js';
import type { ApiHealth, OverviewItem } from '../api.js';
import { keyMetricText } from './key-metric.js';
import { nextFire } from './schedule-fires.js';
import { cleanOptional, cleanText } from './safe-text.js';
import {
  desiredOf,
  gateMetricOf,
  groupOf,
  modelOfEndpoint,
  modelOfRun,
  scheduleSpecOf,
  sourceOf,
  templateOfSchedule,
  type StackIndex,
} from './stack-index.js';

/** Children per card: the newest few, then a "…N more" child. */
const CHILDREN = 5;

export function overviewItem(index: StackIndex, status: ResourceStatusView, now: Date): OverviewItem {
  const { kind, name, address } = status;
  const resource = desiredOf(index, kind, name);
  return {
    kind,
    name,
    address,
    sync: status.syncStatus,
    health: status.health,
    details: cleanText(status.details),
    labels: { ...(resource?.manifest.metadata.labels ?? {}) },
    source: sourceOf(index, address),
    group: groupOf(index, kind, name),
    links: linksOf(index, kind, name),
    children: childrenOf(index, kind, name, now),
    lastError: cleanOptional(status.lastError),
    nextRetryAt: status.nextRetryAt,
  };
}

function linksOf(index: StackIndex, kind: Kind, name: string): OverviewItem['links'] {
  const links: OverviewItem['links'] = [];
  if (kind === 'TrainingRun') {
    const model = modelOfRun(index, name);
    if (model !== undefined) links.push({ relation: 'trains', address: addressOf('RegisteredModel', model) });
  } else if (kind === 'DeployedEndpoint') {
    const model = modelOfEndpoint(index, name);
    if (model !== undefined) links.push({ relation: 'serves', address: addressOf('RegisteredModel', model) });
  } else if (kind === 'Schedule') {
    const template = templateOfSchedule(index, name);
    if (template !== undefined)
      links.push({ relation: 'fires', address: addressOf('TrainingRun', template) });
  }
  for (const dep of desiredOf(index, kind, name)?.manifest.metadata.dependsOn ?? [])
    links.push({ relation: 'dependsOn', address: dep });
  return links;
}

type Child = OverviewItem['children'][number];

export const runHealth = (run: ObservedRun): ApiHealth =>
  run.state === 'succeeded'
    ? 'Healthy'
    : run.state === 'queued' || run.state === 'running'
      ? 'Progressing'
      : run.state === 'cancelled'
        ? 'Suspended'
        : 'Degraded';

/** `succeeded val_mae 2.31`, `running epoch 3/10`, `failed: <error>`. */
export function runDetailText(run: ObservedRun, gateMetric: string | undefined): string {
  if (run.state === 'succeeded') {
    const metric = keyMetricText(run.metrics, gateMetric);
    return metric ? `succeeded ${metric}` : 'succeeded';
  }
  if (run.state === 'running' || run.state === 'queued') {
    const p = run.progress;
    const trial = p?.trial ? ` trial ${p.trial.done}/${p.trial.of}` : '';
    return p ? `${run.state} epoch ${p.epoch}/${p.epochs}${trial}` : run.state;
  }
  return run.error ? `${run.state}: ${cleanText(run.error)}` : run.state;
}

function capped(children: Child[], total: number): Child[] {
  if (total <= CHILDREN) return children;
  return [
    ...children.slice(0, CHILDREN),
    { label: '…', detail: `${total - CHILDREN} more`, health: 'Healthy' },
  ];
}

function childrenOf(index: StackIndex, kind: Kind, name: string, now: Date): Child[] {
  switch (kind) {
    case 'RegisteredModel': {
      const model = index.models.get(name);
      if (!model) return [];
      const aliasesOf = aliasesByVersion(model.aliases);
      const gate = gateMetricOf(index, name);
      const newest = [...model.versions].sort((a, b) => b.version - a.version);
      return capped(
        newest.slice(0, CHILDREN).map((v) => ({
          label: `v${v.version}`,
          detail: [(aliasesOf.get(v.version) ?? []).join(', '), keyMetricText(v.metrics, gate)]
            .filter(Boolean)
            .join(' · '),
          health: 'Healthy',
        })),
        newest.length,
      );
    }
    case 'TrainingRun': {
      const runs = index.runsByName.get(name) ?? [];
      const gate = gateMetricOf(index, modelOfRun(index, name));
      return capped(
        runs.slice(0, CHILDREN).map((run) => ({
          label: `#${run.number}`,
          detail: runDetailText(run, gate),
          health: runHealth(run),
        })),
        runs.length,
      );
    }
    case 'DeployedEndpoint': {
      const endpoint = index.endpoints.get(name);
      if (!endpoint) return [];
      const model = index.models.get(endpoint.model);
      const aliasesOf = aliasesByVersion(model?.aliases ?? {});
      return endpoint.traffic.map((t) => ({
        label: `v${t.version}`,
        detail: [`${t.percent}%`, ...(aliasesOf.get(t.version) ?? [])].join(' '),
        health: endpoint.healthy ? 'Healthy' : 'Degraded',
      }));
    }
    case 'Schedule': {
      const spec = scheduleSpecOf(index, name);
      const observed = index.schedules.get(name);
      const runs = index.runsBySchedule.get(name) ?? [];
      const out: Child[] = [];
      if (spec) {
        const next = observed?.paused ? undefined : nextFire(spec, now);
        out.push({
          label: 'next',
          detail: next
            ? formatInZone(next, spec.timeZone)
            : spec.suspend || observed?.paused
              ? 'suspended'
              : 'never',
          health: next ? 'Healthy' : 'Suspended',
        });
        const last = lastFireOf(observed, runs);
        if (last !== undefined)
          out.push({ label: 'last', detail: formatInZone(new Date(last), spec.timeZone), health: 'Healthy' });
      }
      const latest = runs[0];
      if (latest)
        out.push({
          label: `#${latest.number}`,
          detail: `${runRef(latest)} ${latest.state}`,
          health: runHealth(latest),
        });
      return out;
    }
  }
}

/** version -> its aliases, sorted. */
export function aliasesByVersion(aliases: Readonly<Record<string, number>>): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const alias of Object.keys(aliases).sort()) {
    const v = aliases[alias];
    out.set(v, [...(out.get(v) ?? []), alias]);
  }
  return out;
}

/** The item of an address, or undefined when the stack has no such resource. */
export function itemOf(index: StackIndex, kind: Kind, name: string, now: Date): OverviewItem | undefined {
  const status = index.statuses.get(addressOf(kind, name));
  return status ? overviewItem(index, status, now) : undefined;
}
