/**
 * Drift as observed state: a monitored endpoint past a threshold is Degraded with the features
 * named (get), describe shows a Monitoring block, /metrics exports the scores. Crafted observed
 * state (the contract type), no provider.
 */
import { describe, expect, it } from 'vitest';
import { resourceStatus } from '../../controller/engine/status.js';
import { describeModel, renderDescribe } from '../../controller/ui/status-describe.js';
import { createStyle } from '../../controller/ui/style.js';
import { createControllerMetrics } from '../../controller/loop/metrics.js';
import type { MonitoringStatus } from '../../monitoring/status.js';
import type { ObservedEndpoint, ObservedState } from '../../providers/provider.js';

const drifted: MonitoringStatus = {
  windowStart: '2026-01-01T10:00:00.000Z',
  windowEnd: '2026-01-01T11:00:00.000Z',
  count: 1200,
  version: 3,
  drift: 'drifted',
  features: [
    { name: 'Origin', metric: 'psi', score: 0.05, threshold: 0.2, drifted: false },
    { name: 'Weight_in_lbs', metric: 'psi', score: 0.3, threshold: 0.2, drifted: true, ks: 0.21 },
    { name: 'Horsepower', metric: 'psi', score: 0.41, threshold: 0.2, drifted: true, ks: 0.33 },
    { name: '_prediction', metric: 'psi', score: 0.12, threshold: 0.2, drifted: false, ks: 0.1 },
  ],
  quality: { metric: 'mae', value: 3.1, count: 40, validation: 2.1, degraded: false },
};

const endpoint = (monitoring?: MonitoringStatus): ObservedEndpoint => ({
  name: 'mpg-api',
  specHash: 'h',
  spec: {
    model: 'mpg',
    traffic: [{ version: 3, percent: 100 }],
    preset: 'development',
    scaling: { minInstances: 0, maxInstances: 1 },
    resources: { memory: '1Gi', cpu: '1' },
    batching: { enabled: true, maxBatchSize: 64, batchTimeoutMicros: 0 },
    timeoutSeconds: 60,
  } as ObservedEndpoint['spec'],
  annotations: {},
  model: 'mpg',
  traffic: [{ version: 3, percent: 100 }],
  url: 'http://127.0.0.1:9000',
  healthy: true,
  ...(monitoring && { monitoring }),
});

const state = (e: ObservedEndpoint): ObservedState => ({
  runs: [],
  models: [],
  endpoints: [e],
  schedules: [],
});
const statusOf = (e: ObservedEndpoint) => resourceStatus({ resources: [] }, state(e), undefined)[0];

describe('drift in get, describe and /metrics', () => {
  it('a drifted endpoint is Degraded with the drifted features named, worst first', () => {
    const status = statusOf(endpoint(drifted));
    expect(status.health).toBe('Degraded');
    expect(status.details).toBe(
      'http://127.0.0.1:9000 v3 100%; drift: Horsepower psi 0.41 > 0.2, Weight_in_lbs psi 0.3 > 0.2; live mae 3.1 (validation 2.1)',
    );
    expect(status.monitoring).toEqual(drifted);
    expect(status.conditions[1]).toMatchObject({ type: 'Healthy', status: false, reason: 'Degraded' });
  });

  it('quality past its bound alone makes it Degraded; ok and unknown stay Healthy with the reason', () => {
    const quality = {
      ...drifted,
      drift: 'ok' as const,
      features: [],
      quality: { ...drifted.quality!, degraded: true },
    };
    expect(statusOf(endpoint(quality))).toMatchObject({
      health: 'Degraded',
      details: 'http://127.0.0.1:9000 v3 100%; drift ok; quality degraded: live mae 3.1 (validation 2.1)',
    });
    const unknown: MonitoringStatus = {
      count: 0,
      drift: 'unknown',
      features: [],
      detail: 'the artifact has no statistics.json',
    };
    expect(statusOf(endpoint(unknown))).toMatchObject({
      health: 'Healthy',
      details: 'http://127.0.0.1:9000 v3 100%; drift unknown (the artifact has no statistics.json)',
    });
    // Not monitored: as before.
    const plain = statusOf(endpoint());
    expect(plain).toMatchObject({ health: 'Healthy', details: 'http://127.0.0.1:9000 v3 100%' });
    expect(plain.monitoring).toBeUndefined();
  });

  it('describe has a Monitoring block: window, count, feature table worst first, live quality', () => {
    const e = endpoint(drifted);
    const text = renderDescribe(describeModel(statusOf(e), undefined, state(e)), createStyle(false));
    const block = text.slice(text.indexOf('Monitoring:'), text.indexOf('Plan:')).trimEnd();
    expect(block).toBe(
      [
        'Monitoring:',
        '  Window:     2026-01-01 10:00Z - 2026-01-01 11:00Z, 1200 requests, v3',
        '  Drift:      drifted',
        '  Quality:    live mae 3.1 over 40 feedback, validation 2.1: within bounds',
        '',
        '  FEATURE         METRIC   SCORE   THRESHOLD   KS     DRIFTED',
        '  Horsepower      psi      0.41    0.2         0.33   yes',
        '  Weight_in_lbs   psi      0.3     0.2         0.21   yes',
        '  _prediction     psi      0.12    0.2         0.1    no',
        '  Origin          psi      0.05    0.2         -      no',
      ].join('\n'),
    );
  });

  it('a feature name from an artifact cannot write terminal escapes', () => {
    const hostile = { ...drifted, features: [{ ...drifted.features[2], name: 'x\u001b[31mred' }] };
    const e = endpoint(hostile);
    const text = renderDescribe(describeModel(statusOf(e), undefined, state(e)), createStyle(false));
    expect(text).not.toContain('\u001b');
  });

  it('/metrics exports drift scores per feature and live quality, and forgets endpoints gone', async () => {
    const metrics = createControllerMetrics({ defaultMetrics: false });
    metrics.setMonitoring([endpoint(drifted), { name: 'plain' }]);
    const text = await metrics.registry.metrics();
    expect(text).toContain('mlform_endpoint_drift_score{endpoint="mpg-api",feature="Horsepower"} 0.41');
    expect(text).toContain('mlform_endpoint_drift_score{endpoint="mpg-api",feature="_prediction"} 0.12');
    expect(text).toContain('mlform_endpoint_quality{endpoint="mpg-api",metric="mae"} 3.1');
    metrics.setMonitoring([]);
    expect(await metrics.registry.metrics()).not.toContain('mlform_endpoint_drift_score{');
  });
});
