/** Crafted monitoring data shared by the tests: window summaries and a reference. */
import type { WindowSummary } from '../../monitoring/window-summary.js';
import type { NumericStatistics, ReferenceStatistics } from '../../monitoring/statistics.js';

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

/** Numeric statistics with bins at `edges`, the same count in each. */
const numeric = (edges: number[], perBin: number, missing = 0): NumericStatistics => ({
  type: 'numeric',
  count: perBin * (edges.length + 1),
  missing,
  edges,
  counts: new Array<number>(edges.length + 1).fill(perBin),
  min: edges[0] / 2,
  max: edges[edges.length - 1] * 1.5,
  mean: edges[0],
  std: 1,
});

/** Horsepower [..100) [100..150) [150..), Origin USA/Japan, Cylinders 4/8, the prediction [..20) [20..30) [30..). */
export const reference: ReferenceStatistics = {
  formatVersion: 1,
  rows: 100,
  features: {
    Horsepower: numeric([100, 150], 30, 10),
    Origin: { type: 'categorical', count: 100, missing: 0, categories: { USA: 60, Japan: 25 }, other: 15 },
    Cylinders: { type: 'categorical', count: 100, missing: 0, categories: { '4': 50, '8': 50 }, other: 0 },
  },
  prediction: numeric([20, 30], 7),
};
