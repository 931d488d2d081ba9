/**
 * What one serving process serves: a model name, the versions it loads (with their traffic
 * shares), dynamic batching and request limits. Written by hand (`--config FILE`), by the local
 * provider, or built from `mlform serve --model DIR` flags. The raw JSON is normalised in one pass
 * (defaults filled, every problem reported with its field path), wrangler-style: RawServingConfig
 * is what was written, ServingConfig what the server runs with.
 */
import { errorMessage } from '../resources/error-message.js';
import { readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { error, type Diagnostic, type FieldPath } from '../resources/diagnostic.js';
import { didYouMean } from '../resources/suggest.js';
import { isGcsUri, toLocalPath } from '../artifact/storage.js';
import { SERVING_BOUNDS, type ConnectionBounds } from './connection-bounds.js';

export interface VersionConfig {
  /** Positive integer, as in TensorFlow Serving's `/versions/{v}` routes. */
  version: number;
  /** Artifact directory: a local path, `file://` URI or `gs://` prefix (beside `upstream`: only a record). */
  uri: string;
  /** Instead of a model: a server of its own this one forwards to (serving/upstream.ts). */
  upstream?: UpstreamConfig;
  /** Share of unpinned `:predict` traffic, 0-100; all shares sum to 100. */
  percent: number;
}

/**
 * A version served by another process (a DeployedEndpoint's `container.command`, started by the
 * local provider): predictions are forwarded to `url` + `predictPath`, and the version is ready
 * while `url` + `healthPath` answers 200. Traffic, pinned routes, limits, metrics and logs stay here.
 */
export interface UpstreamConfig {
  /** `http://host:port`, no path. */
  url: string;
  healthPath: string;
  predictPath: string;
}

export interface BatchingConfig {
  /** Coalesce concurrent requests into one model call. */
  enabled: boolean;
  /** Most instances (rows) in one model call. A single larger request runs alone. */
  maxBatchSize: number;
  /**
   * Longest a queued request waits for companions before its batch runs. 0 (the default) means
   * "whatever arrived in the same event-loop turn": coalescing without added latency. Node timers
   * have millisecond resolution, so values are rounded up to whole milliseconds.
   */
  batchTimeoutMicros: number;
}

/**
 * What a feature an instance leaves out, or sends as `null`, means.
 * - `explicit` (default): a missing value must be said: `null` (or a missing marker) takes the
 *   training fill value; a feature left out is a 400 naming it, so a client that forgot a field
 *   (or misspelt it) is told instead of getting a prediction for an imputed row.
 * - `fill`: left out or `null`, both take the fill value (mlform before issue 11).
 * - `error`: every feature present and non-null.
 */
export type MissingFeaturePolicy = 'explicit' | 'fill' | 'error';

export const MISSING_FEATURE_POLICIES: readonly MissingFeaturePolicy[] = ['explicit', 'fill', 'error'];

export interface LimitsConfig {
  /** Larger request bodies are refused with 413 before they are read. */
  maxBodyBytes: number;
  /** Instances per request; more is refused with 413. */
  maxInstances: number;
  /** See MissingFeaturePolicy; `explicit` by default. */
  missingFeatures: MissingFeaturePolicy;
  /** The endpoint's `timeoutSeconds` (Cloud Run's request timeout); also caps receiveTimeoutSeconds. */
  requestTimeoutSeconds: number;
  /** Request line and headers must arrive within this (slowloris). */
  headersTimeoutSeconds: number;
  /** The whole request, headers and body, must arrive within this (a trickled body is cut). */
  receiveTimeoutSeconds: number;
  /** Idle keep-alive connections are closed after this. */
  keepAliveTimeoutSeconds: number;
  /** Connections beyond this many are closed as they arrive. */
  maxConnections: number;
}

export interface LoggingConfig {
  level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** One log line per request (method, path, status, duration, version, instances). */
  requests: boolean;
}

/**
 * Prediction logging and window statistics (issue 15; serving/README.md "Monitoring"): where the
 * server writes, what share of requests it logs, and how it windows and batches. Written by the
 * providers from a DeployedEndpoint's `spec.monitoring`.
 */
export interface MonitoringConfig {
  /** The endpoint's monitoring root: an absolute local path (file:// accepted) or a gs:// prefix. */
  root: string;
  /** The DeployedEndpoint's name, recorded in every log record and window summary. */
  endpoint: string;
  /** Share of requests whose inputs and outputs are logged, 0-1 (every request is counted). */
  sampleRate: number;
  /** Window length; windows are aligned to multiples of it since the epoch. At least 10. */
  windowSeconds: number;
  /** Log, feedback and summary objects older than this are deleted by the server. */
  retentionSeconds: number;
  /**
   * Prefix of this process's instance name in object names (the gcp provider leaves it to
   * $K_REVISION); the server appends a random suffix, so two processes never write one object.
   */
  instance?: string;
  /** Most records held for the log; more are dropped and counted. */
  bufferRecords: number;
  /** A log object is written every this many records... */
  flushRecords: number;
  /** ...or every this many seconds, whichever comes first. */
  flushSeconds: number;
}

export interface ServingConfig {
  /** The `{m}` of `/v1/models/{m}`. */
  name: string;
  versions: VersionConfig[];
  batching: BatchingConfig;
  limits: LimitsConfig;
  logging: LoggingConfig;
  /** On SIGTERM, in-flight requests get this long to finish (default 8: Cloud Run allows 10 s). */
  drainTimeoutSeconds: number;
  /** Absent: no logging, no window statistics, no feedback route. */
  monitoring?: MonitoringConfig;
}

/** The config as written: everything but `versions[].uri` optional. */
export interface RawServingConfig {
  name?: string;
  versions?: { version?: number; uri?: string; upstream?: UpstreamConfig; percent?: number }[];
  batching?: Partial<BatchingConfig>;
  limits?: Partial<LimitsConfig>;
  logging?: Partial<LoggingConfig>;
  drainTimeoutSeconds?: number;
  monitoring?: Partial<MonitoringConfig>;
}

export const DEFAULT_MODEL_NAME = 'default';

export const DEFAULT_BATCHING: BatchingConfig = { enabled: true, maxBatchSize: 64, batchTimeoutMicros: 0 };

export const DEFAULT_LIMITS: LimitsConfig = {
  maxBodyBytes: 10 * 1024 * 1024,
  maxInstances: 1000,
  missingFeatures: 'explicit',
  requestTimeoutSeconds: 300,
  headersTimeoutSeconds: SERVING_BOUNDS.headersTimeoutMs / 1000,
  receiveTimeoutSeconds: SERVING_BOUNDS.requestTimeoutMs / 1000,
  keepAliveTimeoutSeconds: SERVING_BOUNDS.keepAliveTimeoutMs / 1000,
  maxConnections: SERVING_BOUNDS.maxConnections,
};

export const DEFAULT_LOGGING: LoggingConfig = { level: 'info', requests: true };

/**
 * `monitoring` as JSON in the environment (the gcp provider sets it on the Cloud Run container,
 * which gets no config file); `mlform serve` merges it over the config.
 */
export const MONITORING_ENV = 'MLFORM_SERVE_MONITORING';

export const DEFAULT_MONITORING = {
  sampleRate: 0.1,
  windowSeconds: 3600,
  retentionSeconds: 7 * 24 * 3600,
  bufferRecords: 10_000,
  flushRecords: 1_000,
  flushSeconds: 10,
} as const;

/** Instance name prefixes: they end up in object names. */
const INSTANCE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** Cloud Run kills a container 10 s after SIGTERM; 8 s of drain leaves time to free and flush. */
export const DEFAULT_DRAIN_TIMEOUT_SECONDS = 8;

const LOG_LEVELS: readonly LoggingConfig['level'][] = [
  'fatal',
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'silent',
];

/** Same rule as metadata.name in manifests, plus dots and underscores that TF Serving allows. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

type Problems = Diagnostic[];

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const typeName = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value;

function unknownKeys(
  value: Record<string, unknown>,
  known: readonly string[],
  path: FieldPath,
  problems: Problems,
): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const hint = didYouMean(key, known);
    problems.push(
      error('unknown-field', `unknown field "${key}"`, { path: [...path, key], ...(hint && { hint }) }),
    );
  }
}

function section(
  raw: Record<string, unknown>,
  key: string,
  problems: Problems,
): Record<string, unknown> | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  if (isRecord(value)) return value;
  problems.push(error('type', `expected an object, got ${typeName(value)}`, { path: [key] }));
  return undefined;
}

function integer(
  value: unknown,
  path: FieldPath,
  range: { min: number; max: number },
  fallback: number,
  problems: Problems,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > range.max) {
    problems.push(
      error('range', `expected an integer from ${range.min} to ${range.max}, got ${JSON.stringify(value)}`, {
        path,
      }),
    );
    return fallback;
  }
  return value;
}

function boolean(value: unknown, path: FieldPath, fallback: boolean, problems: Problems): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    problems.push(error('type', `expected true or false, got ${JSON.stringify(value)}`, { path }));
    return fallback;
  }
  return value;
}

function oneOf<T extends string>(
  value: unknown,
  path: FieldPath,
  choices: readonly T[],
  fallback: T,
  problems: Problems,
): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    const hint = typeof value === 'string' ? didYouMean(value, choices) : undefined;
    problems.push(
      error('enum', `expected one of ${choices.join(', ')}, got ${JSON.stringify(value)}`, {
        path,
        ...(hint && { hint }),
      }),
    );
    return fallback;
  }
  return value as T;
}

/**
 * A relative local URI in a config file means "next to the config file", so a state directory
 * can be moved as a whole.
 */
function resolveUri(uri: string, baseDir: string): string {
  if (isGcsUri(uri)) return uri;
  if (uri.startsWith('file://') || isAbsolute(uri)) return toLocalPath(uri, baseDir);
  return resolve(baseDir, uri);
}

/**
 * Raw JSON -> ServingConfig with defaults, or the problems (all of them, with field paths).
 * `baseDir` is where relative version URIs resolve (the config file's folder).
 */
export function normalizeServingConfig(
  raw: unknown,
  baseDir: string = process.cwd(),
): { config?: ServingConfig; diagnostics: Diagnostic[] } {
  const problems: Problems = [];
  if (!isRecord(raw)) {
    return {
      diagnostics: [error('type', `a serving config is a JSON object, got ${typeName(raw)}`, { path: [] })],
    };
  }
  unknownKeys(
    raw,
    ['name', 'versions', 'batching', 'limits', 'logging', 'drainTimeoutSeconds', 'monitoring'],
    [],
    problems,
  );

  let name = DEFAULT_MODEL_NAME;
  if (raw.name !== undefined) {
    if (typeof raw.name !== 'string' || !MODEL_NAME.test(raw.name)) {
      problems.push(
        error(
          'model-name',
          `expected a model name of letters, digits, ".", "_" and "-" (at most 63), got ${JSON.stringify(raw.name)}`,
          { path: ['name'] },
        ),
      );
    } else name = raw.name;
  }

  const versions = normalizeVersions(raw.versions, baseDir, problems);

  const b = section(raw, 'batching', problems) ?? {};
  unknownKeys(b, ['enabled', 'maxBatchSize', 'batchTimeoutMicros'], ['batching'], problems);
  const batching: BatchingConfig = {
    enabled: boolean(b.enabled, ['batching', 'enabled'], DEFAULT_BATCHING.enabled, problems),
    maxBatchSize: integer(
      b.maxBatchSize,
      ['batching', 'maxBatchSize'],
      { min: 1, max: 65536 },
      DEFAULT_BATCHING.maxBatchSize,
      problems,
    ),
    batchTimeoutMicros: integer(
      b.batchTimeoutMicros,
      ['batching', 'batchTimeoutMicros'],
      { min: 0, max: 10_000_000 },
      DEFAULT_BATCHING.batchTimeoutMicros,
      problems,
    ),
  };

  const l = section(raw, 'limits', problems) ?? {};
  unknownKeys(
    l,
    [
      'maxBodyBytes',
      'maxInstances',
      'missingFeatures',
      'requestTimeoutSeconds',
      'headersTimeoutSeconds',
      'receiveTimeoutSeconds',
      'keepAliveTimeoutSeconds',
      'maxConnections',
    ],
    ['limits'],
    problems,
  );
  const limits: LimitsConfig = {
    maxBodyBytes: integer(
      l.maxBodyBytes,
      ['limits', 'maxBodyBytes'],
      { min: 1024, max: 1024 * 1024 * 1024 },
      DEFAULT_LIMITS.maxBodyBytes,
      problems,
    ),
    maxInstances: integer(
      l.maxInstances,
      ['limits', 'maxInstances'],
      { min: 1, max: 1_000_000 },
      DEFAULT_LIMITS.maxInstances,
      problems,
    ),
    missingFeatures: oneOf(
      l.missingFeatures,
      ['limits', 'missingFeatures'],
      MISSING_FEATURE_POLICIES,
      DEFAULT_LIMITS.missingFeatures,
      problems,
    ),
    requestTimeoutSeconds: integer(
      l.requestTimeoutSeconds,
      ['limits', 'requestTimeoutSeconds'],
      { min: 1, max: 3600 },
      DEFAULT_LIMITS.requestTimeoutSeconds,
      problems,
    ),
    headersTimeoutSeconds: integer(
      l.headersTimeoutSeconds,
      ['limits', 'headersTimeoutSeconds'],
      { min: 1, max: 3600 },
      DEFAULT_LIMITS.headersTimeoutSeconds,
      problems,
    ),
    receiveTimeoutSeconds: integer(
      l.receiveTimeoutSeconds,
      ['limits', 'receiveTimeoutSeconds'],
      { min: 1, max: 3600 },
      DEFAULT_LIMITS.receiveTimeoutSeconds,
      problems,
    ),
    keepAliveTimeoutSeconds: integer(
      l.keepAliveTimeoutSeconds,
      ['limits', 'keepAliveTimeoutSeconds'],
      { min: 1, max: 3600 },
      DEFAULT_LIMITS.keepAliveTimeoutSeconds,
      problems,
    ),
    maxConnections: integer(
      l.maxConnections,
      ['limits', 'maxConnections'],
      { min: 1, max: 1_000_000 },
      DEFAULT_LIMITS.maxConnections,
      problems,
    ),
  };

  const g = section(raw, 'logging', problems) ?? {};
  unknownKeys(g, ['level', 'requests'], ['logging'], problems);
  const logging: LoggingConfig = {
    level: oneOf(g.level, ['logging', 'level'], LOG_LEVELS, DEFAULT_LOGGING.level, problems),
    requests: boolean(g.requests, ['logging', 'requests'], DEFAULT_LOGGING.requests, problems),
  };

  const drainTimeoutSeconds = integer(
    raw.drainTimeoutSeconds,
    ['drainTimeoutSeconds'],
    { min: 0, max: 3600 },
    DEFAULT_DRAIN_TIMEOUT_SECONDS,
    problems,
  );

  const m = section(raw, 'monitoring', problems);
  const monitoring = m && normalizeMonitoring(m, baseDir, problems);

  if (problems.length > 0) return { diagnostics: problems };
  return {
    config: {
      name,
      versions,
      batching,
      limits,
      logging,
      drainTimeoutSeconds,
      ...(monitoring && { monitoring }),
    },
    diagnostics: [],
  };
}

function normalizeMonitoring(
  m: Record<string, unknown>,
  baseDir: string,
  problems: Problems,
): MonitoringConfig | undefined {
  unknownKeys(
    m,
    [
      'root',
      'endpoint',
      'sampleRate',
      'windowSeconds',
      'retentionSeconds',
      'instance',
      'bufferRecords',
      'flushRecords',
      'flushSeconds',
    ],
    ['monitoring'],
    problems,
  );
  let root = '';
  if (typeof m.root !== 'string' || m.root.trim() === '') {
    problems.push(
      error('monitoring-root', 'required: where logs and window summaries go (a folder or gs:// prefix)', {
        path: ['monitoring', 'root'],
      }),
    );
  } else root = resolveUri(m.root, baseDir);
  let endpoint = '';
  if (typeof m.endpoint !== 'string' || !MODEL_NAME.test(m.endpoint)) {
    problems.push(
      error('monitoring-endpoint', `expected the endpoint's name, got ${JSON.stringify(m.endpoint)}`, {
        path: ['monitoring', 'endpoint'],
      }),
    );
  } else endpoint = m.endpoint;
  let sampleRate: number = DEFAULT_MONITORING.sampleRate;
  if (m.sampleRate !== undefined) {
    if (typeof m.sampleRate !== 'number' || !(m.sampleRate >= 0 && m.sampleRate <= 1)) {
      problems.push(
        error('range', `expected a number from 0 to 1, got ${JSON.stringify(m.sampleRate)}`, {
          path: ['monitoring', 'sampleRate'],
        }),
      );
    } else sampleRate = m.sampleRate;
  }
  let instance: string | undefined;
  if (m.instance !== undefined) {
    if (typeof m.instance !== 'string' || !INSTANCE.test(m.instance)) {
      problems.push(
        error(
          'monitoring-instance',
          `expected lower-case letters, digits and "-" (at most 63), got ${JSON.stringify(m.instance)}`,
          { path: ['monitoring', 'instance'] },
        ),
      );
    } else instance = m.instance;
  }
  const int = (key: keyof typeof DEFAULT_MONITORING, min: number, max: number): number =>
    integer(m[key], ['monitoring', key], { min, max }, DEFAULT_MONITORING[key], problems);
  const windowSeconds = int('windowSeconds', 10, 31 * 24 * 3600);
  const retentionSeconds = int('retentionSeconds', 60, 10 * 366 * 24 * 3600);
  const bufferRecords = int('bufferRecords', 1, 1_000_000);
  const flushRecords = int('flushRecords', 1, 1_000_000);
  // Summaries are written on the first flush after a window closes: short windows flush sooner.
  const flushSeconds =
    m.flushSeconds === undefined
      ? Math.min(DEFAULT_MONITORING.flushSeconds, Math.max(1, Math.floor(windowSeconds / 5)))
      : int('flushSeconds', 1, 3600);
  return {
    root,
    endpoint,
    sampleRate,
    windowSeconds,
    retentionSeconds,
    ...(instance !== undefined && { instance }),
    bufferRecords,
    flushRecords,
    flushSeconds,
  };
}

function normalizeVersions(value: unknown, baseDir: string, problems: Problems): VersionConfig[] {
  if (!Array.isArray(value) || value.length === 0) {
    problems.push(
      error(
        'versions',
        value === undefined
          ? 'required: the versions to load, e.g. [{"version": 1, "uri": "path/to/artifact"}]'
          : `expected a non-empty array of versions, got ${Array.isArray(value) ? 'an empty array' : typeName(value)}`,
        { path: ['versions'] },
      ),
    );
    return [];
  }
  const out: VersionConfig[] = [];
  const seen = new Set<number>();
  let percents = 0;
  value.forEach((entry: unknown, i) => {
    const path = ['versions', i];
    if (!isRecord(entry)) {
      problems.push(
        error('type', `expected {"version", "uri", "percent"}, got ${typeName(entry)}`, { path }),
      );
      return;
    }
    unknownKeys(entry, ['version', 'uri', 'upstream', 'percent'], path, problems);
    const version = integer(
      entry.version,
      [...path, 'version'],
      { min: 1, max: 2 ** 31 - 1 },
      i + 1,
      problems,
    );
    if (seen.has(version)) {
      problems.push(
        error('duplicate-version', `version ${version} is listed twice`, { path: [...path, 'version'] }),
      );
    }
    seen.add(version);
    let uri = '';
    const upstream =
      entry.upstream === undefined
        ? undefined
        : readUpstream(entry.upstream, [...path, 'upstream'], problems);
    if (upstream !== undefined || entry.upstream !== undefined) {
      // Beside an upstream, `uri` only records what that server serves; nothing is loaded from it.
      if (typeof entry.uri === 'string') uri = entry.uri;
    } else if (typeof entry.uri !== 'string' || entry.uri.trim() === '') {
      problems.push(
        error('uri', 'required: the artifact directory (a path, file:// or gs:// URI)', {
          path: [...path, 'uri'],
        }),
      );
    } else uri = resolveUri(entry.uri, baseDir);
    let percent = -1;
    if (entry.percent !== undefined) {
      if (typeof entry.percent !== 'number' || !(entry.percent >= 0 && entry.percent <= 100)) {
        problems.push(
          error('range', `expected a number from 0 to 100, got ${JSON.stringify(entry.percent)}`, {
            path: [...path, 'percent'],
          }),
        );
      } else {
        percent = entry.percent;
        percents++;
      }
    }
    out.push({ version, uri, percent, ...(upstream && { upstream }) });
  });
  if (problems.length > 0) return out;

  if (percents === 0) {
    // TensorFlow Serving's default policy: the latest version takes the traffic; the others are
    // reachable through their pinned routes.
    const latest = Math.max(...out.map((v) => v.version));
    for (const v of out) v.percent = v.version === latest ? 100 : 0;
  } else if (percents < out.length) {
    const index = out.findIndex((v) => v.percent < 0);
    problems.push(
      error('percent', 'set percent on every version or on none', {
        path: ['versions', index, 'percent'],
      }),
    );
  } else {
    const total = out.reduce((sum, v) => sum + v.percent, 0);
    if (Math.abs(total - 100) > 1e-9) {
      problems.push(
        error('percent', `traffic percents must sum to 100, they sum to ${total}`, { path: ['versions'] }),
      );
    }
  }
  return out;
}

const URL_PATH = /^\/[\x21-\x7e]*$/;

/** `{url, healthPath, predictPath}`: an http(s) origin and two absolute paths. */
function readUpstream(value: unknown, path: FieldPath, problems: Problems): UpstreamConfig | undefined {
  if (!isRecord(value)) {
    problems.push(
      error('type', `expected {"url", "healthPath", "predictPath"}, got ${typeName(value)}`, { path }),
    );
    return undefined;
  }
  unknownKeys(value, ['url', 'healthPath', 'predictPath'], path, problems);
  const before = problems.length;
  let url = '';
  try {
    const parsed = typeof value.url === 'string' ? new URL(value.url) : undefined;
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.username || parsed.password)
      throw new Error();
    if (parsed.pathname !== '/' || parsed.search || parsed.hash) throw new Error();
    url = parsed.origin;
  } catch {
    problems.push(
      error(
        'upstream-url',
        `expected an http:// origin such as "http://127.0.0.1:9000", got ${JSON.stringify(value.url)}`,
        {
          path: [...path, 'url'],
        },
      ),
    );
  }
  const paths = { healthPath: '', predictPath: '' };
  for (const key of ['healthPath', 'predictPath'] as const) {
    const p = value[key];
    if (typeof p === 'string' && URL_PATH.test(p)) paths[key] = p;
    else {
      problems.push(
        error('upstream-path', `expected a path starting with "/", got ${JSON.stringify(p)}`, {
          path: [...path, key],
        }),
      );
    }
  }
  return problems.length === before ? { url, ...paths } : undefined;
}

