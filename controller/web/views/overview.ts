/**
 * `GET /api/v1/overview`: every resource as a card (resource-items.ts), filtered, in the order of
 * the tree (group, then kind order, then name; ungrouped last), one page at a time, with counts
 * over the whole stack. Linear in the stack size: one pass to build the items that match.
 */
import type { ApiRoute, OverviewDoc, OverviewItem } from '../api.js';
import type { StackSnapshot } from '../snapshot.js';
import { apiDiagnostic } from './api-diagnostics.js';
import { page } from '../cursor.js';
import { documentHeader } from './document-header.js';
import { overviewItem } from './resource-items.js';
import { stackIndex } from './stack-index.js';
import type { ResourceStatusView } from '../../loop/status-schema.js';

type OverviewRoute = Extract<ApiRoute, { view: 'overview' }>;

/** RegisteredModel first: the model heads its group, what trains and serves it follows. */
const KIND_ORDER = ['RegisteredModel', 'TrainingRun', 'DeployedEndpoint', 'Schedule'];

function tally(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function matchesStatus(status: ResourceStatusView, filter: OverviewRoute['filter']): boolean {
  if (filter.kind !== undefined && status.kind !== filter.kind) return false;
  if (filter.health !== undefined && status.health !== filter.health) return false;
  if (filter.sync !== undefined && status.syncStatus !== filter.sync) return false;
  if (filter.q !== undefined && filter.q !== '') {
    const q = filter.q.toLowerCase();
    if (!status.name.toLowerCase().includes(q) && !status.address.toLowerCase().includes(q)) return false;
  }
  return true;
}

function matchesLabel(item: OverviewItem, label: OverviewRoute['filter']['label']): boolean {
  if (!label) return true;
  if (!Object.hasOwn(item.labels, label.key)) return false;
  return label.value === undefined || item.labels[label.key] === label.value;
}

function compareItems(a: OverviewItem, b: OverviewItem): number {
  if (a.group !== b.group) {
    if (a.group === null) return 1;
    if (b.group === null) return -1;
    return a.group < b.group ? -1 : 1;
  }
  return (
    KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) ||
    (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
  );
}

export function buildOverview(route: OverviewRoute, snapshot: StackSnapshot, now: Date): OverviewDoc {
  const index = stackIndex(snapshot);
  const counts = { total: 0, byKind: {}, byHealth: {}, bySync: {} } as OverviewDoc['counts'];
  const matched: OverviewItem[] = [];
  for (const status of snapshot.statuses) {
    counts.total++;
    tally(counts.byKind, status.kind);
    tally(counts.byHealth, status.health);
    tally(counts.bySync, status.syncStatus);
    if (!matchesStatus(status, route.filter)) continue;
    const item = overviewItem(index, status, now);
    if (matchesLabel(item, route.filter.label)) matched.push(item);
  }
  matched.sort(compareItems);
  const { items, nextCursor } = page(matched, route.offset, route.limit);
  return {
    ...documentHeader(snapshot),
    counts,
    items,
    matched: matched.length,
    nextCursor,
    diagnostics: snapshot.diagnostics.map((d) => apiDiagnostic(d, snapshot.projectDir)),
  };
}
