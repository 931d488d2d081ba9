/** Where an alias of a RegisteredModel points, given its rule and the versions there are. */
import { ownValue } from '../../resources/own-property.js';
import { inferGoal } from '../../resources/registered-model.js';
import type { AliasRule } from './change.js';

export interface VersionFacts {
  version: number;
  metrics: Readonly<Record<string, number>>;
}

/**
 * `latest`: the newest version. `best`: the best value of `metric` in the goal's direction; a tie
 * keeps the older version, so an equally good retrain does not move traffic. Versions without the
 * metric are skipped. `{version}`: that version if it exists. null when nothing qualifies.
 */
export function aliasTarget(rule: AliasRule, versions: readonly VersionFacts[]): number | null {
  if (rule.version !== undefined) {
    return versions.some((v) => v.version === rule.version) ? rule.version : null;
  }
  const sorted = [...versions].sort((a, b) => a.version - b.version);
  if (rule.policy === 'latest') return sorted.at(-1)?.version ?? null;
  if (rule.policy === 'best' && rule.metric) {
    const metric = rule.metric;
    const sign = (rule.goal ?? inferGoal(metric)) === 'minimize' ? 1 : -1;
    let best: VersionFacts | undefined;
    for (const v of sorted) {
      const value = ownValue(v.metrics, metric);
      if (value === undefined || !Number.isFinite(value)) continue;
      if (!best || sign * value < sign * (ownValue(best.metrics, metric) as number)) best = v;
    }
    return best?.version ?? null;
  }
  return null;
}

/** `champion: best val_mae`, `stable: v3`, for reasons. */
export function describeRule(rule: AliasRule): string {
  if (rule.version !== undefined) return `pinned to v${rule.version}`;
  if (rule.policy === 'best')
    return `best ${rule.metric ?? '?'} (${rule.goal ?? inferGoal(rule.metric ?? '')})`;
  return 'latest';
}
