/**
 * Drift on the gcp provider against the fake: window summaries in the bucket (written here with the
 * contract schema, as Cloud Run instances write them), the served version's statistics.json, and
 * the bounded cost of observing them: one list per monitored endpoint, one read per summary, one
 * metadata read per served version once its statistics are cached, nothing for other endpoints.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PutEndpointRequest } from '../../../providers/provider.js';
import { Value } from '@sinclair/typebox/value';
import {
  DeployedEndpointSpecSchema,
  normalizeDeployedEndpointSpec,
  type DeployedEndpointSpec,
} from '../../../resources/deployed-endpoint.js';
import type { EndpointMonitoring } from '../../../resources/monitoring.js';
import type { ReferenceStatistics } from '../../../monitoring/statistics.js';
import { HOUR, windowSummary } from '../../monitoring/fixtures.js';
import { windowKey, windowStart } from '../../../monitoring/layout.js';
import { harness, type Harness } from './helpers.js';

let h: Harness;
beforeAll(async () => {
  h = await harness({ revisionReadyMs: 50 });
});
afterAll(async () => {
  await h?.close();
});

const BUCKET = 'mlform-test';
const ARTIFACT = 'state/demo/runs/mpg-mlp/1';
const WINDOWS = 'state/demo/monitoring/mpg-api/windows';

const monitoring: EndpointMonitoring = {
  sampleRate: 0.1,
  window: '1h',
  minSamples: 50,
  drift: { metric: 'psi', threshold: 0.2 },
  retention: '168h',
};

/** The spec as the engine hands it over: schema defaults filled, the preset expanded. */
const spec = (withMonitoring: boolean): DeployedEndpointSpec =>
  normalizeDeployedEndpointSpec(
    Value.Default(DeployedEndpointSpecSchema, {
      model: 'mpg',
      ...(withMonitoring && { monitoring }),
    }) as DeployedEndpointSpec,
  );

const put = (name: string, withMonitoring: boolean): Promise<unknown> =>
  h.provider.deployedEndpoints.put(h.ctx, {
    name,
    spec: spec(withMonitoring),
    specHash: '1'.repeat(64),
    traffic: [{ version: 1, percent: 100, artifactUri: `gs://${BUCKET}/${ARTIFACT}` }],
    labels: {},
    annotations: {},
  } satisfies PutEndpointRequest);

// Horsepower bins [<80, 80-120, >=120] hold 40/40/20 training rows; Origin is 60 USA, 40 Japan.
const reference: ReferenceStatistics = {
  formatVersion: 1,
  rows: 100,
  features: {},
  validation: { val_mae: 2.5 },
};
reference.features.Horsepower = {
  ...{ type: 'numeric', count: 100, missing: 0, edges: [80, 120], counts: [40, 40, 20] },
  ...{ min: 46, max: 230, mean: 100, std: 30 },
};
reference.features.Origin = {
  type: 'categorical',
  count: 100,
  missing: 0,
  categories: { USA: 60, Japan: 40 },
  other: 0,
};

/** A summary of 50 requests of `instance` in the window at `start`, Horsepower counted as given. */
function seedSummary(start: number, instance: string, horsepower: number[], version = 1): void {
  const summary = windowSummary(start, {
    instance,
    version,
    count: 50,
    features: {
      Horsepower: { type: 'numeric', counts: horsepower, missing: 0 },
      Origin: { type: 'categorical', categories: { USA: 30, Japan: 20 }, other: 0, missing: 0 },
    },
  });
  h.fake.seed.object(
    BUCKET,
    `${WINDOWS}/${windowKey(start)}/v${version}-${instance}.json`,
    JSON.stringify(summary),
  );
}

const storageCalls = () => ({
  list: h.fake.count({ api: 'storage', rpc: 'objects.list' }),
  get: h.fake.count({ api: 'storage', rpc: 'objects.get' }),
});

describe('drift on the gcp provider', () => {
  it('an endpoint without monitoring costs no storage call', async () => {
    await put('plain-api', false);
    h.fake.resetRequests();
    const listed = await h.provider.deployedEndpoints.list(h.ctx);
    expect(listed.items.map((e) => e.monitoring)).toEqual([undefined]);
    expect(h.fake.count({ api: 'storage' })).toBe(0);
  });

  it('scores the last complete window of every instance from one list, and caches the statistics', async () => {
    await put('mpg-api', true);
    h.fake.seed.object(BUCKET, `${ARTIFACT}/statistics.json`, JSON.stringify(reference));
    const current = windowStart(Date.now(), HOUR);
    const last = current - HOUR;
    // Two instances in the last complete window: Horsepower moved to the top bin.
    seedSummary(last, 'a', [5, 5, 40]);
    seedSummary(last, 'b', [5, 5, 40]);
    // Not read: the window in progress, one too old, the logs, and a summary of a version not served.
    seedSummary(current, 'a', [50, 0, 0]);
    seedSummary(last - 5 * HOUR, 'a', [50, 0, 0]);
    seedSummary(last, 'a', [50, 0, 0], 7);
    h.fake.seed.object(BUCKET, 'state/demo/monitoring/mpg-api/logs/x.jsonl', '{}\n');

    h.fake.resetRequests();
    const listed = await h.provider.deployedEndpoints.list(h.ctx);
    const endpoint = listed.items.find((e) => e.name === 'mpg-api');
    expect(endpoint?.monitoring).toMatchObject({
      windowStart: new Date(last).toISOString(),
      count: 100,
      version: 1,
      drift: 'drifted',
    });
    const hp = endpoint?.monitoring?.features.find((f) => f.name === 'Horsepower');
    // e = [.4, .4, .2], a = [.1, .1, .8] (+ missing 0 / 0 -> epsilon on both sides)
    const psi = 2 * (0.1 - 0.4) * Math.log(0.1 / 0.4) + (0.8 - 0.2) * Math.log(0.8 / 0.2);
    expect(hp?.score).toBeCloseTo(psi, 3);
    expect(hp?.drifted).toBe(true);
    expect(endpoint?.monitoring?.features.find((f) => f.name === 'Origin')?.drifted).toBe(false);
    expect(listed.items.find((e) => e.name === 'plain-api')?.monitoring).toBeUndefined();
    // 1 list; 2 summaries; statistics: metadata, then metadata + download (first read in this process).
    expect(storageCalls()).toEqual({ list: 1, get: 5 });
    expect(h.fake.count({ api: 'run', rpc: 'ListRevisions' })).toBe(0);

    h.fake.resetRequests();
    await h.provider.deployedEndpoints.list(h.ctx);
    // Cached by generation: one metadata read for the statistics.
    expect(storageCalls()).toEqual({ list: 1, get: 3 });
  });

  it('a served version without statistics.json is drift unknown, saying why', async () => {
    h.fake.seed.object(BUCKET, `${ARTIFACT}/statistics.json`, '{"formatVersion": 1}');
    const listed = await h.provider.deployedEndpoints.list(h.ctx);
    const m = listed.items.find((e) => e.name === 'mpg-api')?.monitoring;
    expect(m?.drift).toBe('unknown');
    expect(m?.detail).toMatch(/^statistics\.json does not match its schema/);
    expect(listed.diagnostics).toEqual([]);
  });
});
