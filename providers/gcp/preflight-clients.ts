/**
 * The two clients only `mlform check` uses (Resource Manager for testIamPermissions, Artifact
 * Registry for the images), imported on use so that no other command loads their modules and
 * protos. Same transport and emulator handling as the provider's clients (clients.ts).
 */
import type { ArtifactRegistryClient } from '@google-cloud/artifact-registry/build/src/v1/artifact_registry_client.js';
import type { ProjectsClient } from '@google-cloud/resource-manager/build/src/v3/projects_client.js';
import type { ClientOptions } from 'google-gax';
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

/** Imports a client class on use and builds it on the provider's transport; `opened` collects it. */
async function open<C extends Closable>(
  load: () => Promise<new (options: ClientOptions) => C>,
  settings: ClientSettings,
  opened: Closable[],
): Promise<C> {
  const Client = await load();
  const client = new Client({ ...gaxOptions(settings) });
  opened.push(client);
  return client;
}

export const createProjectsClient = (settings: ClientSettings, opened: Closable[]): Promise<ProjectsClient> =>
  open(
    async () =>
      (await import('@google-cloud/resource-manager/build/src/v3/projects_client.js')).ProjectsClient,
    settings,
    opened,
  );

export const createRegistryClient = (
  settings: ClientSettings,
  opened: Closable[],
): Promise<ArtifactRegistryClient> =>
  open(
    async () =>
      (await import('@google-cloud/artifact-registry/build/src/v1/artifact_registry_client.js'))
        .ArtifactRegistryClient,
    settings,
    opened,
  );
