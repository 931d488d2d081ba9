/** The sampler the manifest asks for (contract: study-types.ts `Sampler`). */
import type { Sampler, Tuning } from '../study-types.js';
import { sampleParams } from '../search-space.js';

/** Contract placeholder until the samplers land: seeded random search for every type. */
export function createSampler(tuning: Tuning, seed: number): Sampler {
  return { ask: (trial) => sampleParams(tuning.space, seed, trial) };
}
