/** The metric worth one glance: the model's gate metric, else the first present of a fixed list. */
import { ownValue } from '../../../resources/own-property.js';
import { formatMetric } from '../../engine/status.js';

/** Same preference as `mlform get` (controller/engine/status.ts). */
export const KEY_METRICS = ['val_mae', 'val_accuracy', 'val_rmse', 'val_loss', 'mae', 'accuracy', 'loss'];

export function keyMetricName(
  metrics: readonly Readonly<Record<string, number>>[],
  gateMetric: string | undefined,
): string | undefined {
  if (gateMetric !== undefined) return gateMetric;
  return KEY_METRICS.find((name) => metrics.some((m) => ownValue(m, name) !== undefined));
}

/** `val_mae 2.31`, or undefined when the metrics lack it. */
export function keyMetricText(
  metrics: Readonly<Record<string, number>> | undefined,
  gateMetric: string | undefined,
): string | undefined {
  const name = keyMetricName(metrics ? [metrics] : [], gateMetric);
  const value = name === undefined ? undefined : ownValue(metrics, name);
  return name === undefined || value === undefined ? undefined : `${name} ${formatMetric(value)}`;
}
