/**
 * The request handling of the model server, independent of the HTTP library: a request (method,
 * path, content type, body bytes) in, a response (status, JSON text) out. It owns the versions'
 * states, the traffic split and a batcher per version. `handle` never throws: anything unexpected
 * becomes a 500 with `{"error": ...}`, so no input can take the process down.
 */
import { errorMessage } from '../resources/error-message.js';
import type { Logger } from 'pino';
import {
  decodeOutputs,
  encodeInstances,
  type InstanceError,
  type Prediction,
} from '../artifact/preprocess/index.js';
import type { FeatureEncoding } from '../artifact/preprocess/types.js';
import { tfServingDtype } from './feature-dtypes.js';
import { Batcher, type BatchValues } from './batcher.js';
import type { ServingConfig, VersionConfig } from './config.js';
import { isUtf8 } from 'node:buffer';
import { formatPath } from '../resources/diagnostic.js';
import { HttpError, type FieldProblem } from './http-error.js';
import { strictInputErrors } from './strict-inputs.js';
import { isAsyncVersion, type EncodedBatch, type ServedVersion } from './model-version.js';
import { SIGNATURE_NAME, instanceErrors, predictResponse, readPredictRequest } from './predict-request.js';
import { inferErrors, inferMetadata, inferResponse, readInferRequest } from './oip-infer.js';
import { matchRoute, routeName, type Route } from './routes.js';
import type { RouteName, ServingMetrics } from './serving-metrics.js';
import { TrafficSplit } from './traffic.js';
import type { Upstream } from './upstream.js';
import { REQUEST_ID_HEADER } from '../monitoring/prediction-log.js';
import type { ServingMonitor } from './monitoring.js';
import { requestIdOf } from './monitoring-request-id.js';

export interface AppRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  contentType: string | undefined;
  /** Undefined for requests whose body was not read (GET). */
  body: Buffer | undefined;
  /** The client's `x-mlform-request-id`, honoured when short and safe (monitoring-request-id.ts). */
  requestId?: string | string[];
}

export interface AppResponse {
  status: number;
  contentType: string;
  body: string;
  headers?: Record<string, string>;
  route: RouteName;
  /** The version that answered a predict, for metrics and logs. */
  version?: string;
  instances?: number;
}

/** TensorFlow Serving's version states. */
export type VersionState = 'LOADING' | 'AVAILABLE' | 'UNLOADING' | 'END';

interface VersionSlot {
  config: VersionConfig;
  state: VersionState;
  error?: string;
  model?: ServedVersion;
  batcher?: Batcher<BatchValues>;
  /** A version served by a process of its own (upstream.ts): predictions are forwarded there. */
  upstream?: Upstream;
  label: string;
}

const JSON_TYPE = 'application/json';

/** Hands a served request to monitoring (a no-op without it). */
type Observe = (instances: unknown[], predictions: Prediction[]) => void;

const json = (
  status: number,
  value: unknown,
  route: RouteName,
  extra: Partial<AppResponse> = {},
): AppResponse => ({
  status,
  contentType: JSON_TYPE,
  body: JSON.stringify(value),
  route,
  ...extra,
});

function errorResponse(error: HttpError, route: RouteName, version?: string): AppResponse {
  const body: { error: string; problems?: FieldProblem[] } = { error: error.message };
  if (error.problems && error.problems.length > 1) body.problems = error.problems;
  return json(error.status, body, route, {
    ...(error.headers && { headers: error.headers }),
    ...(version !== undefined && { version }),
  });
}

/** `application/json`, `application/json; charset=utf-8`, `application/vnd.x+json`. */
function isJsonType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const type = contentType.split(';', 1)[0].trim().toLowerCase();
  return type === JSON_TYPE || (type.startsWith('application/') && type.endsWith('+json'));
}

export class ServingApp {
  private readonly slots: VersionSlot[];
  private readonly byNumber = new Map<number, VersionSlot>();
  private traffic: TrafficSplit<VersionSlot> | undefined;
  private draining = false;
  private readonly upstreamPaths: ReadonlySet<string>;

