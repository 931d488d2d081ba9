/**
 * Health penalties (issue 17 item 3): a trial's score is its metric worsened by
 * Σ weight × (1 − health.components[name]), in the metric's own units, so a slightly better but
 * unhealthy trial (dead units, exploding gradients, an unstable or overfitting curve) loses to a
 * healthy one. The components come from metrics.json `health` (trainer/health/assess-health.ts),
 * which the artifact schema leaves `unknown`: it is validated here, component by component.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { PENALTIES } from '../../../resources/training-run.js';
import type { Goal, Tuning } from '../study-types.js';

export type PenaltyName = (typeof PENALTIES)[number];

/** What is read of metrics.json `health`: the components, each 0 (unhealthy) .. 1 (healthy). */
const Component = Type.Union([Type.Number(), Type.Null()]);
export const HealthComponentsSchema = Type.Object({
  components: Type.Partial(
    Type.Object(
      Object.fromEntries(PENALTIES.map((name) => [name, Component])) as Record<PenaltyName, typeof Component>,
    ),
  ),
});
export type HealthComponents = Static<typeof HealthComponentsSchema>;

/**
 * A component's health in [0, 1]. Missing, null (JSON's NaN) or unreadable counts as 0, the
 * worst: an artifact that does not show its health cannot buy a better score by hiding it, and a
 * diverged training writes exactly such values.
 */
function componentHealth(health: unknown, name: PenaltyName): number {
  if (!Value.Check(HealthComponentsSchema, health)) return 0;
  const value = health.components[name];
  if (typeof value !== 'number' || !Number.isFinite(value)) return 0;
  return Math.min(1, Math.max(0, value));
}

export interface Penalty {
  /** In the metric's units, ≥ 0: added to a minimised metric, subtracted from a maximised one. */
  total: number;
  /** weight × (1 − component) for each weighted component. */
  parts: Record<string, number>;
}

export function healthPenalty(penalties: Tuning['penalties'], health: unknown): Penalty {
  const parts: Record<string, number> = {};
  let total = 0;
  for (const name of PENALTIES) {
    const weight = penalties?.[name];
    if (weight === undefined) continue;
    const part = weight * (1 - componentHealth(health, name));
    parts[name] = part;
    total += part;
  }
  return { total, parts };
}

/** The metric worsened by the penalty in the direction of `goal`; null when the metric is. */
export const penalised = (metric: number | null, penalty: Penalty, goal: Goal): number | null =>
  metric === null ? null : goal === 'minimize' ? metric + penalty.total : metric - penalty.total;
