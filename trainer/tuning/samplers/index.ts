/**
 * The sampler the manifest asks for (contract: study-types.ts `Sampler`): `tuning.sampler.type`,
 * random when absent (`algorithm` is a shorthand for the pruner only).
 */
import type { Sampler, Tuning } from '../study-types.js';
import { sampleParams } from '../search-space.js';
import { gridSampler } from './grid.js';
import { tpeSampler } from './tpe.js';

/** Thrown for a sampler this engine does not run (the plan refuses it first: tuning-space-checks.ts). */
export class SamplerError extends Error {
  override name = 'SamplerError';
}

export function createSampler(tuning: Tuning, seed: number): Sampler {
  const type = tuning.sampler?.type ?? 'random';
  switch (type) {
    case 'random':
      // Per (trial, key) seeded draws: history and running trials change nothing.
      return { ask: (trial) => sampleParams(tuning.space, seed, trial) };
    case 'grid':
      return gridSampler(tuning, seed);
    case 'tpe':
      return tpeSampler(tuning, seed);
    case 'bayesian':
      throw new SamplerError(
        'tuning.sampler "bayesian" is Vertex AI Vizier\'s algorithm and runs on the gcp provider only; use tpe locally',
      );
  }
}
