/**
 * History-API routing for the pages in UI_PAGES: links stay real `<a href>` (middle-click, copy
 * link), same-origin left clicks are intercepted for client navigation, the query string is page
 * state (filters, `?run=N`, `?name=`) and back/forward re-render.
 */
import { API_PREFIX, STREAM_PATH } from './contract.js';
import { createStore, useStore } from './store.js';

export type PageRoute =
  | { page: 'overview' }
  | { page: 'plan' }
  | { page: 'trainingrun'; name: string }
  | { page: 'registeredmodel'; name: string }
  | { page: 'deployedendpoint'; name: string }
  | { page: 'schedules' }
  | { page: 'controller' }
  | { page: 'notfound' };

export interface Place {
  pathname: string;
  search: URLSearchParams;
}

const place = createStore<Place>(current());

function current(): Place {
  return { pathname: location.pathname, search: new URLSearchParams(location.search) };
}

export function useLocation(): Place {
  return useStore(place);
}

/** Goes to a same-origin URL; `replace` for state that should not fill the history (typing a filter). */
export function navigate(href: string, options: { replace?: boolean } = {}): void {
  const url = new URL(href, location.href);
  if (url.href === location.href) return;
  if (options.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  place.set(current());
  if (!options.replace) window.scrollTo(0, 0);
}

/** Installs the click interception and back/forward listener once. */
export function startRouter(): () => void {
  const onPop = () => place.set(current());
  const onClick = (event: MouseEvent) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const anchor = (event.target as Element | null)?.closest?.('a[href]');
    if (!(anchor instanceof HTMLAnchorElement) || anchor.target || anchor.hasAttribute('download')) return;
    const url = new URL(anchor.href);
    if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return;
    event.preventDefault();
    navigate(url.href);
  };
  window.addEventListener('popstate', onPop);
  document.addEventListener('click', onClick);
  return () => {
    window.removeEventListener('popstate', onPop);
    document.removeEventListener('click', onClick);
  };
}

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

/** `Kind/name` -> its page. */
export function addressHref(address: string): string {
  const slash = address.indexOf('/');
  return slash < 0 ? '/' : pageHref(address.slice(0, slash), address.slice(slash + 1));
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
