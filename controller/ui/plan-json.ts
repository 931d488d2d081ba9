/**
 * The JSON view of a plan (`plan --json`): a versioned document for programs. Fields:
 *
 * - `formatVersion` (1), `stack`, `options` ({destroy, prune})
 * - `hasChanges`: apply would do something (anything but noop and wait)
 * - `applicable`: no error diagnostics (apply refuses the plan otherwise)
 * - `summary`: count per action (create, update, replace, delete, cancel, register, promote, wait, noop)
 * - `changes`: the plan's changes in dependency order, as `controller/engine/change.ts` defines them
 *   (`action`, `kind`, `address`, `resource`, `reason`, `fields`, `dependsOn`, `drift?`, `before`,
 *   `after`, and per action `target`, `run`, `progress`, `model`, `unresolved`, `notice`); string
 *   values that look like credentials are `***`
 * - `cost` (gcp: when anything costs money; local: once `local.cpuHourPrice` is set): the estimate of `controller/engine/cost-schema.ts`: `{currency, pricesAsOf,
 *   provider, items: [{address, period: once|month, amount: {low, high} | null, hourly?, hours?,
 *   gpuHours?, cpuHours?, detail}], total: {once, monthly}, unknown}`
 * - `diagnostics`: as `validate --json` prints them (path as text and as segments)
 * - `fingerprint`, `basis`: what `apply PLANFILE` compares to refuse a stale plan
 */
import { maskCredentials } from '../../resources/credential.js';
import { hasChanges, isApplicable, type Plan } from '../engine/change.js';
import type { PlanView } from '../engine/plan-view.js';
import { diagnosticJson } from './diagnostics-view.js';
import { hasCost } from './plan-cost.js';

export function planJson(plan: Plan) {
  return {
    formatVersion: plan.formatVersion,
    stack: plan.stack,
    options: plan.options,
    hasChanges: hasChanges(plan),
    applicable: isApplicable(plan),
    summary: plan.summary,
    // As the other views show it: on gcp when anything costs money, locally once priced.
    ...(hasCost(plan) && { cost: plan.cost }),
    // Specs travel whole in `before`/`after`: credential-looking literals are masked (secretRefs
    // are references and stay as they are). Saved plans keep the real values: apply needs them.
    changes: plan.changes.map(maskCredentials),
    diagnostics: plan.diagnostics.map(diagnosticJson),
    fingerprint: plan.fingerprint,
    basis: plan.basis,
  };
}

export const planJsonView: PlanView = {
  format: 'json',
  render: (plan) => `${JSON.stringify(planJson(plan), null, 2)}\n`,
};
