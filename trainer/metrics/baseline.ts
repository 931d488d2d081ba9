/**
 * Naive baselines a model must beat to be worth registering (RegisteredModel gate `beatBaseline`):
 * - regression: always predict the training mean;
 * - classification: always predict the training split's most frequent class;
 * - forecasting: persistence, the last observed value of the window.
 */
import type { Preprocess, Samples, Task } from '../types.js';
import { classificationMetrics, confusionMatrix } from './classification.js';
import { decodeClasses, decodeNumbers } from './evaluate.js';
import { regressionMetrics } from './regression.js';

/** The baseline's metrics on `validation`, with the same names evaluate() uses. */
export function baselineMetrics(
  task: Task,
  preprocess: Preprocess,
  train: Samples,
  validation: Samples,
): Record<string, number> {
  const target = preprocess.target;
  if (task === 'classification') {
    if (target.type !== 'label') throw new Error('classification needs a label target');
    const k = target.labels.length;
    const counts = new Array<number>(k).fill(0);
    for (const c of decodeClasses(preprocess, train.y)) counts[c]++;
    // Ties go to the first label in sorted order, so the baseline is deterministic.
    const majority = counts.indexOf(Math.max(...counts));
    const truth = decodeClasses(preprocess, validation.y);
    return {
      ...classificationMetrics(
        confusionMatrix(target.labels, truth, new Int32Array(truth.length).fill(majority)),
      ),
    };
  }
  const truth = decodeNumbers(preprocess, validation.y, validation.anchor);
  if (task === 'forecasting') {
    if (!validation.anchor)
      throw new Error("the persistence baseline needs the samples' anchor (last observed values)");
    // Compared in original units directly: no round trip through float32 encoded outputs.
    return { ...regressionMetrics(truth, validation.anchor) };
  }
  if (target.type !== 'numeric') throw new Error('regression needs a numeric target');
  // The target is standardised by the train mean, so target.mean is exactly the train mean.
  return { ...regressionMetrics(truth, new Float64Array(truth.length).fill(target.mean)) };
}

/**
 * How the model compares with its baseline, as one number. Regression and forecasting: model MAE /
 * baseline MAE (below 1 is better). Classification: model accuracy / baseline accuracy (above 1 is
 * better). Infinity when the baseline is perfect and the model is not, 1 when both are.
 */
export function ratioToBaseline(
  task: Task,
  model: Readonly<Record<string, number>>,
  baseline: Readonly<Record<string, number>>,
): number {
  const metric = task === 'classification' ? 'accuracy' : 'mae';
  const m = model[metric] ?? model[`val_${metric}`];
  const b = baseline[metric] ?? baseline[`val_${metric}`];
  if (m === undefined || b === undefined)
    throw new Error(`ratioToBaseline needs "${metric}" in both metric sets`);
  if (b === 0) return m === 0 ? 1 : Infinity;
  return m / b;
}
