/** A crafted reference (statistics.json) shared by the monitoring tests. */
import type { ReferenceStatistics } from '../../monitoring/statistics.js';

/** Horsepower [..100) [100..150) [150..), Origin USA/Japan, Cylinders 4/8, the prediction [..20) [20..30) [30..). */
export const reference: ReferenceStatistics = {
  formatVersion: 1,
  rows: 100,
  features: {
    Horsepower: {
      type: 'numeric',
      count: 90,
      missing: 10,
      edges: [100, 150],
      counts: [30, 30, 30],
      min: 46,
      max: 230,
      mean: 104,
      std: 38,
    },
    Origin: { type: 'categorical', count: 100, missing: 0, categories: { USA: 60, Japan: 25 }, other: 15 },
    Cylinders: { type: 'categorical', count: 100, missing: 0, categories: { '4': 50, '8': 50 }, other: 0 },
  },
  prediction: {
    type: 'numeric',
    count: 20,
    missing: 0,
    edges: [20, 30],
    counts: [7, 7, 6],
    min: 10,
    max: 40,
    mean: 23,
    std: 7,
  },
};
