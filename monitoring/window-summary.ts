/**
 * A window summary: what one model-server instance saw in one drift window, counted into the
 * reference bins of the version it served. The server writes one per (window, version, instance);
 * drift and live quality are computed from these summaries only, never by rereading the logs.
 */
import { Type, type Static } from '@sinclair/typebox';

export const WINDOW_FORMAT_VERSION = 1;

export const NumericCountsSchema = Type.Object({
  type: Type.Literal('numeric'),
  /** Same length as the reference's `counts`. */
  counts: Type.Array(Type.Integer({ minimum: 0 }), { maxItems: 100 }),
  missing: Type.Integer({ minimum: 0 }),
});

export const CategoricalCountsSchema = Type.Object({
  type: Type.Literal('categorical'),
  /** Counts of the reference's categories; anything else is in `other`. */
  categories: Type.Record(Type.String(), Type.Integer({ minimum: 0 })),
  other: Type.Integer({ minimum: 0 }),
  missing: Type.Integer({ minimum: 0 }),
});

export const FeatureCountsSchema = Type.Union([NumericCountsSchema, CategoricalCountsSchema]);
export type FeatureCounts = Static<typeof FeatureCountsSchema>;

/** Feedback joined to logged predictions in the window: enough to give MAE, RMSE and accuracy. */
export const QualityCountsSchema = Type.Object({
  /** Feedback items joined to a prediction. */
  count: Type.Integer({ minimum: 0 }),
  sumAbsError: Type.Number({ minimum: 0 }),
  sumSquaredError: Type.Number({ minimum: 0 }),
  correct: Type.Integer({ minimum: 0 }),
  /** Feedback whose request id was unknown or expired. */
  unmatched: Type.Integer({ minimum: 0 }),
});
export type QualityCounts = Static<typeof QualityCountsSchema>;

export const WindowSummarySchema = Type.Object({
  formatVersion: Type.Literal(WINDOW_FORMAT_VERSION),
  endpoint: Type.String(),
  model: Type.String(),
  version: Type.Integer({ minimum: 1 }),
  /** ISO instants; windows are aligned to multiples of the window length since the epoch. */
  windowStart: Type.String(),
  windowEnd: Type.String(),
  /** Instance that wrote it (several serve one endpoint on Cloud Run). */
  instance: Type.String(),
  /** Instances (rows) counted: every request, not only the sampled ones. */
  count: Type.Integer({ minimum: 0 }),
  features: Type.Record(Type.String(), FeatureCountsSchema),
  prediction: Type.Optional(FeatureCountsSchema),
  quality: Type.Optional(QualityCountsSchema),
});
export type WindowSummary = Static<typeof WindowSummarySchema>;
