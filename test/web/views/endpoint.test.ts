/**
 * The endpoint document: traffic with aliases, serving figures parsed from a real model server's
 * /metrics text (serving/serving-metrics.ts), quantiles computed by hand from the bucket counts,
 * the request rate between two scrapes, the sample request from preprocess.json, who may send it.
 */
import { describe, expect, it } from 'vitest';
import { createViewBuilder } from '../../../controller/web/views/index.js';
import { GCP_SERVING_NOTE, sendable } from '../../../controller/web/views/endpoint.js';
import {
  histogramQuantile,
  mergeBuckets,
  parsePrometheusText,
} from '../../../controller/web/views/prometheus-text.js';
import {
  instanceFromDescriptor,
  instanceFromPreprocess,
} from '../../../controller/web/views/sample-request.js';
import { ServingMetrics } from '../../../serving/serving-metrics.js';
import { endpoint, fakeIO, model, NOW, observed, okDoc, quickstart, snapshotOf } from './fixture.js';

const URL = 'http://127.0.0.1:8501';
const ARTIFACT = '/state/registry/mpg/versions/1';

/** 10 predictions: 4 at 3 ms, 4 at 20 ms, 2 at 200 ms; plus what is not traffic or is an error. */
function serverMetrics(extraPredictions = 0): ServingMetrics {
  const m = new ServingMetrics('mpg', { processMetrics: false });
  for (let i = 0; i < 4; i++) m.request('predict', 200, '1', 0.003);
  for (let i = 0; i < 4; i++) m.request('predict', 200, '1', 0.02);
  for (let i = 0; i < 2 + extraPredictions; i++) m.request('predict', 200, '1', 0.2);
  m.request('metrics', 200, '', 0.0001);
  m.request('health', 200, '', 0.0001);
  m.request('other', 404, '', 0.0001);
  m.versionReady('1', true);
  m.versionReady('2', false);
  return m;
}

const preprocess = {
  formatVersion: 1,
  task: 'regression',
  features: [
    { name: 'Horsepower', type: 'numeric', mean: 104.46912, std: 38.5, fill: 93.5 },
    { name: 'Origin', type: 'categorical', vocabulary: ['<missing>', 'Europe', 'Japan', 'USA'] },
    { name: 'Turbo', type: 'boolean', fill: 0 },
    { name: 'Built', type: 'date', mean: 18000.4, std: 30, fill: 18000 },
  ],
  target: { type: 'numeric', name: 'Miles_per_Gallon', mean: 23.4, std: 7.8 },
  encodedWidth: 7,
  inputShape: [7],
};

async function setUp(provider: 'local' | 'gcp' = 'local', url = URL) {
  const desired = await quickstart();
  const version = {
    version: 1,
    run: { name: 'mpg-mlp', number: 1 },
    specHash: 'h',
    artifactUri: ARTIFACT,
    metrics: {},
    baseline: {},
    createdAt: NOW.toISOString(),
  };
  const state = observed({
    models: [
      model(desired, {
        versions: [version, { ...version, version: 2 }],
        aliases: { champion: 1, canary: 2 },
      }),
    ],
    endpoints: [
      endpoint(desired, {
        url,
        traffic: [
          { version: 1, percent: 90 },
          { version: 2, percent: 10 },
        ],
      }),
    ],
  });
  return snapshotOf(desired, state, { provider });
}

describe('Prometheus text', () => {
  it('parses samples with labels and skips what is not asked for or malformed', () => {
    const text = [
      '# HELP x_total help',
      'x_total{a="1",b="q\\"uote"} 3',
      'x_total 4 1700000000',
      'y_total{a="1"} 9',
      'x_total{broken 5',
      'x_total{a="2"} +Inf',
    ].join('\n');
    expect(parsePrometheusText(text, new Set(['x_total']))).toEqual([
      { name: 'x_total', labels: { a: '1', b: 'q"uote' }, value: 3 },
      { name: 'x_total', labels: {}, value: 4 },
      { name: 'x_total', labels: { a: '2' }, value: Infinity },
    ]);
  });

  it('interpolates quantiles inside buckets as histogram_quantile does', () => {
    const buckets = mergeBuckets(
      [
        ['0.1', 2],
        ['0.5', 6],
        ['1', 10],
        ['+Inf', 10],
      ].map(([le, value]) => ({ name: 'h_bucket', labels: { le: String(le) }, value: Number(value) })),
    );
    // Rank 5 of 10 falls in (0.1, 0.5] holding 4: 0.1 + 0.4 * (5 - 2) / 4.
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.4);
    // Rank 1 in the first bucket: its lower bound is 0.
    expect(histogramQuantile(0.1, buckets)).toBeCloseTo(0.05);
    expect(histogramQuantile(0.5, [])).toBeNull();
    expect(histogramQuantile(0.5, [{ le: Infinity, count: 0 }])).toBeNull();
    // Everything above the last finite bound: that bound.
    expect(
      histogramQuantile(0.99, [
        { le: 1, count: 0 },
        { le: Infinity, count: 5 },
      ]),
    ).toBe(1);
  });
});

