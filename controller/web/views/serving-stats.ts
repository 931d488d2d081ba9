/**
 * An endpoint's serving figures from its model server's /metrics (serving/serving-metrics.ts):
 * request and error totals, latency quantiles, requests and readiness per version, and the
 * request rate between two scrapes. The builder keeps the previous scrape per endpoint.
 */
import type { EndpointDoc } from '../api.js';
import { histogramQuantile, mergeBuckets, parsePrometheusText, type Sample } from './prometheus-text.js';

export const SERVING_METRICS = {
  requests: 'mlform_serving_requests_total',
  errors: 'mlform_serving_errors_total',
  latency: 'mlform_serving_request_duration_seconds_bucket',
  ready: 'mlform_serving_version_ready',
} as const;

/** The dashboard's own scrapes and the provider's health probes are not traffic. */
const NOT_TRAFFIC = new Set(['metrics', 'health']);
/** Scrapes closer together than this keep the rate of the previous pair (several viewers at once). */
const MIN_RATE_INTERVAL_MS = 1000;

type Serving = NonNullable<EndpointDoc['serving']>;

const sum = (samples: readonly Sample[]): number =>
  samples.reduce((total, s) => (Number.isFinite(s.value) ? total + s.value : total), 0);

const round = (v: number | null, digits = 3): number | null =>
  v === null ? null : Number(v.toFixed(digits));

/** The figures of one scrape, without the rate. */
export function servingFromMetrics(text: string): Omit<Serving, 'requestRate'> {
  const samples = parsePrometheusText(text, new Set(Object.values(SERVING_METRICS)));
  const of = (name: string) => samples.filter((s) => s.name === name);
  const requests = of(SERVING_METRICS.requests).filter((s) => !NOT_TRAFFIC.has(s.labels.route ?? ''));
  const buckets = of(SERVING_METRICS.latency);
  // Prediction latency is what callers feel; other routes only when there were no predictions.
  const predict = buckets.filter((s) => s.labels.route === 'predict');
  const merged = mergeBuckets(
    predict.length > 0 ? predict : buckets.filter((s) => !NOT_TRAFFIC.has(s.labels.route ?? '')),
  );
  const ms = (q: number) => {
    const seconds = histogramQuantile(q, merged);
    return round(seconds === null ? null : seconds * 1000);
  };
  const versions = new Map<string, { requests: number; ready: boolean }>();
  for (const s of requests) {
    const version = s.labels.version;
    if (s.labels.route !== 'predict' || version === undefined || version === '') continue;
    const v = versions.get(version) ?? { requests: 0, ready: false };
    v.requests += Number.isFinite(s.value) ? s.value : 0;
    versions.set(version, v);
  }
  for (const s of of(SERVING_METRICS.ready)) {
    const version = s.labels.version;
    if (version === undefined) continue;
    const v = versions.get(version) ?? { requests: 0, ready: false };
    v.ready = s.value === 1;
    versions.set(version, v);
  }
  return {
    requestsTotal: sum(requests),
    errorsTotal: sum(of(SERVING_METRICS.errors)),
    latencyMs: { p50: ms(0.5), p95: ms(0.95), p99: ms(0.99) },
    byVersion: [...versions.entries()]
      .slice(0, 100)
      .sort(([a], [b]) => Number(a) - Number(b) || (a < b ? -1 : 1))
      .map(([version, v]) => ({ version: version.slice(0, 32), ...v })),
  };
}

interface Scrape {
  atMs: number;
  requestsTotal: number;
  rate: number | null;
}

/** Request rates between consecutive scrapes, per endpoint (bounded). */
export class ServingRates {
  private readonly last = new Map<string, Scrape>();

  rate(key: string, atMs: number, requestsTotal: number): number | null {
    const previous = this.last.get(key);
    if (previous && atMs - previous.atMs < MIN_RATE_INTERVAL_MS && atMs >= previous.atMs)
      return previous.rate;
    const dt = previous ? (atMs - previous.atMs) / 1000 : 0;
    // A restarted server starts its counters at zero again: no rate across the reset.
    const rate =
      previous && dt > 0 && requestsTotal >= previous.requestsTotal
        ? Number(((requestsTotal - previous.requestsTotal) / dt).toFixed(3))
        : null;
    this.last.delete(key);
    this.last.set(key, { atMs, requestsTotal, rate });
    if (this.last.size > 1000) this.last.delete(this.last.keys().next().value as string);
    return rate;
  }
}