  constructor(
    readonly config: ServingConfig,
    private readonly metrics: ServingMetrics,
    private readonly log?: Logger,
    /** Present when `config.monitoring` is set: counting, the prediction log, feedback. */
    private readonly monitor?: ServingMonitor,
  ) {
    this.slots = config.versions.map((v) => ({ config: v, state: 'LOADING', label: String(v.version) }));
    for (const slot of this.slots) this.byNumber.set(slot.config.version, slot);
    this.upstreamPaths = new Set(
      config.versions.flatMap((v) => (v.upstream ? [v.upstream.predictPath] : [])),
    );
  }

  /** Ready: every version loaded and warmed up, and not shutting down. */
  get ready(): boolean {
    return this.traffic !== undefined && !this.draining;
  }

  /** Requests waiting in the batchers for a model call. */
  get queued(): number {
    return this.slots.reduce((n, s) => n + (s.batcher?.pending ?? 0), 0);
  }

  get versions(): readonly { version: number; state: VersionState; error?: string }[] {
    return this.slots.map((s) => ({
      version: s.config.version,
      state: s.state,
      ...(s.error && { error: s.error }),
    }));
  }

  /** A version finished loading and warming up; it takes pinned requests from now on. */
  versionLoaded(model: ServedVersion): void {
    const slot = this.byNumber.get(model.version);
    if (!slot) throw new Error(`version ${model.version} is not in the config`);
    slot.model = model;
    const label = slot.label;
    slot.batcher = new Batcher<BatchValues>(
      isAsyncVersion(model)
        ? (x, count) => model.run(x, count)
        : (x, count) => model.run(x as Float32Array, count),
      isAsyncVersion(model) ? model.rowSize : model.preprocess.inputShape.reduce((a, b) => a * b, 1),
      model.outputWidth,
      this.config.batching,
      { onBatch: (instances, requests, seconds) => this.metrics.batch(label, instances, requests, seconds) },
    );
    slot.state = 'AVAILABLE';
    this.metrics.versionReady(label, true);
  }

  /** An upstream version answers its health path: it takes pinned requests from now on. */
  upstreamReady(version: number, upstream: Upstream): void {
    const slot = this.byNumber.get(version);
    if (!slot) throw new Error(`version ${version} is not in the config`);
    slot.upstream = upstream;
    slot.state = 'AVAILABLE';
    this.metrics.versionReady(slot.label, true);
  }

  versionFailed(version: number, message: string): void {
    const slot = this.byNumber.get(version);
    if (!slot) return;
    slot.state = 'END';
    slot.error = message;
  }

  /** All versions are available: unpinned traffic starts. */
  markReady(): void {
    if (this.slots.some((s) => s.state !== 'AVAILABLE')) throw new Error('not every version is available');
    this.traffic = new TrafficSplit(this.slots.map((s) => ({ target: s, percent: s.config.percent })));
  }

  /** Readiness turns false; requests still arriving on open connections are answered. */
  beginDrain(): void {
    this.draining = true;
  }

  /** Answers every queued request now (shutdown). */
  flushBatches(): void {
    for (const slot of this.slots) slot.batcher?.drain();
  }

  /** Frees the models; the app answers 503 for predictions afterwards. */
  unload(): void {
    for (const slot of this.slots) {
      slot.batcher?.drain();
      slot.model?.dispose();
      slot.model = undefined;
      slot.batcher = undefined;
      slot.state = 'END';
      this.metrics.versionReady(slot.label, false);
    }
    this.traffic = undefined;
  }

