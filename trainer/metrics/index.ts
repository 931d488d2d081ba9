export { accuracy, classificationMetrics, confusionMatrix, macroF1 } from './classification.js';
export type { ClassificationMetrics, ConfusionMatrix } from './classification.js';
export { mae, r2, regressionMetrics, rmse, smape } from './regression.js';
export type { RegressionMetrics } from './regression.js';
export { decodeClasses, decodeNumbers, evaluate, evaluateConfusion } from './evaluate.js';
export { baselineMetrics, forecastBaselines, ratioToBaseline, seasonalNaiveNames } from './baseline.js';
export type { ForecastReport } from './baseline.js';
