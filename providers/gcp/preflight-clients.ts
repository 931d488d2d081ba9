/**
 * The two clients only `mlform check` uses (Resource Manager for testIamPermissions, Artifact
 * Registry for the images), imported on use so that no other command loads their modules and
 * protos. Same transport and emulator handling as the provider's clients (clients.ts).
 */
import type { ArtifactRegistryClient } from '@google-cloud/artifact-registry/build/src/v1/artifact_registry_client.js';
import type { ProjectsClient } from '@google-cloud/resource-manager/build/src/v3/projects_client.js';
import { gaxOptions, type ClientSettings } from './clients.js';
import type { Gcp } from './context.js';

export interface Closable {
  close(): Promise<void>;
}

export const clientSettingsOf = (gcp: Gcp, endpoint: string | undefined): ClientSettings => ({
  project: gcp.settings.project,
  region: gcp.settings.region,
  trainingRegion: gcp.settings.trainingRegion,
  ...(endpoint !== undefined && { endpoint }),
});

/** `opened` collects the client so the caller closes it. */
export async function createProjectsClient(
  settings: ClientSettings,
  opened: Closable[],
): Promise<ProjectsClient> {
  const { ProjectsClient: Client } =
    await import('@google-cloud/resource-manager/build/src/v3/projects_client.js');
  const client = new Client({ ...gaxOptions(settings) });
  opened.push(client);
  return client;
}

export async function createRegistryClient(
  settings: ClientSettings,
  opened: Closable[],
): Promise<ArtifactRegistryClient> {
  const { ArtifactRegistryClient: Client } =
    await import('@google-cloud/artifact-registry/build/src/v1/artifact_registry_client.js');
  const client = new Client({ ...gaxOptions(settings) });
  opened.push(client);
  return client;
}
