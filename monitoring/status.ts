/**
 * What observation says about a monitored endpoint: drift scores of the last complete window(s)
 * and live quality, computed from window summaries. It is observed state (like `healthy`), shown
 * by `get`, `describe`, the dashboard and `/metrics`, and read by Schedule triggers and
 * notifications.
 */
import { Type, type Static } from '@sinclair/typebox';

export const FeatureDriftSchema = Type.Object({
  /** Feature name, or `_prediction`. */
  name: Type.String(),
  metric: Type.Union([Type.Literal('psi'), Type.Literal('js')]),
  score: Type.Number(),
  threshold: Type.Number(),
  drifted: Type.Boolean(),
  /** Kolmogorov-Smirnov statistic from the binned CDFs (numeric features), for display. */
  ks: Type.Optional(Type.Number()),
});
export type FeatureDrift = Static<typeof FeatureDriftSchema>;

export const MonitoringStatusSchema = Type.Object({
  /** The window scored (the last complete one with at least `minSamples`), ISO instants. */
  windowStart: Type.Optional(Type.String()),
  windowEnd: Type.Optional(Type.String()),
  /** Requests counted in that window. */
  count: Type.Integer({ minimum: 0 }),
  /** `unknown` when no complete window has `minSamples` yet. */
  drift: Type.Union([Type.Literal('ok'), Type.Literal('drifted'), Type.Literal('unknown')]),
  features: Type.Array(FeatureDriftSchema),
  quality: Type.Optional(
    Type.Object({
      metric: Type.String(),
      value: Type.Number(),
      /** Feedback items the value is computed from. */
      count: Type.Integer({ minimum: 0 }),
      /** The same metric on the validation split at training time, for comparison. */
      validation: Type.Optional(Type.Number()),
      degraded: Type.Boolean(),
    }),
  ),
  /** Requests sampled into the log and dropped because the buffer was full, over the window. */
  logged: Type.Optional(Type.Integer({ minimum: 0 })),
  dropped: Type.Optional(Type.Integer({ minimum: 0 })),
});
export type MonitoringStatus = Static<typeof MonitoringStatusSchema>;
