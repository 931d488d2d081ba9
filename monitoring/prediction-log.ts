/**
 * The prediction log: sampled requests and responses as JSON lines, one object per batch flush,
 * and the feedback (truth) clients post later for request ids the server returned.
 */
import { Type, type Static } from '@sinclair/typebox';

/** Response header carrying the request id that feedback refers to. */
export const REQUEST_ID_HEADER = 'x-mlform-request-id';

export const PredictionRecordSchema = Type.Object({
  id: Type.String({ maxLength: 128 }),
  time: Type.String(),
  endpoint: Type.String(),
  model: Type.String(),
  version: Type.Integer({ minimum: 1 }),
  /** The raw instances as the client sent them (TensorFlow Serving's `instances`). */
  instances: Type.Array(Type.Unknown()),
  predictions: Type.Array(Type.Unknown()),
});
export type PredictionRecord = Static<typeof PredictionRecordSchema>;

export const FeedbackItemSchema = Type.Object(
  {
    id: Type.String({
      minLength: 1,
      maxLength: 128,
      description: 'A request id from the x-mlform-request-id header.',
    }),
    /** Index of the instance within that request (default 0). */
    index: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
    truth: Type.Union([Type.Number(), Type.String({ maxLength: 256 })]),
  },
  { additionalProperties: false },
);
export const FeedbackRequestSchema = Type.Object(
  { feedback: Type.Array(FeedbackItemSchema, { minItems: 1, maxItems: 10_000 }) },
  { additionalProperties: false },
);
export type FeedbackRequest = Static<typeof FeedbackRequestSchema>;
