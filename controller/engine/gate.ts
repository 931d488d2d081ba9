/** The registration gate of a RegisteredModel: does a run's output become a version? */
import { ownValue } from '../../resources/own-property.js';
import {
  inferGoal,
  SEASONAL_NAIVE_PREFIX,
  type BaselineRule,
  type RegisteredModelSpec,
} from '../../resources/registered-model.js';

export type GateResult = { passed: boolean; detail: string };

/** Short, stable number formatting for reasons (`4.3125` not `4.312499999`). */
export const formatMetric = (value: number): string => String(Number(value.toPrecision(4)));

/**
 * `max`/`min` bound the metric; `beatBaseline` asks for strictly better than the naive baseline the
 * trainer reports for the same metric, in the metric's direction (`inferGoal`): `true`/`lastValue`
 * the `baseline` of that name, `seasonalNaive` the seasonal-naive one (`seasonal_naive_<metric>`),
 * `both` or `any` of the two. A missing metric or baseline fails: a gate that cannot be checked
 * must not let a run through (`any` passes on the one that exists and is beaten).
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
    const verdict = beatsBaselines(gate.beatBaseline, metric, shown, value, baseline);
    if (!verdict.passed) return verdict;
    passed.push(verdict.detail);
  }
  return { passed: true, detail: passed.join(', ') || shown };
}

const BASELINE_NAMES = { lastValue: 'baseline', seasonalNaive: 'seasonal-naive baseline' } as const;

/** Whether `value` strictly beats the baselines `rule` asks for, and why (the reasons of `true` kept as they were). */
function beatsBaselines(
  rule: true | BaselineRule,
  metric: string,
  shown: string,
  value: number,
  baseline: Readonly<Record<string, number>> | undefined,
): GateResult {
  const kinds: (keyof typeof BASELINE_NAMES)[] =
    rule === true || rule === 'lastValue'
      ? ['lastValue']
      : rule === 'seasonalNaive'
        ? ['seasonalNaive']
        : ['lastValue', 'seasonalNaive'];
  const verdicts = kinds.map((kind) => {
    const base = ownValue(baseline, kind === 'lastValue' ? metric : `${SEASONAL_NAIVE_PREFIX}${metric}`);
    const name = BASELINE_NAMES[kind];
    if (base === undefined || !Number.isFinite(base))
      return { beaten: false, detail: `the run reports no ${name} ${metric}` };
    const beaten = inferGoal(metric) === 'minimize' ? value < base : value > base;
    return {
      beaten,
      detail: beaten
        ? `beats the ${name} ${formatMetric(base)}`
        : `${shown} does not beat the ${name} ${formatMetric(base)}`,
    };
  });
  const passed = rule === 'any' ? verdicts.some((v) => v.beaten) : verdicts.every((v) => v.beaten);
  // Passed: what was beaten; failed: what was not (for `any`, each of them).
  const told = verdicts.filter((v) => v.beaten === passed);
  return { passed, detail: told.map((v) => v.detail).join(rule === 'any' && !passed ? ' and ' : ', ') };
}
