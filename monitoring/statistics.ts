/**
 * `statistics.json` in a trainer artifact: per-feature statistics of the training data and of the
 * model's predictions on the training and validation rows, the reference that any later window of served requests is compared to.
 * The bins are fixed here, at training time, so the model server counts a window into the same
 * bins and drift needs only the two count vectors (never the raw rows).
 */
import { Type, type Static } from '@sinclair/typebox';

export const STATISTICS_FILE = 'statistics.json';
export const STATISTICS_FORMAT_VERSION = 1;
/** The key of the model's output among `features` thresholds and drift reports. */
export const PREDICTION_KEY = '_prediction';

export const NumericStatisticsSchema = Type.Object({
  type: Type.Literal('numeric'),
  /** Rows with a value (missing excluded). */
  count: Type.Integer({ minimum: 0 }),
  missing: Type.Integer({ minimum: 0 }),
  /**
   * Inner bin edges, ascending, from the training quantiles (at most 10 bins, fewer when values
   * repeat). Bin i holds values in [edges[i-1], edges[i]); the first and last bins are open-ended.
   */
  edges: Type.Array(Type.Number(), { maxItems: 99 }),
  /** Counts per bin: `edges.length + 1` entries. */
  counts: Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, maxItems: 100 }),
  min: Type.Number(),
  max: Type.Number(),
  mean: Type.Number(),
  std: Type.Number({ minimum: 0 }),
});
export type NumericStatistics = Static<typeof NumericStatisticsSchema>;

export const CategoricalStatisticsSchema = Type.Object({
  type: Type.Literal('categorical'),
  count: Type.Integer({ minimum: 0 }),
  missing: Type.Integer({ minimum: 0 }),
  /** Counts of the most frequent values (at most 100); the rest are counted in `other`. */
  categories: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
  other: Type.Integer({ minimum: 0 }),
});
export type CategoricalStatistics = Static<typeof CategoricalStatisticsSchema>;

export const FeatureStatisticsSchema = Type.Union([NumericStatisticsSchema, CategoricalStatisticsSchema]);
export type FeatureStatistics = Static<typeof FeatureStatisticsSchema>;

export const ReferenceStatisticsSchema = Type.Object({
  formatVersion: Type.Literal(STATISTICS_FORMAT_VERSION),
  /** Training rows the feature statistics were computed on. */
  rows: Type.Integer({ minimum: 0 }),
  /** Raw input features as clients send them (before preprocessing), by name. */
  features: Type.Record(Type.String(), FeatureStatisticsSchema),
  /** The model's output on the validation split (numeric for regression, labels for classification). */
  prediction: Type.Optional(FeatureStatisticsSchema),
  /** Validation metrics the live quality is compared to (same names as metrics.json). */
  validation: Type.Optional(Type.Record(Type.String(), Type.Number())),
});
export type ReferenceStatistics = Static<typeof ReferenceStatisticsSchema>;
