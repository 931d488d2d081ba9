/**
 * Model monitoring in manifests (issue 15): what a DeployedEndpoint samples and compares
 * (`spec.monitoring`), when a Schedule fires on a signal (`spec.triggers`), and where `mlform.yaml`
 * sends notifications (`notifications`). The observed side (drift scores, live quality) is in
 * `monitoring/`; this module only says what a manifest may ask for.
 */
import { Type, type Static } from '@sinclair/typebox';
import { SecretRefSchema } from './secret-ref.js';
import { StringEnum, Strict } from './schema-helpers.js';
import { DURATION_PATTERN } from './training-run.js';

export const DRIFT_METRICS = ['psi', 'js'] as const;
export type DriftMetric = (typeof DRIFT_METRICS)[number];

/** Live quality metrics a feedback window can give: regression and classification. */
export const QUALITY_METRICS = ['mae', 'rmse', 'accuracy'] as const;
export type QualityMetric = (typeof QUALITY_METRICS)[number];

const Duration = (description: string, fallback: string) =>
  Type.String({ pattern: DURATION_PATTERN, default: fallback, description });

export const DriftSettingsSchema = Type.Object(
  {
    metric: StringEnum(DRIFT_METRICS, {
      default: 'psi',
      description:
        'psi: population stability index (0.1 moderate, 0.2 significant); js: Jensen-Shannon distance, 0-1 (base 2).',
    }),
    threshold: Type.Number({
      minimum: 0,
      default: 0.2,
      description: 'Score above which a feature (or the prediction) has drifted.',
    }),
    features: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Type.Number({ minimum: 0 }), {
        description: 'Per-feature thresholds that replace `threshold` (the prediction is `_prediction`).',
      }),
    ),
  },
  { ...Strict, default: {}, description: 'How drift is scored against the training statistics.' },
);
export type DriftSettings = Static<typeof DriftSettingsSchema>;

export const EndpointMonitoringSchema = Type.Object(
  {
    sampleRate: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.1,
      description:
        'Share of requests whose inputs and outputs are logged (0-1). Window statistics count every request.',
    }),
    window: Duration('Length of a drift window, e.g. `1h`.', '1h'),
    minSamples: Type.Integer({
      minimum: 1,
      maximum: 10_000_000,
      default: 100,
      description: 'Fewest requests in a window before drift is scored; fewer and drift is unknown.',
    }),
    drift: DriftSettingsSchema,
    quality: Type.Optional(
      Type.Object(
        {
          metric: StringEnum(QUALITY_METRICS, { description: 'Live metric from the feedback route.' }),
          max: Type.Optional(
            Type.Number({ description: 'Worst acceptable value of an error metric (mae, rmse).' }),
          ),
          min: Type.Optional(Type.Number({ description: 'Worst acceptable value of accuracy.' })),
        },
        { ...Strict, description: 'Live quality bound: past it the endpoint is Degraded.' },
      ),
    ),
    retention: Duration('How long prediction logs and window summaries are kept, e.g. `168h`.', '168h'),
  },
  {
    ...Strict,
    description:
      'Prediction logging, drift against the training statistics and live quality (README "Monitoring").',
  },
);
export type EndpointMonitoring = Static<typeof EndpointMonitoringSchema>;

export const DriftTriggerSchema = Type.Object(
  {
    drift: Type.Object(
      {
        endpoint: Type.String({ minLength: 1, description: 'DeployedEndpoint whose drift is watched.' }),
        threshold: Type.Optional(
          Type.Number({
            minimum: 0,
            description: "Fire when the worst drift score exceeds this; default the endpoint's threshold.",
          }),
        ),
      },
      Strict,
    ),
  },
  { ...Strict, description: 'Fire when the endpoint has drifted.' },
);

export const QualityTriggerSchema = Type.Object(
  {
    quality: Type.Object(
      {
        endpoint: Type.String({
          minLength: 1,
          description: 'DeployedEndpoint whose live quality is watched.',
        }),
        metric: StringEnum(QUALITY_METRICS, { description: 'Live metric from the feedback route.' }),
        max: Type.Optional(
          Type.Number({ description: 'Fire when an error metric (mae, rmse) exceeds this.' }),
        ),
        min: Type.Optional(Type.Number({ description: 'Fire when accuracy falls below this.' })),
      },
      Strict,
    ),
  },
  { ...Strict, description: 'Fire when live quality is past a bound.' },
);

export const ScheduleTriggerSchema = Type.Union([DriftTriggerSchema, QualityTriggerSchema], {
  description: '`{drift: {endpoint, threshold?}}` or `{quality: {endpoint, metric, max | min}}`.',
});
export type ScheduleTrigger = Static<typeof ScheduleTriggerSchema>;

/** A Schedule's `cooldown` when it names none. */
export const DEFAULT_TRIGGER_COOLDOWN = '24h';

/** Events a notification sink can subscribe to (README "Monitoring"). */
export const NOTIFICATION_EVENTS = [
  'run.started',
  'run.succeeded',
  'run.failed',
  'gate.rejected',
  'version.registered',
  'alias.moved',
  'rollout.done',
  'rollout.failed',
  'drift.detected',
  'drift.resolved',
  'quality.degraded',
  'quality.recovered',
  'sync.failed',
  'sync.recovered',
  'schedule.missed',
  'schedule.triggered',
] as const;
export type NotificationEventType = (typeof NOTIFICATION_EVENTS)[number];

const SinkCommon = {
  name: Type.String({
    pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
    maxLength: 63,
    description: 'Name of the sink, in logs and `mlform get notifications`.',
  }),
  events: Type.Optional(
    Type.Array(StringEnum(NOTIFICATION_EVENTS), {
      minItems: 1,
      uniqueItems: true,
      description: 'Events sent to this sink; default all.',
    }),
  ),
};

export const SlackSinkSchema = Type.Object(
  {
    ...SinkCommon,
    type: Type.Literal('slack'),
    url: SecretRefSchema,
  },
  { ...Strict, description: 'A Slack incoming webhook; its URL is a secret.' },
);

export const WebhookSinkSchema = Type.Object(
  {
    ...SinkCommon,
    type: Type.Literal('webhook'),
    url: SecretRefSchema,
    signingKey: Type.Optional(SecretRefSchema),
  },
  {
    ...Strict,
    description:
      'An HTTPS endpoint receiving JSON events, signed with HMAC-SHA256 of `signingKey` (header `X-Mlform-Signature`), each with a delivery id.',
  },
);

export const NotificationSinkSchema = Type.Union([SlackSinkSchema, WebhookSinkSchema]);
export type NotificationSink = Static<typeof NotificationSinkSchema>;

export const NotificationsSchema = Type.Array(NotificationSinkSchema, {
  maxItems: 20,
  description:
    'Where events go (Slack, signed webhooks). Delivered at least once through an outbox in the state; URLs are secrets and HTTPS only.',
});
export type Notifications = Static<typeof NotificationsSchema>;
