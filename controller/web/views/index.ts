/**
 * The view builders: one module per view, `createViewBuilder()` dispatching on the route. It may
 * keep memory between calls (the previous scrape of each endpoint, for request rates).
 */
import type { BuildView } from '../snapshot.js';

export function createViewBuilder(): BuildView {
  // Placeholder until the views land (issue 14): every route answers 503.
  return async () => ({ status: 503, error: { error: 'the dashboard views are not built yet' } });
}
