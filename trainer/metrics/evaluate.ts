/**
 * Scoring in original units: decodes what the network is trained on (Samples.y) and what it
 * outputs through the same decoder serving uses, then computes the task's metrics.
 * Metric names: mae, rmse, smape, r2 (regression, forecasting); accuracy, macro_f1 (classification).
 * The training loop prefixes them with `val_`.
 */
import { argmax, decodeNumber } from '../../artifact/preprocess/target.js';
import type { Preprocess, Task } from '../types.js';
import { classificationMetrics, confusionMatrix, type ConfusionMatrix } from './classification.js';
import { regressionMetrics } from './regression.js';

/** Numeric targets or outputs (one per sample) -> original units. Delta targets need `anchor`. */
export function decodeNumbers(
  preprocess: Preprocess,
  values: Float32Array,
  anchor?: Float64Array,
): Float64Array {
  const target = preprocess.target;
  if (target.type !== 'numeric') throw new Error(`target "${target.name}" is a label, not a number`);
  if (target.mode === 'delta' && (anchor === undefined || anchor.length !== values.length)) {
    throw new Error(
      `target "${target.name}" is a change from the window's last value: pass the samples' anchor`,
    );
  }
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = decodeNumber(target, values[i], anchor?.[i]);
  return out;
}

/** One-hot targets or softmax outputs -> class indices into preprocess.target.labels. */
export function decodeClasses(preprocess: Preprocess, values: Float32Array): Int32Array {
  const target = preprocess.target;
  if (target.type !== 'label') throw new Error(`target "${target.name}" is a number, not a label`);
  const k = target.labels.length;
  if (values.length % k !== 0)
    throw new Error(`${values.length} values do not split into rows of ${k} classes`);
  const out = new Int32Array(values.length / k);
  for (let i = 0; i < out.length; i++) out[i] = argmax(values, i * k, k);
  return out;
}

/**
 * Metrics of predictions `yPred` (network outputs) against `yTrue` (Samples.y), both in the
 * network's encoded space, computed after decoding to original units. Forecasting needs
 * `anchor` (Samples.anchor).
 */
export function evaluate(
  task: Task,
  preprocess: Preprocess,
  yTrue: Float32Array,
  yPred: Float32Array,
  anchor?: Float64Array,
): Record<string, number> {
  if (task === 'classification')
    return { ...classificationMetrics(evaluateConfusion(preprocess, yTrue, yPred)) };
  return {
    ...regressionMetrics(decodeNumbers(preprocess, yTrue, anchor), decodeNumbers(preprocess, yPred, anchor)),
  };
}

/** The confusion matrix (rows: true label, columns: predicted) for a classification task. */
export function evaluateConfusion(
  preprocess: Preprocess,
  yTrue: Float32Array,
  yPred: Float32Array,
): ConfusionMatrix {
  const target = preprocess.target;
  if (target.type !== 'label') throw new Error(`a confusion matrix needs a classification target`);
  return confusionMatrix(target.labels, decodeClasses(preprocess, yTrue), decodeClasses(preprocess, yPred));
}
