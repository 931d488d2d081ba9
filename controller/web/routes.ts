/**
 * `/api/v1/...` request targets parsed into `ApiRoute`s (api.ts). Every query value is checked
 * here, once: a bad one is a 400 naming the `field` with a `hint`, so the views only ever see
 * valid routes. Names in paths are manifest names (DNS labels), checked before anything looks
 * them up.
 */
import { decodeCursor } from './cursor.js';
import { MAX_NAME_LENGTH } from '../../resources/metadata.js';
import {
  API_PREFIX,
  STREAM_PATH,
  type ApiError,
  type ApiHealth,
  type ApiKind,
  type ApiRoute,
  type ApiSync,
} from './api.js';

export type ParsedRoute = { route: ApiRoute } | { status: 400 | 404 | 405; error: ApiError };

const KINDS: readonly ApiKind[] = ['TrainingRun', 'RegisteredModel', 'DeployedEndpoint', 'Schedule'];
const HEALTHS: readonly ApiHealth[] = ['Healthy', 'Progressing', 'Degraded', 'Missing', 'Suspended'];
const SYNCS: readonly ApiSync[] = ['Synced', 'OutOfSync', 'Unknown'];
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const MAX_QUERY_TEXT = 200;

/** `POST /api/v1/deployedendpoints/:name/predict`: the only route that is not a GET. */
export const PREDICT_PATH = /^\/api\/v1\/deployedendpoints\/([^/]+)\/predict$/;

class BadField extends Error {
  constructor(
    readonly field: string,
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

/** A cursor this API gave, else the 400 of `cursor`. */
function cursorOffset(text: string): number {
  const offset = decodeCursor(text);
  if (offset === undefined) {
    throw new BadField(
      'cursor',
      `cursor "${clip(text)}" is not one this server gave`,
      'pass the nextCursor of the previous page, or leave cursor out for the first page',
    );
  }
  return offset;
}

/** The value, or the 400 of the field that was bad. */
function checked<T>(parse: () => T): { value: T } | { status: 400; error: ApiError } {
  try {
    return { value: parse() };
  } catch (e) {
    if (e instanceof BadField)
      return { status: 400, error: { error: e.message, field: e.field, hint: e.hint } };
    throw e;
  }
}

const clip = (text: string): string => (text.length > 40 ? `${text.slice(0, 40)}...` : text);

function oneOf<T extends string>(query: URLSearchParams, field: string, values: readonly T[]): T | undefined {
  const text = query.get(field);
  if (text === null || text === '') return undefined;
  const found = values.find((v) => v === text);
  if (found === undefined) {
    throw new BadField(
      field,
      `${field} "${clip(text)}" is not known`,
      `${field} is one of ${values.join(', ')}`,
    );
  }
  return found;
}

function integer(query: URLSearchParams, field: string, min: number, max: number, fallback: number): number;
function integer(query: URLSearchParams, field: string, min: number, max: number): number | undefined;
function integer(query: URLSearchParams, field: string, min: number, max: number, fallback?: number) {
  const text = query.get(field);
  if (text === null || text === '') return fallback;
  const value = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max)) {
    throw new BadField(
      field,
      `${field} "${clip(text)}" is not an integer from ${min} to ${max}`,
      `e.g. ${field}=${fallback ?? min}`,
    );
  }
  return value;
}

function text(query: URLSearchParams, field: string): string | undefined {
  const value = query.get(field);
  if (value === null || value === '') return undefined;
  if (value.length > MAX_QUERY_TEXT) {
    throw new BadField(field, `${field} is longer than ${MAX_QUERY_TEXT} characters`, `shorten ${field}`);
  }
  return value;
}

function name(encoded: string, field = 'name'): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(encoded);
  } catch {
    throw new BadField(
      field,
      `the ${field} in the path is not valid percent-encoding`,
      'use the resource name as it is in the manifest',
    );
  }
  if (decoded.length > MAX_NAME_LENGTH || !NAME.test(decoded)) {
    throw new BadField(
      field,
      `"${clip(decoded)}" is not a resource name`,
      `names are lowercase letters, digits and '-', at most ${MAX_NAME_LENGTH} characters`,
    );
  }
  return decoded;
}

function label(query: URLSearchParams): { key: string; value?: string } | undefined {
  const value = text(query, 'label');
  if (value === undefined) return undefined;
  const eq = value.indexOf('=');
  const key = eq < 0 ? value : value.slice(0, eq);
  if (key === '') throw new BadField('label', 'label has no key', 'label=key or label=key=value');
  return eq < 0 ? { key } : { key, value: value.slice(eq + 1) };
}

function from(query: URLSearchParams): Date | undefined {
  const value = text(query, 'from');
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(date.getTime())) {
    throw new BadField(
      'from',
      `from "${clip(value)}" is not an ISO 8601 time`,
      'e.g. from=2026-01-05T00:00:00Z',
    );
  }
  return date;
}

