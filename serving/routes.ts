/**
 * The route table: TensorFlow Serving's REST API, the Open Inference Protocol (KServe v2) routes
 * (health, model metadata, inference) and /metrics. A hand-written matcher over path segments: eight routes do not need a router, and
 * TF Serving's `{m}:predict` (a verb glued to a path segment) fits no router's syntax anyway.
 */
import { HttpError } from './http-error.js';
import type { RouteName } from './serving-metrics.js';

export type Route =
  | { kind: 'predict'; model: string; version?: string }
  /** Truth for earlier predictions (monitoring, issue 15). */
  | { kind: 'feedback'; model: string }
  | { kind: 'status'; model: string; version?: string }
  | { kind: 'metadata'; model: string; version?: string }
  | { kind: 'model-ready'; model: string; version?: string }
  /** Open Inference Protocol (KServe v2): inference and model metadata (oip-infer.ts). */
  | { kind: 'infer'; model: string; version?: string }
  | { kind: 'model-metadata'; model: string; version?: string }
  | { kind: 'live' }
  | { kind: 'ready' }
  | { kind: 'metrics' };

/** For metrics labels and logs. */
export function routeName(route: Route | undefined): RouteName {
  switch (route?.kind) {
    case 'predict':
    case 'infer':
      return 'predict';
    case 'feedback':
      return 'feedback';
    case 'status':
      return 'status';
    case 'metadata':
    case 'model-metadata':
      return 'metadata';
    case 'live':
    case 'ready':
    case 'model-ready':
      return 'health';
    case 'metrics':
      return 'metrics';
    default:
      return 'other';
  }
}

const VERBS = ['predict', 'classify', 'regress', 'feedback'];

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `malformed percent-encoding in the path segment "${segment}"`);
  }
}

function methodNotAllowed(method: string, allowed: 'GET' | 'POST', path: string): HttpError {
  return new HttpError(405, `${method} is not allowed on ${path}; use ${allowed}`, undefined, {
    allow: allowed === 'GET' ? 'GET, HEAD' : 'POST',
  });
}

/** Matches a request; throws HttpError 404 / 405 / 400 for paths and methods it does not serve. */
export function matchRoute(method: string, rawPath: string): Route {
  const path = rawPath.length > 1 && rawPath.endsWith('/') ? rawPath.slice(0, -1) : rawPath;
  const get = (route: Route): Route => {
    if (method === 'GET' || method === 'HEAD') return route;
    throw methodNotAllowed(method, 'GET', path);
  };

  switch (path) {
    case '/v2/health/live':
      return get({ kind: 'live' });
    case '/v2/health/ready':
      return get({ kind: 'ready' });
    case '/metrics':
      return get({ kind: 'metrics' });
  }

  const parts = path.split('/').slice(1);
  if (parts[0] === 'v1' && parts[1] === 'models' && parts.length >= 3) {
    // /v1/models/{m}[/versions/{v}][/metadata | :predict]
    let last = parts[parts.length - 1];
    let verb: string | undefined;
    const colon = last.lastIndexOf(':');
    if (colon > 0) {
      verb = last.slice(colon + 1);
      last = last.slice(0, colon);
    }
    const segments = [...parts.slice(2, -1), last];
    let metadata = false;
    if (verb === undefined && segments.length >= 2 && segments[segments.length - 1] === 'metadata') {
      metadata = true;
      segments.pop();
    }
    if (segments.length !== 1 && !(segments.length === 3 && segments[1] === 'versions')) {
      throw new HttpError(404, `no route for ${path}`);
    }
    const model = decode(segments[0]);
    const version = segments.length === 3 ? decode(segments[2]) : undefined;
    const withVersion = version === undefined ? {} : { version };
    if (verb !== undefined) {
      if (metadata || !VERBS.includes(verb)) throw new HttpError(404, `no route for ${path}`);
      if (verb === 'feedback') {
        if (version !== undefined) {
          throw new HttpError(
            404,
            `feedback names request ids, not versions: POST /v1/models/${model}:feedback`,
          );
        }
        if (method !== 'POST') throw methodNotAllowed(method, 'POST', path);
        return { kind: 'feedback', model };
      }
      if (verb !== 'predict') {
        throw new HttpError(404, `:${verb} is not served; this server answers :predict for every model`);
      }
      if (method !== 'POST') throw methodNotAllowed(method, 'POST', path);
      return { kind: 'predict', model, ...withVersion };
    }
    return get({ kind: metadata ? 'metadata' : 'status', model, ...withVersion });
  }

  if (parts[0] === 'v2' && parts[1] === 'models' && parts.length >= 3) {
    // /v2/models/{m}[/versions/{v}][/ready | /infer]
    const versioned = parts.length >= 5 && parts[3] === 'versions';
    const base = versioned ? 5 : 3;
    const tail = parts.slice(base);
    if (tail.length <= 1 && (!versioned || parts[4] !== undefined)) {
      const model = decode(parts[2]);
      const target = versioned ? { model, version: decode(parts[4]) } : { model };
      if (tail.length === 0) return get({ kind: 'model-metadata', ...target });
      if (tail[0] === 'ready') return get({ kind: 'model-ready', ...target });
      if (tail[0] === 'infer') {
        if (method !== 'POST') throw methodNotAllowed(method, 'POST', path);
        return { kind: 'infer', ...target };
      }
    }
  }
  throw new HttpError(404, `no route for ${path}`);
}
