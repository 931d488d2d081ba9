/**
 * `plan(desired, observed) -> Plan`: the diff between the manifests and the actual state, as inert
 * data. Pure: no I/O, and the same inputs give the same plan, byte for byte (the clock is read only
 * for the next fire time of schedules when `now` is not given, and that is not in the fingerprint).
 * The rules are in README.md next to this file.
 */
import type { DesiredState } from '../../manifests/load.js';
import { error } from '../../resources/diagnostic.js';
import type { ObservedState } from '../../providers/provider.js';
import { PLAN_FORMAT_VERSION, summarize, type Change, type Plan } from './change.js';
import { checkBudget } from './cost-budget.js';
import { estimateCost } from './cost.js';
import { planFingerprint } from './fingerprint.js';
import { cmp, createContext, type PlanContext, type PlanOptions } from './plan-context.js';
import { planEndpoints } from './plan-endpoints.js';
import { planModels } from './plan-models.js';
import { planPrune } from './plan-prune.js';
import { planRetention } from './plan-retention.js';
import { planTrainingRuns } from './plan-runs.js';
import { planSchedules } from './plan-schedules.js';

export type { PlanOptions } from './plan-context.js';

export function plan(desired: DesiredState, observed: ObservedState, options: PlanOptions = {}): Plan {
  const ctx = createContext(desired, observed, options);
  if (!ctx.destroy) {
    // Each step reads what the previous ones decided: runs feed registrations, registrations and
    // alias moves feed traffic, traffic decides which versions retention must keep.
    const runs = planTrainingRuns(ctx);
    const models = planModels(ctx, runs);
    const endpoints = planEndpoints(ctx, models);
    planRetention(ctx, models, endpoints);
    planSchedules(ctx);
  }
  planPrune(ctx);
  const changes = inDependencyOrder(ctx);
  const planOptions = { destroy: ctx.destroy, prune: ctx.prune };
  const cost = estimateCost(desired.project?.config, ctx, changes);
  ctx.diagnostics.push(...checkBudget(desired.project, cost));
  return {
    formatVersion: PLAN_FORMAT_VERSION,
    stack: ctx.stack,
    options: planOptions,
    changes,
    diagnostics: ctx.diagnostics,
    summary: summarize(changes),
    cost,
    ...planFingerprint(desired, observed, planOptions),
  };
}

/**
 * Dependencies narrowed to this plan's changes that do something (a noop is already done), then a
 * depth-first topological sort that visits changes in phase, graph and address order, so the list
 * reads in the order apply runs it and only moves a change when a dependency requires it.
 */
function inDependencyOrder(ctx: PlanContext): Change[] {
  const pending = new Set(ctx.changes.filter((c) => c.change.action !== 'noop').map((c) => c.change.address));
  const graphIndex = (c: Change) => ctx.desired.order.get(c.resource) ?? Number.MAX_SAFE_INTEGER;
  const sorted = ctx.changes
    .map(({ change, phase }) => ({
      phase,
      change: {
        ...change,
        dependsOn: [...new Set(change.dependsOn)].filter((d) => d !== change.address && pending.has(d)),
      } as Change,
    }))
    .sort(
      (a, b) =>
        a.phase - b.phase ||
        graphIndex(a.change) - graphIndex(b.change) ||
        cmp(a.change.address, b.change.address),
    );
  const byAddress = new Map(sorted.map((c) => [c.change.address, c.change]));
  const state = new Map<string, 'visiting' | 'done'>();
  const out: Change[] = [];
  // An explicit stack, not recursion: the depth is whatever the manifests' dependsOn make it.
  const path: { change: Change; next: number }[] = [];
  const onPath = new Map<string, number>();
  const enter = (change: Change): void => {
    state.set(change.address, 'visiting');
    onPath.set(change.address, path.length);
    path.push({ change, next: 0 });
  };
  for (const { change: root } of sorted) {
    if (state.has(root.address)) continue;
    enter(root);
    while (path.length > 0) {
      const frame = path[path.length - 1];
      if (frame.next >= frame.change.dependsOn.length) {
        path.pop();
        onPath.delete(frame.change.address);
        state.set(frame.change.address, 'done');
        out.push(frame.change);
        continue;
      }
      const target = byAddress.get(frame.change.dependsOn[frame.next++]);
      if (!target) continue;
      const s = state.get(target.address);
      if (s === 'done') continue;
      if (s === 'visiting') {
        const cycle = [
          ...path.slice(onPath.get(target.address)).map((f) => f.change.address),
          target.address,
        ];
        ctx.diagnostics.push(
          error('plan-cycle', `the plan's changes depend on each other in a cycle: ${shortChain(cycle)}`, {
            address: target.address,
            hint: 'a metadata.dependsOn entry most likely points against the order RegisteredModel -> TrainingRun -> DeployedEndpoint; remove it',
          }),
        );
        continue;
      }
      enter(target);
    }
  }
  return out;
}

/** A chain for a message: long ones keep their ends, so the message stays a line. */
function shortChain(chain: readonly string[], keep = 4): string {
  if (chain.length <= keep * 2 + 1) return chain.join(' -> ');
  return [...chain.slice(0, keep), `... (${chain.length - keep * 2} more)`, ...chain.slice(-keep)].join(
    ' -> ',
  );
}
