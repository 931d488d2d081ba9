/** `spec.monitoring` on gcp (issue 15): the Cloud Run container is told where and how to monitor. */
import { describe, expect, it } from 'vitest';
import type { DeployedEndpointSpec } from '../../../resources/deployed-endpoint.js';
import { settingsFrom, layoutFor, type Gcp } from '../../../providers/gcp/context.js';
import { revisionTemplate } from '../../../providers/gcp/endpoints.js';
import { createCaller } from '../../../providers/gcp/call.js';
import { normalizeServingConfig } from '../../../serving/config.js';
import { CONFIG } from './helpers.js';

const settings = settingsFrom(CONFIG);
const gcp = { settings, call: createCaller(), layout: layoutFor(settings) } as unknown as Gcp;
const spec = (sampleRate: number) =>
  ({
    model: 'mpg',
    traffic: [{ version: 'champion', percent: 100 }],
    preset: 'development',
    batching: { enabled: true, maxBatchSize: 64, batchTimeoutMicros: 0 },
    timeoutSeconds: 300,
    monitoring: {
      sampleRate,
      window: '30m',
      minSamples: 100,
      drift: { metric: 'psi', threshold: 0.2 },
      retention: '72h',
    },
  }) as DeployedEndpointSpec;
const request = (sampleRate: number) => ({
  name: 'mpg-api',
  spec: spec(sampleRate),
  specHash: 'd'.repeat(64),
  labels: {},
  annotations: {},
});

describe('Cloud Run revision with spec.monitoring', () => {
  it("passes the settings as MLFORM_SERVE_MONITORING, rooted in the stack's bucket prefix", () => {
    const template = revisionTemplate(gcp, 'quickstart', request(0.1), 2, 'gs://b/runs/mpg-mlp/2');
    const env = template.containers?.[0]?.env ?? [];
    const monitoring = env.find((e) => e.name === 'MLFORM_SERVE_MONITORING');
    expect(JSON.parse(monitoring?.value ?? '{}')).toEqual({
      root: `${CONFIG.bucket.replace(/\/+$/, '')}/quickstart/monitoring/mpg-api`,
      endpoint: 'mpg-api',
      sampleRate: 0.1,
      windowSeconds: 1800,
      retentionSeconds: 72 * 3600,
    });
    // What the server makes of it: a valid monitoring config, its instance left to $K_REVISION.
    const { config, diagnostics } = normalizeServingConfig({
      versions: [{ uri: 'gs://b/runs/mpg-mlp/2' }],
      monitoring: JSON.parse(monitoring?.value ?? '{}') as object,
    });
    expect(diagnostics).toEqual([]);
    expect(config?.monitoring?.root).toMatch(/^gs:\/\//);
    expect(config?.monitoring?.instance).toBeUndefined();
  });

  it('a changed spec.monitoring is a new revision configuration; none is passed without it', () => {
    const a = revisionTemplate(gcp, 'quickstart', request(0.1), 2, 'gs://b/runs/mpg-mlp/2');
    const b = revisionTemplate(gcp, 'quickstart', request(0.5), 2, 'gs://b/runs/mpg-mlp/2');
    expect(a.labels?.['mlform-config']).not.toBe(b.labels?.['mlform-config']);
    const { monitoring: _m, ...without } = spec(0.1);
    const plain = revisionTemplate(gcp, 'quickstart', { ...request(0.1), spec: without }, 2, 'gs://b/x');
    expect(plain.containers?.[0]?.env?.map((e) => e.name)).toEqual(['MODEL_URI', 'MODEL_NAME']);
  });
});