describe('endpoint', () => {
  it('shows traffic with aliases, serving figures, rates between scrapes and a sample request', async () => {
    let clock = NOW.getTime();
    let metrics = serverMetrics();
    const io = fakeIO({
      now: () => new Date(clock),
      metrics: { [URL]: () => '' },
      files: { [`${ARTIFACT}/preprocess.json`]: JSON.stringify(preprocess) },
    });
    let text = (await metrics.text()).body;
    io.scrapeMetrics = async () => text;
    const snapshot = await setUp();
    const build = createViewBuilder();
    const route = { view: 'deployedendpoint', name: 'mpg-api' } as const;

    const first = okDoc('deployedendpoint', await build(route, snapshot, io));
    expect(first.url).toBe(URL);
    expect(first.model).toBe('mpg');
    expect(first.ready).toBe(true);
    expect(first.traffic).toEqual([
      { version: 1, percent: 90, aliases: ['champion'] },
      { version: 2, percent: 10, aliases: ['canary'] },
    ]);
    expect(first.serving).toEqual({
      requestsTotal: 11,
      errorsTotal: 1,
      requestRate: null,
      // p50: rank 5 in (10 ms, 25 ms] holding 4 above 4: 10 + 15 * 1/4. p95: rank 9.5 in (100, 250]
      // holding 2 above 8: 100 + 150 * 1.5/2. p99: 100 + 150 * 1.9/2.
      latencyMs: { p50: 13.75, p95: 212.5, p99: 242.5 },
      byVersion: [
        { version: '1', requests: 10, ready: true },
        { version: '2', requests: 0, ready: false },
      ],
    });
    expect(first.servingNote).toBeNull();
    expect(first.canSend).toBe(true);
    expect(first.sample?.path).toBe('/v1/models/mpg:predict');
    expect(JSON.parse(first.sample?.body ?? '')).toEqual({
      instances: [{ Horsepower: 104.5, Origin: 'Europe', Turbo: false, Built: '2019-04-14' }],
    });
    expect(first.sample?.body).toContain('\n  "instances"');

    metrics = serverMetrics(5);
    text = (await metrics.text()).body;
    clock += 10_000;
    const second = okDoc('deployedendpoint', await build(route, snapshot, io));
    expect(second.serving?.requestsTotal).toBe(16);
    expect(second.serving?.requestRate).toBe(0.5);

    // A restarted server's counters start again: no rate across the reset.
    metrics = serverMetrics();
    text = (await metrics.text()).body;
    clock += 10_000;
    expect(okDoc('deployedendpoint', await build(route, snapshot, io)).serving?.requestRate).toBeNull();
  });

  it('says why there are no figures: a server that does not answer, or gcp', async () => {
    const build = createViewBuilder();
    const route = { view: 'deployedendpoint', name: 'mpg-api' } as const;
    const down = okDoc('deployedendpoint', await build(route, await setUp(), fakeIO()));
    expect(down.serving).toBeNull();
    expect(down.servingNote).toMatch(/could not be read/);
    expect(down.sample).toBeNull(); // no preprocess.json and no artifact.json

    const gcp = okDoc(
      'deployedendpoint',
      await build(route, await setUp('gcp', 'https://mpg-api-xyz.a.run.app'), fakeIO()),
    );
    expect(gcp.serving).toBeNull();
    expect(gcp.servingNote).toBe(GCP_SERVING_NOTE);
    expect(gcp.canSend).toBe(false);
    expect(gcp.sendNote).toMatch(/local endpoints only/);
  });

  it('sends only to a loopback http:// server', () => {
    expect(sendable('http://127.0.0.1:8501').canSend).toBe(true);
    expect(sendable('http://localhost:9000').canSend).toBe(true);
    expect(sendable('http://[::1]:9000').canSend).toBe(true);
    for (const url of [
      'https://127.0.0.1:8501',
      'http://10.0.0.5:8501',
      'http://user:pw@127.0.0.1:1',
      'not a url',
      undefined,
    ])
      expect(sendable(url)).toMatchObject({ canSend: false, sendNote: expect.any(String) });
  });

  it('builds forecasting windows and falls back to artifact.json features', () => {
    const forecasting = {
      ...preprocess,
      features: [{ name: 'temp', type: 'numeric', mean: 11, std: 2, fill: 11 }],
      window: { size: 3, horizon: 1, timeColumn: 'day' },
      target: { type: 'numeric', name: 'load', mean: 50, std: 3 },
    };
    expect(instanceFromPreprocess(forecasting)).toEqual({
      // Oldest first, one day apart, the last on the time feature's mean (no time feature: day 0).
      history: [
        { temp: 11, load: 50, day: '1969-12-30' },
        { temp: 11, load: 50, day: '1969-12-31' },
        { temp: 11, load: 50, day: '1970-01-01' },
      ],
    });
    expect(instanceFromPreprocess({ features: [{ name: 'x', type: 'mystery' }] })).toBeUndefined();
    expect(instanceFromPreprocess('nope')).toBeUndefined();
    expect(
      instanceFromDescriptor({
        features: [
          { name: 'a', type: 'numeric' },
          { name: 'b', type: 'categorical' },
          { name: 'c', type: 'boolean' },
        ],
      }),
    ).toEqual({ a: 0, b: '', c: false });
  });

  it('answers 404 naming the closest endpoint', async () => {
    const result = await createViewBuilder()(
      { view: 'deployedendpoint', name: 'mpg-ap' },
      await setUp(),
      fakeIO(),
    );
    expect(result).toMatchObject({ status: 404, error: { hint: 'did you mean "mpg-api"?' } });
  });
});
