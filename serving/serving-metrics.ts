/**
 * Prometheus metrics of one model server, on its own prom-client Registry (several servers in one
 * process, as in tests, must not share counters). Label values come only from the route table,
 * the loaded versions and status codes, never from the request path: a scanner probing random URLs
 * must not grow the series count.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type RouteName = 'predict' | 'feedback' | 'status' | 'metadata' | 'health' | 'metrics' | 'other';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

export class ServingMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'model' | 'route' | 'code' | 'version'>;
  private readonly latency: Histogram<'model' | 'route'>;
  private readonly errors: Counter<'model' | 'code'>;
  private readonly instances: Counter<'model' | 'version'>;
  private readonly batchSize: Histogram<'model' | 'version'>;
  private readonly batchRequests: Histogram<'model' | 'version'>;
  private readonly batchSeconds: Histogram<'model' | 'version'>;
  private readonly ready: Gauge<'model' | 'version'>;
  private readonly logged: Counter<'model'>;
  private readonly dropped: Counter<'model' | 'reason'>;
  private readonly flushErrors: Counter<'model' | 'object'>;
  private readonly feedbackItems: Counter<'model' | 'result'>;
  /** Read when /metrics is scraped, so the request path does not touch the gauge. */
  private inflightNow: () => number = () => 0;
  /** Bound children by label key: the hot path skips prom-client's label hashing. */
  private readonly counters = new Map<string, { inc(n?: number): void }>();
  private readonly histograms = new Map<string, { observe(v: number): void }>();

  constructor(
    readonly model: string,
    options: { processMetrics?: boolean } = {},
  ) {
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'mlform_serving_requests_total',
      help: 'HTTP requests answered, by route, status code and (for predictions) model version.',
      labelNames: ['model', 'route', 'code', 'version'],
      registers,
    });
    this.latency = new Histogram({
      name: 'mlform_serving_request_duration_seconds',
      help: 'Time from the request line to the last response byte handed to the socket.',
      labelNames: ['model', 'route'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.errors = new Counter({
      name: 'mlform_serving_errors_total',
      help: 'Requests answered with a 4xx or 5xx status, by status code.',
      labelNames: ['model', 'code'],
      registers,
    });
    this.instances = new Counter({
      name: 'mlform_serving_instances_total',
      help: 'Instances predicted, by model version.',
      labelNames: ['model', 'version'],
      registers,
    });
    this.batchSize = new Histogram({
      name: 'mlform_serving_batch_size',
      help: 'Instances per model call (dynamic batching coalesces concurrent requests).',
      labelNames: ['model', 'version'],
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.batchRequests = new Histogram({
      name: 'mlform_serving_batch_requests',
      help: 'Requests served per model call.',
      labelNames: ['model', 'version'],
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.batchSeconds = new Histogram({
      name: 'mlform_serving_batch_duration_seconds',
      help: 'Model call time per batch (tensor in, outputs read back).',
      labelNames: ['model', 'version'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.ready = new Gauge({
      name: 'mlform_serving_version_ready',
      help: '1 when a model version is loaded, warmed up and taking requests.',
      labelNames: ['model', 'version'],
      registers,
    });
    const counter = <L extends string>(name: string, help: string, label?: L) =>
      new Counter<'model' | L>({
        name: `mlform_serving_${name}`,
        help,
        labelNames: label === undefined ? ['model'] : ['model', label],
        registers,
      });
    this.logged = counter('monitoring_logged_total', 'Sampled requests written to the prediction log.');
    this.dropped = counter(
      'monitoring_dropped_total',
      'Sampled requests not logged: the buffer was full (buffer_full) or their batch could not be written (flush_failed).',
      'reason',
    );
    this.flushErrors = counter(
      'monitoring_flush_errors_total',
      'Failed writes of monitoring objects (log, feedback, summary).',
      'object',
    );
    this.feedbackItems = counter(
      'feedback_items_total',
      'Feedback items received: matched to a prediction, unmatched (unknown or expired id), duplicate.',
      'result',
    );
    const inflight = (): number => this.inflightNow();
    new Gauge({
      name: 'mlform_serving_inflight_requests',
      help: 'Requests received and not yet answered.',
      labelNames: ['model'],
      registers,
      collect() {
        this.labels(model).set(inflight());
      },
    });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  request(route: RouteName, status: number, version: string, seconds: number): void {
    const key = `${route}\u0000${status}\u0000${version}`;
    let counter = this.counters.get(key);
    if (!counter) {
      counter = this.requests.labels(this.model, route, String(status), version);
      this.counters.set(key, counter);
    }
    counter.inc();
    let histogram = this.histograms.get(route);
    if (!histogram) {
      histogram = this.latency.labels(this.model, route);
      this.histograms.set(route, histogram);
    }
    histogram.observe(seconds);
    if (status >= 400) this.errors.labels(this.model, String(status)).inc();
  }

  batch(version: string, instances: number, requests: number, seconds: number): void {
    this.batchSize.labels(this.model, version).observe(instances);
    this.batchRequests.labels(this.model, version).observe(requests);
    this.batchSeconds.labels(this.model, version).observe(seconds);
    this.instances.labels(this.model, version).inc(instances);
  }

  monitoringLogged(records: number): void {
    this.logged.labels(this.model).inc(records);
  }

  monitoringDropped(records: number, reason: 'buffer_full' | 'flush_failed'): void {
    this.dropped.labels(this.model, reason).inc(records);
  }

  monitoringFlushError(object: 'log' | 'feedback' | 'summary'): void {
    this.flushErrors.labels(this.model, object).inc();
  }

  feedback(result: 'matched' | 'unmatched' | 'duplicate', items: number): void {
    if (items > 0) this.feedbackItems.labels(this.model, result).inc(items);
  }

  /** Where the in-flight count comes from (the HTTP front). */
  countInflight(source: () => number): void {
    this.inflightNow = source;
  }

  versionReady(version: string, ready: boolean): void {
    this.ready.labels(this.model, version).set(ready ? 1 : 0);
  }

  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
