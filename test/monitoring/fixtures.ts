/** Window summaries as the model server writes them (the contract schema), for drift tests. */
import type { WindowSummary } from '../../monitoring/window-summary.js';

export const HOUR = 3_600_000;

/** A summary of `mpg-api` v1 for the hour starting at `startMs`; `over` replaces any field. */
export const windowSummary = (startMs: number, over: Partial<WindowSummary> = {}): WindowSummary => ({
  formatVersion: 1,
  endpoint: 'mpg-api',
  model: 'mpg',
  version: 1,
  windowStart: new Date(startMs).toISOString(),
  windowEnd: new Date(startMs + HOUR).toISOString(),
  instance: 'i-1',
  count: 0,
  features: {},
  ...over,
});