  async handle(request: AppRequest): Promise<AppResponse> {
    let route: Route | undefined;
    try {
      if (request.method === 'POST' && this.upstreamPaths.has(request.path)) {
        // An upstream's own predict path, called on this server: the traffic split chooses.
        return await this.withRequestId(request, (id) =>
          this.predict({ kind: 'predict', model: this.config.name }, request, id),
        );
      }
      route = matchRoute(request.method, request.path);
      switch (route.kind) {
        case 'predict':
        case 'infer': {
          const predictRoute = route;
          return await this.withRequestId(request, (id) => this.predict(predictRoute, request, id));
        }
        case 'feedback':
          return this.feedback(route, request);
        case 'model-metadata':
          return this.inferMetadata(route);
        case 'status':
          return this.status(route);
        case 'metadata':
          return this.metadata(route);
        case 'live':
          return json(200, { live: true }, 'health');
        case 'ready': {
          const ready = this.ready && (await this.upstreamsHealthy());
          return json(ready ? 200 : 503, { ready }, 'health');
        }
        case 'model-ready': {
          this.checkModel(route.model);
          const ready =
            route.version === undefined ? this.ready : this.slotFor(route.version).state === 'AVAILABLE';
          return json(
            ready ? 200 : 503,
            { name: route.model, ...(route.version && { version: route.version }), ready },
            'health',
          );
        }
        case 'metrics': {
          const { contentType, body } = await this.metrics.text();
          return { status: 200, contentType, body, route: 'metrics' };
        }
      }
    } catch (e) {
      if (e instanceof HttpError) return errorResponse(e, routeName(route));
      this.log?.error({ err: e, path: request.path }, 'unexpected error while answering a request');
      return errorResponse(new HttpError(500, `internal error: ${errorMessage(e)}`), routeName(route));
    }
  }

  /** Every predict answer, errors included, carries the request id feedback refers to. */
  private async withRequestId(
    request: AppRequest,
    answer: (id: string) => Promise<AppResponse>,
  ): Promise<AppResponse> {
    const id = requestIdOf(request.requestId);
    let response: AppResponse;
    try {
      response = await answer(id);
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      response = errorResponse(e, 'predict');
    }
    return { ...response, headers: { ...response.headers, [REQUEST_ID_HEADER]: id } };
  }

  /** `POST /v1/models/{m}:feedback` (monitoring.ts): truth joined to earlier request ids. */
  private feedback(route: Extract<Route, { kind: 'feedback' }>, request: AppRequest): AppResponse {
    this.checkModel(route.model);
    if (!this.monitor) {
      throw new HttpError(
        404,
        `feedback is not collected for model "${this.config.name}": monitoring is off (DeployedEndpoint spec.monitoring)`,
      );
    }
    return json(200, this.monitor.feedback(readJsonBody(request)), 'feedback');
  }

  private unavailableReason(): string {
    const failed = this.slots.find((s) => s.error !== undefined);
    if (failed)
      return `model "${this.config.name}" cannot be served: version ${failed.label} failed to load: ${failed.error}`;
    if (this.draining) return 'the server is shutting down';
    return `model "${this.config.name}" is loading; retry when /v2/health/ready answers 200`;
  }

  private checkModel(model: string): void {
    if (model !== this.config.name) {
      throw new HttpError(
        404,
        `model "${model}" is not served here; this server serves "${this.config.name}"`,
      );
    }
  }

  /** Servers of their own describe themselves (or not); mlform knows nothing of their inputs. */
  private checkNotUpstream(): void {
    if (this.upstreamPaths.size > 0) {
      throw new HttpError(
        404,
        `model "${this.config.name}" is served by a server of its own; mlform has no metadata of it`,
      );
    }
  }

  private slotFor(version: string): VersionSlot {
    if (!/^[0-9]{1,10}$/.test(version)) {
      throw new HttpError(400, `version must be a positive integer, got ${JSON.stringify(version)}`);
    }
    const slot = this.byNumber.get(Number(version));
    if (!slot) {
      const loaded = this.slots.map((s) => s.config.version).join(', ');
      throw new HttpError(
        404,
        `version ${Number(version)} of model "${this.config.name}" is not served; versions: ${loaded}`,
      );
    }
    return slot;
  }