/**
 * `overrides` on top of `raw`: top-level fields replace, the sections (batching, limits, logging)
 * merge field by field. Command-line flags override a config file this way.
 */
export function mergeRawConfig(raw: unknown, overrides: RawServingConfig): unknown {
  if (!isRecord(raw)) return raw;
  const out: Record<string, unknown> = { ...raw };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const current = out[key];
    out[key] =
      isRecord(value) && isRecord(current) && !Array.isArray(value)
        ? { ...current, ...definedFields(value) }
        : value;
  }
  return out;
}

const definedFields = (value: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));

/** Reads and normalises a JSON config file; relative URIs resolve next to it. */
export async function readServingConfig(
  file: string,
  overrides: RawServingConfig = {},
): Promise<{ config?: ServingConfig; diagnostics: Diagnostic[] }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return {
      diagnostics: [error('config-read', `cannot read ${file}: ${errorMessage(e)}`, { file })],
    };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return {
      diagnostics: [error('config-json', `${file} is not JSON: ${errorMessage(e)}`, { file })],
    };
  }
  const result = normalizeServingConfig(mergeRawConfig(raw, overrides), dirname(resolve(file)));
  return { ...result, diagnostics: result.diagnostics.map((d) => ({ ...d, file })) };
}

/**
 * The version number of a lone artifact served with `--model DIR`: `.../versions/3`, `.../v3` or
 * `.../3` say 3; anything else is version 1 (the registry, not the artifact, numbers versions).
 */
export function versionFromUri(uri: string): number {
  const last = basename(uri.replace(/\/+$/, ''));
  const match = /^v?(\d{1,9})$/.exec(last);
  const n = match ? Number(match[1]) : 0;
  return n >= 1 ? n : 1;
}

/**
 * The HTTP server's connection bounds. A request must arrive within the shorter of
 * receiveTimeoutSeconds and the endpoint's requestTimeoutSeconds: it cannot take longer to send
 * than the whole request may take.
 */
export function connectionBounds(limits: LimitsConfig): ConnectionBounds {
  return {
    headersTimeoutMs: limits.headersTimeoutSeconds * 1000,
    requestTimeoutMs: Math.min(limits.receiveTimeoutSeconds, limits.requestTimeoutSeconds) * 1000,
    keepAliveTimeoutMs: limits.keepAliveTimeoutSeconds * 1000,
    maxConnections: limits.maxConnections,
  };
}
