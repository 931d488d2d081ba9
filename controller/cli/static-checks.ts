/**
 * The provider's checks that need no API call, for `mlform validate`: on gcp the training region's
 * accelerators and machine families, GPU and machine pairs, Cloud Run and Cloud Scheduler name and
 * description rules (providers/gcp/validate.ts). They are the very checks `plan` runs before it
 * asks Google anything, so validate and plan report the same diagnostics at the same fields;
 * what needs the cloud (a referenced secret exists, the actual state) is left to `plan`. The local
 * provider has no static rules beyond the manifests'. Nothing is contacted, and the gcp SDK clients
 * are not loaded.
 */
import type { DesiredState } from '../../manifests/load.js';
import { readLoadedFile } from '../../manifests/loaded-files.js';
import type { Diagnostic } from '../../resources/diagnostic.js';
import { pinpointDiagnostics } from '../engine/diagnostic-positions.js';
import { validateResources } from './project.js';

export async function staticProviderChecks(
  desired: DesiredState,
  env: Record<string, string | undefined>,
): Promise<Diagnostic[]> {
  const config = desired.project?.config;
  if (config?.provider !== 'gcp' || !config.gcp) return [];
  const [{ validateGcp }, { settingsFrom }] = await Promise.all([
    import('../../providers/gcp/validate.js'),
    import('../../providers/gcp/context.js'),
  ]);
  const found = validateGcp(settingsFrom(config.gcp), validateResources(desired), env, config.stack);
  return pinpointDiagnostics(found, readLoadedFile);
}
