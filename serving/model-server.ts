/**
 * The model server's lifecycle: listen (liveness answers at once), load and warm up every version
 * (readiness turns true only then), serve, and on shutdown drain: readiness false, no new
 * connections, queued batches run, in-flight requests answered, models freed.
 */
import { errorMessage } from '../resources/error-message.js';
import type { Logger } from 'pino';
import { selectBackend } from '../artifact/tfjs-backend.js';
import { connectionBounds, type ServingConfig } from './config.js';
import { HttpFront } from './http-front.js';
import { createServingLogger, type ServingLogger } from './logger.js';
import { loadModelVersion, warmUp, type ServedVersion, type VersionLoader } from './model-version.js';
import { ServingApp } from './serving-app.js';
import { ServingMetrics } from './serving-metrics.js';
import { Upstream, waitHealthy } from './upstream.js';
import { ServingMonitor } from './monitoring.js';
import type { ObjectStore } from '../artifact/storage.js';
import { UpstreamProcesses, type RunningUpstream, type UpstreamLaunch } from './upstream-launch.js';

/** How long upstream processes get to exit on SIGTERM before SIGKILL. */
const UPSTREAM_STOP_MS = 5_000;

export type ServerState = 'created' | 'loading' | 'ready' | 'failed' | 'draining' | 'closed';

export interface ModelServerOptions {
  config: ServingConfig;
  /**
   * Default: JSON lines on stdout at `config.logging.level`, closed at the end of shutdown. A
   * logger passed in is flushed after lifecycle lines and left open (its creator closes it).
   */
  logger?: ServingLogger;
  /** How a version is loaded; tests inject slow or failing loaders. */
  loadVersion?: VersionLoader;
  /** Warm-up before readiness (default: run the request path at batch sizes 1 and maxBatchSize). */
  // Method syntax: a test may pass a warm-up typed for builtin versions only.
  warmUp?(version: ServedVersion, maxBatchSize: number): void | Promise<void>;
  /** Pick the TensorFlow.js backend before loading (default true; MLFORM_BACKEND overrides). */
  selectBackend?: boolean;
  /** Node process metrics (CPU, memory, event-loop lag) on /metrics too (default true). */
  processMetrics?: boolean;
  /** The launch key: health answers prove this process to its launcher (launch-proof.ts). */
  proofKey?: string;
  /** Processes behind `upstream` versions, started and stopped with this server (upstream-launch.ts). */
  upstreamLaunches?: readonly UpstreamLaunch[];
  /** Where monitoring objects go (default: the store of `config.monitoring.root`); tests inject failures. */
  monitoringStore?: ObjectStore;
}

export class ModelServer {
  readonly config: ServingConfig;
  readonly metrics: ServingMetrics;
  readonly app: ServingApp;
  readonly log: Logger;
  /** Present when `config.monitoring` is set (monitoring.ts). */
  readonly monitor: ServingMonitor | undefined;
  private readonly http: HttpFront;
  private readonly logs: ServingLogger;
  private readonly ownsLogger: boolean;
  private stateValue: ServerState = 'created';
  private loading: Promise<void> | undefined;
  private shutdownPromise: Promise<void> | undefined;
  private address: { host: string; port: number } | undefined;
  private markClosed: () => void = () => undefined;
  private readonly upstreams = new UpstreamProcesses();
  /** Resolves when shutdown() has finished. */
  readonly closed: Promise<void>;

  constructor(private readonly options: ModelServerOptions) {
    this.config = options.config;
    this.closed = new Promise((resolve) => {
      this.markClosed = resolve;
    });
    this.ownsLogger = options.logger === undefined;
    this.logs =
      options.logger ?? createServingLogger(options.config.logging.level, 1, { model: options.config.name });
    this.log = this.logs.logger;
    this.metrics = new ServingMetrics(this.config.name, { processMetrics: options.processMetrics });
    this.monitor =
      this.config.monitoring &&
      new ServingMonitor({
        config: this.config.monitoring,
        model: this.config.name,
        metrics: this.metrics,
        log: this.log,
        ...(options.monitoringStore && { store: options.monitoringStore }),
      });
    this.app = new ServingApp(this.config, this.metrics, this.log, this.monitor);
    this.http = new HttpFront({
      app: this.app,
      metrics: this.metrics,
      log: this.log,
      logRequests: this.config.logging.requests,
      maxBodyBytes: this.config.limits.maxBodyBytes,
      bounds: connectionBounds(this.config.limits),
      ...(options.proofKey !== undefined && { proofKey: options.proofKey }),
    });
  }

  get state(): ServerState {
    return this.stateValue;
  }

  /** `http://127.0.0.1:PORT` once listening. */
  get url(): string {
    if (!this.address) throw new Error('the server is not listening');
    const host = this.address.host.includes(':') ? `[${this.address.host}]` : this.address.host;
    return `http://${host}:${this.address.port}`;
  }

  get port(): number {
    if (!this.address) throw new Error('the server is not listening');
    return this.address.port;
  }

  /** On `host:port`, or on the listening socket inherited as descriptor `fd` (then both are ignored). */
  async listen(port = 0, host = '127.0.0.1', fd?: number): Promise<string> {
    const address = await this.http.listen(port, host, fd);
    this.address = { host: address.address, port: address.port };
    this.log.info(
      { url: this.url, ...(this.monitor && { monitoringInstance: this.monitor.instance }) },
      'listening',
    );
    this.logs.flush();
    return this.url;
  }

  /**
   * Loads and warms up every version, then turns ready. Rejects (state `failed`) when a version
   * cannot be loaded. Interrupted by shutdown(), it resolves with state `closed`.
   */
  load(): Promise<void> {
    this.loading ??= this.loadAll();
    return this.loading;
  }

