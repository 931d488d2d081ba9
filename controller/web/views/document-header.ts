/** What every document starts with (api.ts `Header`). */
import { DASHBOARD_API_VERSION } from '../api.js';
import type { StackSnapshot } from '../snapshot.js';

export const documentHeader = (snapshot: StackSnapshot) => ({
  formatVersion: DASHBOARD_API_VERSION as typeof DASHBOARD_API_VERSION,
  observedAt: snapshot.observedAt,
  stack: snapshot.stack,
  provider: snapshot.provider,
  mode: snapshot.mode,
});