  private async predict(
    route: Extract<Route, { kind: 'predict' | 'infer' }>,
    request: AppRequest,
    id: string,
  ): Promise<AppResponse> {
    this.checkModel(route.model);
    let slot: VersionSlot;
    if (route.version !== undefined) {
      slot = this.slotFor(route.version);
    } else {
      if (!this.traffic) {
        throw new HttpError(503, this.unavailableReason(), undefined, { 'retry-after': '1' });
      }
      slot = this.traffic.next();
    }
    if (slot.upstream) return this.forward(slot, slot.upstream, route.kind, request);
    const { model, batcher } = slot;
    if (!model || !batcher) {
      const why = slot.state === 'END' ? (slot.error ?? 'unloaded') : 'loading';
      throw new HttpError(
        503,
        `version ${slot.label} of model "${this.config.name}" is not available (${why})`,
        undefined,
        { 'retry-after': '1' },
      );
    }
    try {
      const body = readJsonBody(request);
      const observe = (instances: unknown[], predictions: Prediction[]): void =>
        this.monitor?.observe(slot.config.version, instances, predictions, id);
      return route.kind === 'infer'
        ? await this.inferWith(slot.label, model, batcher, body, observe)
        : await this.predictWith(slot.label, model, batcher, body, observe);
    } catch (e) {
      if (e instanceof HttpError) return errorResponse(e, 'predict', slot.label);
      throw e;
    }
  }

  /** Every upstream answers its health path with 200 (checked on each readiness request). */
  private async upstreamsHealthy(): Promise<boolean> {
    const upstreams = this.slots.flatMap((s) => (s.upstream ? [s.upstream] : []));
    const answers = await Promise.all(upstreams.map((u) => u.health(2_000)));
    return answers.every((status) => status === 200);
  }

  /** The request goes to the version's own server; its status and body come back as they are. */
  private async forward(
    slot: VersionSlot,
    upstream: Upstream,
    kind: 'predict' | 'infer',
    request: AppRequest,
  ): Promise<AppResponse> {
    try {
      if (kind === 'infer') {
        throw new HttpError(
          404,
          `version ${slot.label} is served by its own server: POST ${upstream.config.predictPath} or /v1/models/${this.config.name}:predict`,
        );
      }
      const answer = await upstream.forward(request.body, request.contentType, {
        maxBytes: this.config.limits.maxBodyBytes,
        timeoutMs: this.config.limits.requestTimeoutSeconds * 1000,
      });
      return {
        status: answer.status,
        contentType: answer.contentType,
        body: answer.body,
        headers: { 'x-model-version': slot.label },
        route: 'predict',
        version: slot.label,
      };
    } catch (e) {
      if (e instanceof HttpError) return errorResponse(e, 'predict', slot.label);
      throw e;
    }
  }

  private async predictWith(
    label: string,
    model: ServedVersion,
    batcher: Batcher<BatchValues>,
    body: unknown,
    observe: Observe,
  ): Promise<AppResponse> {
    const parsed = readPredictRequest(body, this.config.limits.maxInstances);
    const predictions = await this.run(model, batcher, parsed.instances, (all) =>
      instanceErrors(parsed.format, all),
    );
    observe(parsed.instances, predictions);
    return json(200, predictResponse(parsed.format, predictions), 'predict', {
      headers: { 'x-model-version': label },
      version: label,
      instances: predictions.length,
    });
  }

  /** Open Inference Protocol: tensors in, tensors out, through the same checks and batcher. */
  private async inferWith(
    label: string,
    model: ServedVersion,
    batcher: Batcher<BatchValues>,
    body: unknown,
    observe: Observe,
  ): Promise<AppResponse> {
    const parsed = readInferRequest(body, model.preprocess, this.config.limits.maxInstances);
    const predictions = await this.run(model, batcher, parsed.instances, (all) => inferErrors(parsed, all));
    observe(parsed.instances, predictions);
    return json(
      200,
      inferResponse(this.config.name, label, parsed, model.preprocess, predictions),
      'predict',
      {
        headers: { 'x-model-version': label },
        version: label,
        instances: predictions.length,
      },
    );
  }

  /** Checks and encodes instances like training did, batches them, decodes the outputs. */
  private async run(
    model: ServedVersion,
    batcher: Batcher<BatchValues>,
    instances: unknown[],
    toError: (errors: InstanceError[]) => HttpError,
  ): Promise<Prediction[]> {
    const refused = isAsyncVersion(model) ? model.missingValues : undefined;
    const strict = strictInputErrors(
      model.preprocess,
      instances,
      refused === undefined ? this.config.limits.missingFeatures : 'error',
      refused,
    );
    const encoded: EncodedBatch = isAsyncVersion(model)
      ? model.encode(instances)
      : encodeInstances(model.preprocess, instances);
    if (strict.length > 0 || !encoded.ok) {
      // The encoder's problems (wrong types, unknown names) first: an unknown name is usually the
      // reason a feature is absent. The sort is stable, so per instance that order holds.
      const all = [...(encoded.ok ? [] : encoded.errors), ...strict].sort((a, b) => a.index - b.index);
      throw toError(all);
    }
    const output = await batcher.submit(encoded.x, encoded.count);
    return decodeOutputs(model.preprocess, output, encoded.count, encoded.anchor);
  }