  private async loadAll(): Promise<void> {
    if (this.stateValue !== 'created') return;
    this.stateValue = 'loading';
    const loader = this.options.loadVersion ?? loadModelVersion;
    const warm = this.options.warmUp ?? warmUp;
    const { batching } = this.config;
    const started = performance.now();
    // Servers of their own bring their own runtime: no backend to pick for them.
    if ((this.options.selectBackend ?? true) && this.config.versions.some((v) => !v.upstream)) {
      const backend = await selectBackend({ acceleratorRequested: false });
      this.log.info({ backend: backend.backend, devices: backend.devices }, 'backend');
    }
    // Models loaded but not handed to the app (a failure or a shutdown came first) are freed
    // here; the app frees the ones it holds in unload().
    const orphans: ServedVersion[] = [];
    const failures: string[] = [];
    const processes = this.startUpstreams();
    await Promise.all(
      this.config.versions.map(async (v) => {
        this.log.info({ version: v.version, uri: v.uri, percent: v.percent }, 'loading version');
        try {
          if (v.upstream) {
            const upstream = new Upstream(v.upstream, `version ${v.version}`);
            const proc = processes.get(v.version);
            await waitHealthy(upstream, () => (this.stopping ? 'shutting down' : proc?.exitReason()));
            if (this.stopping) return;
            this.app.upstreamReady(v.version, upstream);
            this.log.info({ version: v.version, upstream: v.upstream.url }, 'version available');
            return;
          }
          const [model] = await Promise.all([
            loader(v),
            this.monitor?.addVersion(v.version, v.uri, v.percent),
          ]);
          orphans.push(model);
          if (this.stopping) return;
          await warm(model, batching.enabled ? batching.maxBatchSize : 1);
          if (this.stopping) return;
          this.app.versionLoaded(model);
          orphans.splice(orphans.indexOf(model), 1);
          this.log.info({ version: v.version }, 'version available');
        } catch (e) {
          const message = errorMessage(e);
          this.app.versionFailed(v.version, message);
          failures.push(`version ${v.version}: ${message}`);
          this.log.error({ version: v.version, uri: v.uri, err: message }, 'version failed to load');
        }
      }),
    );
    for (const model of orphans) model.dispose();
    if (this.stopping) return;
    if (failures.length > 0) {
      this.stateValue = 'failed';
      this.logs.flush();
      throw new Error(`cannot serve ${this.config.name}: ${failures.join('; ')}`);
    }
    this.app.markReady();
    this.monitor?.start();
    this.stateValue = 'ready';
    this.log.info(
      { versions: this.config.versions.map((v) => v.version), seconds: (performance.now() - started) / 1000 },
      'ready',
    );
    this.logs.flush();
  }

  /**
   * Starts the processes behind upstream versions. One that exits after the start is fatal: the
   * server drains and exits, so its launcher sees it down rather than a version half served.
   */
  private startUpstreams(): Map<number, RunningUpstream> {
    const running = this.upstreams.start(this.options.upstreamLaunches ?? []);
    for (const r of running) {
      void r.exited.then((reason) => {
        // While loading, waiting for its health fails the start with this reason instead.
        if (this.stateValue !== 'ready') return;
        this.log.error({ version: r.version, err: reason }, 'upstream process exited');
        void this.shutdown(`version ${r.version}'s process exited`);
      });
    }
    return new Map(running.map((r) => [r.version, r]));
  }

  private get stopping(): boolean {
    return this.stateValue === 'draining' || this.stateValue === 'closed';
  }

  /**
   * Graceful: readiness false, stop accepting, run queued batches, answer in-flight requests
   * (up to `drainTimeoutSeconds`), free the models. Idempotent.
   */
  shutdown(reason = 'shutdown'): Promise<void> {
    this.shutdownPromise ??= this.drain(reason);
    return this.shutdownPromise;
  }

  private async drain(reason: string): Promise<void> {
    const wasLoading = this.stateValue === 'loading' || this.stateValue === 'created';
    this.stateValue = 'draining';
    this.app.beginDrain();
    this.log.info({ reason, inflight: this.http.active, duringLoad: wasLoading }, 'draining');
    this.logs.flush();
    const started = performance.now();
    try {
      await this.http.close(this.config.drainTimeoutSeconds * 1000, () => this.app.flushBatches());
      // A load in progress (a large gs:// download) is not waited for past the deadline: loadAll
      // frees whatever it loads after this point.
      if (this.loading) {
        const left = Math.max(0, this.config.drainTimeoutSeconds * 1000 - (performance.now() - started));
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          this.loading.catch(() => undefined),
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, left);
          }),
        ]);
        clearTimeout(timer);
      }
      // What monitoring buffered is written within what is left of the drain timeout.
      if (this.monitor) {
        const left = this.config.drainTimeoutSeconds * 1000 - (performance.now() - started);
        await this.monitor.close(Math.max(1000, left));
      }
      this.app.unload();
      await this.upstreams.stop(UPSTREAM_STOP_MS);
    } finally {
      // Whatever failed above, `closed` resolves: the CLI waits on it to exit.
      this.stateValue = 'closed';
      this.log.info({ seconds: (performance.now() - started) / 1000 }, 'stopped');
      if (this.ownsLogger) this.logs.close();
      else this.logs.flush();
      this.markClosed();
    }
  }
}

/** Listens, then loads; resolves once ready (rejects if a version cannot be loaded). */
export async function startModelServer(
  options: ModelServerOptions & { port?: number; host?: string },
): Promise<ModelServer> {
  const server = new ModelServer(options);
  await server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
  try {
    await server.load();
  } catch (e) {
    await server.shutdown('load failed');
    throw e;
  }
  return server;
}
