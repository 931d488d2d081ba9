/** The registration gate of a RegisteredModel: does a run's output become a version? */
import { ownValue } from '../../resources/own-property.js';
import { inferGoal, type RegisteredModelSpec } from '../../resources/registered-model.js';

export type GateResult = { passed: boolean; detail: string };

/** Short, stable number formatting for reasons (`4.3125` not `4.312499999`). */
export const formatMetric = (value: number): string => String(Number(value.toPrecision(4)));

/**
 * `max`/`min` bound the metric; `beatBaseline` asks for strictly better than the naive baseline the
 * trainer reports for the same metric, in the metric's direction (`inferGoal`). A missing metric
 * fails: a gate that cannot be checked must not let a run through.
 */
export function evaluateGate(
  gate: RegisteredModelSpec['gate'],
  metrics: Readonly<Record<string, number>> | undefined,
  baseline: Readonly<Record<string, number>> | undefined,
): GateResult {
  if (!gate) return { passed: true, detail: 'no gate' };
  const { metric } = gate;
  const value = ownValue(metrics, metric);
  if (value === undefined || !Number.isFinite(value)) {
    return { passed: false, detail: `the run reports no ${metric}` };
  }
  const shown = `${metric} ${formatMetric(value)}`;
  if (gate.max !== undefined && value > gate.max) {
    return { passed: false, detail: `${shown} > ${formatMetric(gate.max)}` };
  }
  if (gate.min !== undefined && value < gate.min) {
    return { passed: false, detail: `${shown} < ${formatMetric(gate.min)}` };
  }
  const passed: string[] = [];
  if (gate.max !== undefined) passed.push(`${shown} <= ${formatMetric(gate.max)}`);
  if (gate.min !== undefined) passed.push(`${shown} >= ${formatMetric(gate.min)}`);
  if (gate.beatBaseline) {
    const base = ownValue(baseline, metric);
    if (base === undefined || !Number.isFinite(base)) {
      return { passed: false, detail: `the run reports no baseline ${metric}` };
    }
    const better = inferGoal(metric) === 'minimize' ? value < base : value > base;
    if (!better) {
      return {
        passed: false,
        detail: `${shown} does not beat the baseline ${formatMetric(base)}`,
      };
    }
    passed.push(`beats the baseline ${formatMetric(base)}`);
  }
  return { passed: true, detail: passed.join(', ') || shown };
}