  private inferMetadata(route: Extract<Route, { kind: 'model-metadata' }>): AppResponse {
    this.checkModel(route.model);
    this.checkNotUpstream();
    const slots = route.version === undefined ? this.slots : [this.slotFor(route.version)];
    const loaded = slots.filter((s) => s.model).sort((a, b) => b.config.version - a.config.version)[0];
    if (!loaded?.model) {
      throw new HttpError(
        503,
        `model "${this.config.name}" is loading; metadata is available once it is loaded`,
        undefined,
        {
          'retry-after': '1',
        },
      );
    }
    return json(
      200,
      inferMetadata(
        this.config.name,
        slots.map((s) => s.label),
        loaded.model.preprocess,
        isAsyncVersion(loaded.model) ? loaded.model.platform : undefined,
      ),
      'metadata',
    );
  }

  private status(route: Extract<Route, { kind: 'status' }>): AppResponse {
    this.checkModel(route.model);
    const slots = route.version === undefined ? this.slots : [this.slotFor(route.version)];
    return json(
      200,
      {
        model_version_status: slots.map((s) => ({
          version: s.label,
          state: this.draining && s.state === 'AVAILABLE' ? 'UNLOADING' : s.state,
          status: s.error
            ? { error_code: 'UNKNOWN', error_message: s.error }
            : { error_code: 'OK', error_message: '' },
        })),
      },
      'status',
    );
  }

  private metadata(route: Extract<Route, { kind: 'metadata' }>): AppResponse {
    this.checkModel(route.model);
    this.checkNotUpstream();
    let slot: VersionSlot | undefined;
    if (route.version !== undefined) slot = this.slotFor(route.version);
    else {
      // TF Serving's default version: the newest one that is loaded.
      slot = this.slots.filter((s) => s.model).sort((a, b) => b.config.version - a.config.version)[0];
    }
    const model = slot?.model;
    if (!slot || !model) {
      throw new HttpError(
        503,
        `model "${this.config.name}" is loading; metadata is available once it is loaded`,
        undefined,
        {
          'retry-after': '1',
        },
      );
    }
    return json(200, metadataOf(this.config.name, slot.config, model), 'metadata');
  }
}

/** The request body as JSON: 415 for another content type, 400 naming what is wrong with it. */
function readJsonBody(request: AppRequest): unknown {
  if (!isJsonType(request.contentType)) {
    throw new HttpError(
      415,
      `content-type ${JSON.stringify(request.contentType)} is not supported; send the body as application/json (curl: -H 'content-type: application/json')`,
    );
  }
  // toString would quietly turn invalid bytes into U+FFFD, and a category into another one.
  if (request.body && !isUtf8(request.body)) throw invalidUtf8(request.body);
  const text = request.body?.toString('utf8') ?? '';
  if (text.trim() === '') {
    throw new HttpError(400, 'the request body is empty; send {"instances": [{"feature": value, ...}]}');
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    // JSON has no NaN or Infinity literals: a body with them is not JSON, which is worth saying.
    const hint = /\b(NaN|-?Infinity)\b/.test(text)
      ? ' (JSON has no NaN or Infinity: send null for a missing value)'
      : '';
    throw new HttpError(400, `the request body is not valid JSON: ${errorMessage(e)}${hint}`);
  }
  return body;
}

/**
 * 400 for a body that is not UTF-8, naming the JSON fields whose text holds the bad bytes (found
 * on this error path only: the body decoded with replacement characters, then parsed).
 */
