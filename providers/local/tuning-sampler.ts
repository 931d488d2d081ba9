/**
 * Plan-time refusal of a tuning sampler the local engine does not run: `bayesian` is Vertex AI
 * Vizier's (resources/tuning-space-checks.ts `checkLocalSampler`), the gcp provider maps it.
 */
import type { Diagnostic } from '../../resources/diagnostic.js';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { checkLocalSampler } from '../../resources/tuning-space-checks.js';
import type { ValidateResource } from '../provider.js';

export function validateLocalSamplers(resources: readonly ValidateResource[]): Diagnostic[] {
  return resources.flatMap((resource) => {
    const spec = (resource.manifest as { spec?: TrainingRunSpec }).spec;
    if (resource.kind !== 'TrainingRun' || !spec) return [];
    const { file, line, col } = resource.source;
    return checkLocalSampler(spec).map((d) => ({ ...d, address: resource.address, file, line, col }));
  });
}
