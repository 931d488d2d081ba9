/**
 * `GET /api/v1/plan`: what `mlform plan` would do now, from the snapshot's plan. Masked as `plan
 * --json` masks it; actionable changes first (dependency order kept), then waits; noops left out
 * (a gate rejection shows on the model's page instead). Symbols and headline values as the text
 * plan prints them, field values as compact one-line text.
 */
import { maskCredentials } from '../../../resources/credential.js';
import {
  hasChanges,
  isActionable,
  type Change,
  type FieldChange,
  type TrafficEntry,
} from '../../engine/change.js';
import { formatTraffic, symbol } from '../../ui/plan-text.js';
import { createStyle } from '../../ui/style.js';
import type { PlanChange, PlanDoc } from '../api.js';
import type { StackSnapshot } from '../snapshot.js';
import { apiDiagnostic } from './api-diagnostics.js';
import { documentHeader } from './document-header.js';
import { cleanText } from './safe-text.js';

/** Longer values are cut: a diff row is one line; the spec page has the whole value. */
const MAX_VALUE_CHARS = 2000;

const plainStyle = createStyle(false);

export function buildPlan(snapshot: StackSnapshot): PlanDoc {
  const plan = snapshot.plan;
  const diagnostics = [...(plan?.diagnostics ?? []), ...(plan ? [] : snapshot.diagnostics)].map((d) =>
    apiDiagnostic(d, snapshot.projectDir),
  );
  if (!plan) {
    return {
      ...documentHeader(snapshot),
      available: false,
      hasChanges: false,
      summary: {},
      changes: [],
      diagnostics,
    };
  }
  const changes = plan.changes.map((c) => maskCredentials(c));
  const ordered = [...changes.filter(isActionable), ...changes.filter((c) => c.action === 'wait')];
  return {
    ...documentHeader(snapshot),
    available: true,
    hasChanges: hasChanges(plan),
    summary: { ...plan.summary },
    changes: ordered.map(planChange),
    diagnostics,
  };
}

function planChange(c: Change): PlanChange {
  return {
    address: cleanText(c.address),
    resource: cleanText(c.resource),
    action: c.action,
    symbol: symbol(c, plainStyle).trim(),
    reason: cleanText(c.reason),
    deferred: isDeferred(c),
    fields: c.fields.map(fieldRow),
  };
}

function isDeferred(c: Change): boolean {
  if (c.action === 'register' || c.action === 'promote') return c.after.deferred;
  if ((c.action === 'create' || c.action === 'update') && c.kind === 'DeployedEndpoint')
    return c.after.trafficDeferred;
  return false;
}

function fieldRow(f: FieldChange): PlanChange['fields'][number] {
  return {
    path: cleanText(f.path),
    before: valueText(f.before),
    after: valueText(f.after),
    drift: f.drift === true,
    replace: f.replace === true,
  };
}

const isTraffic = (value: unknown): value is TrafficEntry[] =>
  Array.isArray(value) &&
  value.length > 0 &&
  value.every(
    (v) => v !== null && typeof v === 'object' && 'selector' in v && 'percent' in v && 'version' in v,
  );

/** Scalars as they are, traffic as the plan prints it, anything else as one-line JSON; null when absent. */
export function valueText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' || typeof value === 'boolean') text = String(value);
  else if (isTraffic(value)) text = formatTraffic(value, plainStyle).slice(1, -1);
  else text = JSON.stringify(value) ?? String(value);
  const clean = cleanText(text);
  return clean.length > MAX_VALUE_CHARS ? `${clean.slice(0, MAX_VALUE_CHARS)}…` : clean;
}