function invalidUtf8(body: Buffer): HttpError {
  const paths: string[] = [];
  const walk = (value: unknown, path: (string | number)[]): void => {
    if (paths.length >= 5) return;
    if (typeof value === 'string') {
      if (value.includes('\uFFFD')) paths.push(formatPath(path) || '(the body)');
    } else if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, i]));
    else if (typeof value === 'object' && value !== null) {
      for (const [k, v] of Object.entries(value)) {
        if (k.includes('\uFFFD')) paths.push(`${formatPath([...path, k])} (the name)`);
        walk(v, [...path, k]);
      }
    }
  };
  try {
    walk(JSON.parse(body.toString('utf8')) as unknown, []);
  } catch {
    // not JSON either: the bytes are all there is to say
  }
  const where = paths.length > 0 ? `: ${paths.join(', ')}` : '';
  return new HttpError(
    400,
    `the request body is not valid UTF-8${where}; send JSON text encoded as UTF-8`,
    paths.map((path) => ({ path, message: 'not valid UTF-8' })),
  );
}

const tensorShape = (...dims: number[]) => ({
  dim: dims.map((size) => ({ size: String(size), name: '' })),
  unknown_rank: false,
});

/** What the client sends for a feature, for people reading the metadata. */
function describeFeature(feature: FeatureEncoding, fills: boolean): Record<string, unknown> {
  switch (feature.type) {
    case 'numeric':
      return fills
        ? { name: feature.name, type: 'numeric', fill: feature.fill }
        : { name: feature.name, type: 'numeric' };
    case 'boolean':
      return fills
        ? { name: feature.name, type: 'boolean', fill: feature.fill === 1 }
        : { name: feature.name, type: 'boolean' };
    case 'date':
      return { name: feature.name, type: 'date', format: 'ISO 8601 string or epoch milliseconds' };
    case 'categorical':
      if (!fills) return { name: feature.name, type: 'categorical' }; // an ONNX string input
      return feature.hashBuckets
        ? { name: feature.name, type: 'categorical', hashBuckets: feature.hashBuckets }
        : { name: feature.name, type: 'categorical', vocabulary: feature.vocabulary };
  }
}

/**
 * TensorFlow Serving's metadata shape (model_spec + signature_def) describing the raw features
 * the client sends, not the encoded tensor, plus an `mlform` section with the preprocessing facts
 * a client needs (vocabularies, fill values, window).
 */
function metadataOf(name: string, config: VersionConfig, model: ServedVersion): unknown {
  const p = model.preprocess;
  const other = isAsyncVersion(model) ? model : undefined;
  const batch = p.window ? [-1, p.window.size] : [-1];
  const inputs: Record<string, unknown> = {};
  for (const f of p.features)
    inputs[f.name] = { dtype: tfServingDtype(f), tensor_shape: tensorShape(...batch), name: f.name };
  if (p.window)
    inputs[p.target.name] = { dtype: 'DT_FLOAT', tensor_shape: tensorShape(...batch), name: p.target.name };
  const outputs: Record<string, unknown> =
    p.target.type === 'label'
      ? {
          label: { dtype: 'DT_STRING', tensor_shape: tensorShape(-1), name: 'label' },
          probabilities: {
            dtype: 'DT_FLOAT',
            tensor_shape: tensorShape(-1, p.target.labels.length),
            name: 'probabilities',
          },
        }
      : { [p.target.name]: { dtype: 'DT_FLOAT', tensor_shape: tensorShape(-1), name: p.target.name } };
  return {
    model_spec: { name, signature_name: '', version: String(config.version) },
    metadata: {
      signature_def: {
        signature_def: {
          [SIGNATURE_NAME]: { inputs, outputs, method_name: 'tensorflow/serving/predict' },
        },
      },
    },
    mlform: {
      task: p.task,
      platform: other?.platform ?? 'mlform_tfjs',
      features: p.features.map((f) => describeFeature(f, other?.missingValues === undefined)),
      target:
        p.target.type === 'label'
          ? { name: p.target.name, labels: p.target.labels }
          : { name: p.target.name },
      ...(p.window && {
        window: p.window,
        request: `{"instances": [{"history": [row, ...]}]}: at least ${p.window.size} rows, oldest first, each with the features and ${p.target.name}`,
      }),
      trafficPercent: config.percent,
      ...(other?.onnx && { onnx: other.onnx }),
      ...model.provenance,
    },
  };
}