const offset = (query: URLSearchParams): number => {
  const cursor = query.get('cursor');
  return cursor === null || cursor === '' ? 0 : cursorOffset(cursor);
};

/** The document route of a GET; streams and the predict proxy are told apart by the caller. */
export function parseApiRoute(method: string, pathname: string, query: URLSearchParams): ParsedRoute {
  if (method !== 'GET' && method !== 'HEAD') {
    return { status: 405, error: { error: `${method} is not supported on ${pathname}`, hint: 'use GET' } };
  }
  if (!pathname.startsWith(`${API_PREFIX}/`)) return notFound(pathname);
  const parts = pathname.slice(API_PREFIX.length + 1).split('/');
  const route = checked(() => routeOf(parts, query));
  if ('error' in route) return route;
  return route.value ? { route: route.value } : notFound(pathname);
}

function routeOf(parts: string[], query: URLSearchParams): ApiRoute | undefined {
  const [collection, resource, ...rest] = parts;
  if (rest.length > 0) return undefined;
  if (resource === undefined) {
    switch (collection) {
      case 'overview':
        return {
          view: 'overview',
          filter: {
            ...defined('kind', oneOf(query, 'kind', KINDS)),
            ...defined('health', oneOf(query, 'health', HEALTHS)),
            ...defined('sync', oneOf(query, 'sync', SYNCS)),
            ...defined('label', label(query)),
            ...defined('q', text(query, 'q')),
          },
          limit: integer(query, 'limit', 1, 1000, 500),
          offset: offset(query),
        };
      case 'plan':
        return { view: 'plan' };
      case 'controller':
        return { view: 'controller' };
      case 'schedules': {
        const scheduleName = text(query, 'name');
        return {
          view: 'schedules',
          ...defined('name', scheduleName === undefined ? undefined : name(scheduleName)),
          ...defined('from', from(query)),
          days: integer(query, 'days', 1, 31, 7),
          limit: integer(query, 'limit', 1, 1000, 100),
          offset: offset(query),
        };
      }
      default:
        return undefined;
    }
  }
  switch (collection) {
    case 'trainingruns':
      return {
        view: 'trainingrun',
        name: name(resource),
        ...defined('run', integer(query, 'run', 1, 999_999_999)),
        limit: integer(query, 'limit', 1, 1000, 20),
      };
    case 'registeredmodels':
      return { view: 'registeredmodel', name: name(resource), limit: integer(query, 'limit', 1, 1000, 50) };
    case 'deployedendpoints':
      return { view: 'deployedendpoint', name: name(resource) };
    default:
      return undefined;
  }
}

/** `limit` and `cursor` of a paged listing (`/api/status`), or the 400 naming the bad one. */
export function parsePage(
  query: URLSearchParams,
  fallbackLimit: number,
): { limit: number; offset: number } | { status: 400; error: ApiError } {
  const page = checked(() => ({
    limit: integer(query, 'limit', 1, 1000, fallbackLimit),
    offset: offset(query),
  }));
  return 'error' in page ? page : page.value;
}

/** The name of a predict request's endpoint, or the 400 for a name that is none. */
export function predictTarget(pathname: string): { name: string } | { error: ApiError } | undefined {
  const match = PREDICT_PATH.exec(pathname);
  if (!match) return undefined;
  const target = checked(() => name(match[1]));
  return 'error' in target ? target : { name: target.value };
}

/** `?path=` of a stream: an API GET route (not the stream itself), with its query. */
export function parseStreamPath(query: URLSearchParams): ParsedRoute & { key?: string } {
  const path = query.get('path');
  const bad = (message: string): ParsedRoute => ({
    status: 400,
    error: {
      error: message,
      field: 'path',
      hint: `e.g. path=${encodeURIComponent(`${API_PREFIX}/overview`)}`,
    },
  });
  if (path === null || path === '') return bad('path is missing: the API path of the document to follow');
  let url: URL;
  try {
    url = new URL(path, 'http://dashboard');
  } catch {
    return bad(`path "${clip(path)}" is not a URL path`);
  }
  if (!path.startsWith('/') || url.origin !== 'http://dashboard' || url.pathname === STREAM_PATH) {
    return bad(`path "${clip(path)}" is not an API document path`);
  }
  const parsed = parseApiRoute('GET', url.pathname, url.searchParams);
  if ('route' in parsed) return { ...parsed, key: JSON.stringify(parsed.route) };
  if (parsed.status === 404) return bad(`path "${clip(path)}" is not an API document path`);
  return parsed;
}

function notFound(pathname: string): ParsedRoute {
  return {
    status: 404,
    error: {
      error: `no API route ${clip(pathname)}`,
      hint: `routes: ${API_PREFIX}/overview, /plan, /trainingruns/NAME, /registeredmodels/NAME, /deployedendpoints/NAME, /schedules, /controller, /stream?path=...`,
    },
  };
}

/** `{[key]: value}` when the value is defined, for optional route fields under exactOptionalPropertyTypes. */
function defined<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
