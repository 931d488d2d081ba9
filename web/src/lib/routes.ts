/**
 * The app's URLs, pure: which page a path is, the page of a resource, and the API path behind a
 * page (what its stream follows). Names come from manifests, so they are always encoded.
 */
import { API_PREFIX, STREAM_PATH } from './contract.js';

export type PageRoute =
  | { page: 'overview' }
  | { page: 'plan' }
  | { page: 'trainingrun'; name: string }
  | { page: 'registeredmodel'; name: string }
  | { page: 'deployedendpoint'; name: string }
  | { page: 'schedules' }
  | { page: 'controller' }
  | { page: 'notfound' };

const NAMED: Record<string, 'trainingrun' | 'registeredmodel' | 'deployedendpoint'> = {
  trainingruns: 'trainingrun',
  registeredmodels: 'registeredmodel',
  deployedendpoints: 'deployedendpoint',
};

export function matchPage(pathname: string): PageRoute {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  if (path === '/') return { page: 'overview' };
  if (path === '/plan') return { page: 'plan' };
  if (path === '/schedules') return { page: 'schedules' };
  if (path === '/controller') return { page: 'controller' };
  const named = /^\/([a-z]+)\/([^/]+)$/.exec(path);
  const page = named ? NAMED[named[1]!] : undefined;
  if (named && page) {
    try {
      return { page, name: decodeURIComponent(named[2]!) };
    } catch {
      return { page: 'notfound' };
    }
  }
  return { page: 'notfound' };
}

/** The page URL of a resource (names are encoded: they come from manifests). */
export function pageHref(kind: string, name: string): string {
  const enc = encodeURIComponent(name);
  switch (kind) {
    case 'TrainingRun':
      return `/trainingruns/${enc}`;
    case 'RegisteredModel':
      return `/registeredmodels/${enc}`;
    case 'DeployedEndpoint':
      return `/deployedendpoints/${enc}`;
    default:
      return `/schedules?name=${enc}`;
  }
}

/** `Kind/name` -> its page; a run's address (`TrainingRun/name#3`) -> that run. */
export function addressHref(address: string): string {
  const slash = address.indexOf('/');
  if (slash < 0) return '/';
  const kind = address.slice(0, slash);
  const name = address.slice(slash + 1);
  const run = kind === 'TrainingRun' ? /^(.+)#(\d+)$/.exec(name) : null;
  return run ? `${pageHref(kind, run[1]!)}?run=${run[2]}` : pageHref(kind, name);
}

/** Overview query fields passed through to the API (the rest of the page URL is ignored). */
const PASSED: Record<PageRoute['page'], readonly string[]> = {
  overview: ['kind', 'health', 'sync', 'label', 'q', 'cursor'],
  plan: [],
  trainingrun: ['run'],
  registeredmodel: [],
  deployedendpoint: [],
  schedules: ['name', 'from', 'days', 'cursor'],
  controller: [],
  notfound: [],
};

/** The API path behind a page (what its stream follows); null for the not-found page. */
export function apiPathOf(route: PageRoute, search: URLSearchParams): string | null {
  const query = new URLSearchParams();
  for (const key of PASSED[route.page]) {
    const value = search.get(key);
    if (value) query.set(key, value);
  }
  // The overview shows a whole stack of up to 1,000 resources at once (the API's maximum page).
  if (route.page === 'overview') query.set('limit', '1000');
  const qs = query.toString() ? `?${query.toString()}` : '';
  switch (route.page) {
    case 'overview':
      return `${API_PREFIX}/overview${qs}`;
    case 'plan':
      return `${API_PREFIX}/plan`;
    case 'trainingrun':
      return `${API_PREFIX}/trainingruns/${encodeURIComponent(route.name)}${qs}`;
    case 'registeredmodel':
      return `${API_PREFIX}/registeredmodels/${encodeURIComponent(route.name)}`;
    case 'deployedendpoint':
      return `${API_PREFIX}/deployedendpoints/${encodeURIComponent(route.name)}`;
    case 'schedules':
      return `${API_PREFIX}/schedules${qs}`;
    case 'controller':
      return `${API_PREFIX}/controller`;
    case 'notfound':
      return null;
  }
}

export function streamUrl(apiPath: string): string {
  return `${STREAM_PATH}?path=${encodeURIComponent(apiPath)}`;
}
