/**
 * Naive baselines a model must beat to be worth registering (RegisteredModel gate `beatBaseline`):
 * - regression: always predict the training mean;
 * - classification: always predict the training split's most frequent class;
 * - forecasting: persistence, the last observed value of the window, and, when the series has a
 *   season, seasonal naive (the value at the same point of the last observed cycle); both scored
 *   by MASE too (`forecastBaselines`).
 */
import type { MetricsFile } from '../../artifact/files.js';
import { SEASONAL_NAIVE_PREFIX } from '../../resources/registered-model.js';
import type { ForecastSeries, Preprocess, Samples, Task } from '../types.js';
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

/**
 * metrics.json `forecast` (artifact/files.ts): the season and where it came from, MASE's scale
 * (null when the training series has no variation at that lag, so MASE is undefined and left
 * out), model MAE / seasonal-naive MAE, and why there is no seasonal-naive baseline when there is none.
 */
export type ForecastReport = NonNullable<MetricsFile['forecast']>;

/**
 * MASE for the model and the last-value baseline (`mase`, beside their other metrics), the
 * seasonal-naive baseline's metrics (empty without a season), and the report. All names are
 * unprefixed like evaluate()'s (`mae`, `mase`); `truth` is the validation targets in original
 * units. metrics.json keeps the seasonal-naive ones in `baseline` as `seasonal_naive_val_<name>`
 * (`seasonalNaiveNames`), so every provider carries them to the gate unchanged.
 */
export function forecastBaselines(
  forecast: ForecastSeries,
  validation: Samples,
  truth: ArrayLike<number>,
  model: Readonly<Record<string, number>>,
  lastValue: Readonly<Record<string, number>>,
): {
  model: Record<string, number>;
  lastValue: Record<string, number>;
  seasonalNaive: Record<string, number>;
  report: ForecastReport;
} {
  const { season, scale, scaleLag } = forecast;
  const scaled = Number.isFinite(scale) && scale > 0;
  const mase = (m: Readonly<Record<string, number>>): Record<string, number> =>
    scaled && Number.isFinite(m.mae) ? { mase: m.mae / scale } : {};
  const report: ForecastReport = {
    season: season.length,
    seasonSource: season.source,
    maseScale: scaled ? scale : null,
    maseScaleLag: scaleLag,
    ratioToSeasonalNaive: null,
  };
  const out = { model: { ...model, ...mase(model) }, lastValue: { ...lastValue, ...mase(lastValue) } };
  const seasonal = validation.seasonal;
  if (season.length === null || !seasonal) {
    return { ...out, seasonalNaive: {}, report: { ...report, seasonalNaive: season.source } };
  }
  if (seasonal.some((v) => Number.isNaN(v))) {
    const missing = seasonal.filter((v) => Number.isNaN(v)).length;
    return {
      ...out,
      seasonalNaive: {},
      report: {
        ...report,
        seasonalNaive: `none: ${missing} validation samples have no value one season (${season.length} steps) back`,
      },
    };
  }
  const metrics: Record<string, number> = { ...regressionMetrics(truth, seasonal) };
  Object.assign(metrics, mase(metrics));
  const ratio = metrics.mae === 0 ? (model.mae === 0 ? 1 : Infinity) : model.mae / metrics.mae;
  return {
    ...out,
    seasonalNaive: metrics,
    report: { ...report, ratioToSeasonalNaive: Number.isFinite(ratio) ? ratio : null },
  };
}

/** `val_mae` -> `seasonal_naive_val_mae`: the seasonal-naive baseline's names in metrics.json `baseline`. */
export const seasonalNaiveNames = (prefixed: Readonly<Record<string, number>>): Record<string, number> =>
  Object.fromEntries(
    Object.entries(prefixed).map(([name, value]) => [`${SEASONAL_NAIVE_PREFIX}${name}`, value]),
  );
