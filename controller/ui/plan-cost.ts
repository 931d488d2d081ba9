/**
 * The plan's cost estimate as lines, shared by the text and markdown views: one line per item
 * (address, period, amount, how), then the totals. Addresses and details hold manifest names, so
 * the caller escapes them for its medium.
 */
import type { CostItem, PlanCost } from '../engine/cost-schema.js';
import { money } from '../engine/cost.js';
import type { Plan } from '../engine/change.js';

export interface CostLine {
  address: string;
  period: string;
  amount: string;
  detail: string;
}

/**
 * Something to show: items on gcp, or a priced local estimate (with its CPU-hours), so a local
 * plan reads as before until the project opts in with `local.cpuHourPrice`.
 */
export const hasCost = (plan: Pick<Plan, 'cost'>): plan is { cost: PlanCost } =>
  plan.cost !== undefined &&
  plan.cost.items.length > 0 &&
  (plan.cost.provider === 'gcp' || plan.cost.items.some((i) => i.amount !== null));

/**
 * The items of resources this plan changes (a wait or noop changes nothing), for the text and
 * markdown views: a no-op plan stays quiet, and a large stack lists what moves, while the totals
 * (and `-o json`) still count every resource.
 */
export function changedCost(plan: Pick<Plan, 'cost' | 'changes'>): PlanCost | undefined {
  if (!hasCost(plan)) return undefined;
  const changed = new Set(
    plan.changes.filter((c) => c.action !== 'noop' && c.action !== 'wait').map((c) => c.resource),
  );
  const items = plan.cost.items.filter((i) => changed.has(i.address));
  return items.length > 0 ? { ...plan.cost, items } : undefined;
}

export function costLines(cost: PlanCost): CostLine[] {
  return cost.items.map((i) => ({
    address: i.address,
    period: i.period === 'once' ? 'once' : 'monthly',
    amount: amountOf(i),
    detail: [
      i.detail,
      ...(i.gpuHours !== undefined ? [`${i.gpuHours} GPU-hours`] : []),
      ...(i.cpuHours !== undefined ? [`${i.cpuHours} CPU-hours`] : []),
    ].join('; '),
  }));
}

function amountOf(i: CostItem): string {
  if (i.amount) return money(i.amount);
  return i.hourly ? `? (${money(i.hourly)}/h)` : '?';
}

/** `Total: $3.59-$7.20 once, $320.55/month (1 item unknown)`. */
/** Of the whole estimate, not only the items shown. */
export function costTotal(cost: PlanCost): string {
  const unknown =
    cost.unknown > 0 ? ` (${cost.unknown} item${cost.unknown === 1 ? '' : 's'} unknown, not counted)` : '';
  return `Total: ${money(cost.total.once)} once, ${money(cost.total.monthly)}/month${unknown}`;
}

export const costHeading = (cost: PlanCost): string =>
  `Cost estimate (${cost.currency}, list prices of ${cost.pricesAsOf}; not a bill):`;
