/**
 * Retention of a RegisteredModel's versions, planned after the endpoints so that the versions live
 * or desired traffic uses are known.
 */
import { PHASE, addChange, type PlanContext } from './plan-context.js';
import type { EndpointsPlan } from './plan-endpoints.js';
import type { ModelPlan } from './plan-models.js';

/**
 * Versions beyond `retention.keepVersions` (oldest first) that no alias (desired or not, before or
 * after this plan) and no endpoint (live or desired traffic) uses.
 */
export function planRetention(
  ctx: PlanContext,
  models: ReadonlyMap<string, ModelPlan>,
  endpoints: EndpointsPlan,
): void {
  for (const [name, plan] of models) {
    const keep = plan.resource.manifest.spec.retention.keepVersions;
    const byNewest = [...plan.versions].sort((a, b) => b.version - a.version);
    const beyond = byNewest.slice(keep).filter((v) => !v.isNew);
    if (beyond.length === 0) continue;
    const used = new Set<number>([
      ...Object.values(plan.observed?.aliases ?? {}),
      ...[...plan.aliases.values()].flatMap((a) => (a.version === null ? [] : [a.version])),
      ...(endpoints.uses.get(name) ?? []),
    ]);
    const promotes = [...plan.aliases.values()].flatMap((a) => (a.promote ? [a.promote] : []));
    for (const v of beyond.reverse()) {
      if (used.has(v.version)) continue;
      addChange(ctx, PHASE.retention, {
        kind: 'RegisteredModel',
        action: 'delete',
        target: 'version',
        address: `${plan.resource.address}/versions/v${v.version}`,
        resource: plan.resource.address,
        reason: `beyond retention.keepVersions (${keep}) and used by no alias or endpoint`,
        fields: [],
        dependsOn: [...plan.registerOf.values(), ...promotes, ...(endpoints.changes.get(name) ?? [])],
        before: { model: name, version: v.version, run: v.run },
        after: null,
      });
    }
  }
}
