/** Prometheus metrics of the controller, in their own Registry (no global state shared with tests). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { redactCredentials } from '../../resources/credential.js';
import type { ResourceStatus } from '../engine/status.js';
import type { SyncResult } from './status-schema.js';
import type { ObservedEndpoint } from '../../providers/provider.js';
import { worstFirst } from '../../monitoring/drift.js';

export type SyncOutcome = SyncResult;
export type ErrorType =
  'validation' | 'apply' | 'source' | 'lease' | 'schedule' | 'observe' | 'webhook' | 'internal';
export type CallOutcome = 'ok' | 'error' | 'exception';

export interface ControllerMetrics {
  registry: Registry;
  syncDuration: Histogram<'result'>;
  syncTotal: Counter<'result'>;
  lastSyncedCommit: Gauge<'commit'>;
  resources: Gauge<'kind' | 'sync_status' | 'health'>;
  providerCalls: Counter<'provider' | 'kind' | 'verb' | 'outcome'>;
  trainingsRunning: Gauge;
  errors: Counter<'type'>;
  leader: Gauge;
  notificationsPending: Gauge;
  notificationsDelivered: Counter<'sink'>;
  notificationsFailed: Counter<'sink'>;
  setCommit(commit: string): void;
  setResources(statuses: readonly Pick<ResourceStatus, 'kind' | 'sync' | 'health'>[]): void;
  driftScore: Gauge<'endpoint' | 'feature'>;
  quality: Gauge<'endpoint' | 'metric'>;
  /** Drift scores and live quality of the monitored endpoints, as last observed. */
  setMonitoring(endpoints: readonly Pick<ObservedEndpoint, 'name' | 'monitoring'>[]): void;
}

/**
 * Feature scores exported per endpoint at most (the worst first): feature names come from an
 * artifact's statistics.json, and each is a time series Prometheus keeps.
 */
export const MAX_DRIFT_SERIES_PER_ENDPOINT = 100;

export function createControllerMetrics(options: { defaultMetrics?: boolean } = {}): ControllerMetrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const syncDuration = new Histogram({
    name: 'mlform_sync_duration_seconds',
    help: 'Duration of one sync: load manifests, observe, plan, apply.',
    labelNames: ['result'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });
  const syncTotal = new Counter({
    name: 'mlform_sync_total',
    help: 'Syncs by result.',
    labelNames: ['result'] as const,
    registers: [registry],
  });
  const lastSyncedCommit = new Gauge({
    name: 'mlform_last_synced_commit_info',
    help: 'The commit of the desired state last applied (value 1).',
    labelNames: ['commit'] as const,
    registers: [registry],
  });
  const resources = new Gauge({
    name: 'mlform_resources',
    help: 'Managed resources by kind, sync status and health.',
    labelNames: ['kind', 'sync_status', 'health'] as const,
    registers: [registry],
  });
  const providerCalls = new Counter({
    name: 'mlform_provider_calls_total',
    help: 'Provider verbs called, per resource kind and outcome.',
    labelNames: ['provider', 'kind', 'verb', 'outcome'] as const,
    registers: [registry],
  });
  const trainingsRunning = new Gauge({
    name: 'mlform_trainings_running',
    help: 'Training runs queued or running.',
    registers: [registry],
  });
  const errors = new Counter({
    name: 'mlform_errors_total',
    help: 'Errors by type (validation, apply, source, lease, schedule, observe, webhook, internal).',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const leader = new Gauge({
    name: 'mlform_leader',
    help: '1 while this replica holds the leader lease.',
    registers: [registry],
  });
  const driftScore = new Gauge({
    name: 'mlform_endpoint_drift_score',
    help: "Drift score (PSI or Jensen-Shannon distance, the endpoint's drift.metric) per feature of the last scored window; `_prediction` is the model's output.",
    labelNames: ['endpoint', 'feature'] as const,
    registers: [registry],
  });
  const quality = new Gauge({
    name: 'mlform_endpoint_quality',
    help: 'Live quality (mae, rmse or accuracy) from the feedback joined in the last scored window.',
    labelNames: ['endpoint', 'metric'] as const,
    registers: [registry],
  });
  const notificationsPending = new Gauge({
    name: 'mlform_notifications_pending',
    help: 'Deliveries waiting in the notification outbox after the last drain.',
    registers: [registry],
  });
  // Per sink of mlform.yaml: sink names are DNS labels a commit chose (bounded to 20 sinks).
  const perSink = (name: string, help: string) =>
    new Counter({ name, help, labelNames: ['sink'] as const, registers: [registry] });
  const notificationsDelivered = perSink(
    'mlform_notifications_delivered_total',
    'Notifications delivered, per sink.',
  );
  const notificationsFailed = perSink(
    'mlform_notifications_failed_total',
    'Notification delivery attempts that failed (retried with backoff), per sink.',
  );
  return {
    registry,
    driftScore,
    quality,
    notificationsPending,
    notificationsDelivered,
    notificationsFailed,
    syncDuration,
    syncTotal,
    lastSyncedCommit,
    resources,
    providerCalls,
    trainingsRunning,
    errors,
    leader,
    setCommit(commit) {
      lastSyncedCommit.reset();
      // Label values are scraped and stored by Prometheus for weeks: nothing secret in them.
      lastSyncedCommit.set({ commit: redactCredentials(commit) }, 1);
    },
    setResources(statuses) {
      resources.reset();
      for (const s of statuses) resources.inc({ kind: s.kind, sync_status: s.sync, health: s.health });
    },
    setMonitoring(endpoints) {
      // Reset: an endpoint deleted or a window without scores leaves no stale series behind.
      driftScore.reset();
      quality.reset();
      for (const { name, monitoring } of endpoints) {
        if (!monitoring) continue;
        const worst = worstFirst(monitoring.features).slice(0, MAX_DRIFT_SERIES_PER_ENDPOINT);
        for (const f of worst) driftScore.set({ endpoint: name, feature: f.name }, f.score);
        if (monitoring.quality)
          quality.set({ endpoint: name, metric: monitoring.quality.metric }, monitoring.quality.value);
      }
    },
  };
}
