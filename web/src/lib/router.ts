/**
 * History-API routing for the pages in UI_PAGES: links stay real `<a href>` (middle-click, copy
 * link), same-origin left clicks are intercepted for client navigation, the query string is page
 * state (filters, `?run=N`, `?name=`) and back/forward re-render.
 */
import { createStore, useStore } from './store.js';

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
    const otherPage = url.pathname !== location.pathname;
    navigate(url.href);
    // Like a page load for keyboard and screen-reader users: start reading at the new content.
    if (otherPage) document.getElementById('main')?.focus({ preventScroll: true });
  };
  window.addEventListener('popstate', onPop);
  document.addEventListener('click', onClick);
  return () => {
    window.removeEventListener('popstate', onPop);
    document.removeEventListener('click', onClick);
  };
}
