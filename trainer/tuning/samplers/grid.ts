/**
 * Grid search: every combination of the space's flat parameters (resources/tuning-space.ts
 * `enumerateGrid`: choices, every integer of an int range, `points` values of a float range; a
 * conditional parameter only where it exists), enumerated keys sorted with the last varying
 * fastest, then shuffled once with the run's seed. Trial k takes the k-th combination of the
 * shuffled list, so a study with fewer trials than combinations covers the space evenly instead of
 * varying the last key only. That is Optuna's GridSampler: it shuffles its grid with its seed and
 * takes unvisited combinations in that order. A trial beyond the grid's size wraps around (a
 * re-evaluation, as Optuna does once the grid is exhausted); the engine ends the study at `size`.
 */
import { enumerateGrid, GRID_LIMIT } from '../../../resources/tuning-space.js';
import { mulberry32, seedFor, shuffleInPlace } from '../../data/random.js';
import { assembleParams, flattenSpace } from '../search-space.js';
import type { Sampler, Tuning } from '../study-types.js';

export function gridSampler(tuning: Tuning, seed: number): Sampler {
  const flat = flattenSpace(tuning.space);
  const grid = enumerateGrid(flat);
  if (!grid) {
    // The plan refuses such a space (tuning-space-checks.ts); a spec that skipped the plan stops here.
    throw new Error(
      `tuning.sampler grid: the space has a float range without \`points\`, an int range of more than 100 values, or more than ${GRID_LIMIT} combinations`,
    );
  }
  shuffleInPlace(grid, mulberry32(seedFor(seed, 'tuning/grid')));
  return {
    size: grid.length,
    ask: (trial) => assembleParams(tuning.space, flat, grid[(trial - 1) % grid.length]),
  };
}
