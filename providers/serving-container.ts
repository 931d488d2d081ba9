/**
 * A DeployedEndpoint's own serving container (`spec.container`), as both providers run it: the
 * variables mlform sets (its names and Vertex AI's, so a server written for Vertex custom
 * containers runs unchanged) and the `$(NAME)` placeholders mlform replaces in `args` itself,
 * rather than relying on a platform to expand them.
 */
import { error, type Diagnostic } from '../resources/diagnostic.js';
import type { ServingContainer } from '../resources/deployed-endpoint.js';

/** What one model version's container is told. */
export interface ContainerValues {
  modelUri: string;
  modelName: string;
  version: number;
  port: number;
}

/** Variables mlform sets; a manifest's `env` may not override them. */
export const RESERVED_CONTAINER_ENV = [
  'MODEL_URI',
  'MODEL_NAME',
  'MODEL_VERSION',
  'PORT',
  'AIP_STORAGE_URI',
  'AIP_HTTP_PORT',
  'AIP_HEALTH_ROUTE',
  'AIP_PREDICT_ROUTE',
] as const;

/** `$(MODEL_URI)`, `$(MODEL_NAME)`, `$(MODEL_VERSION)`, `$(PORT)` replaced; anything else kept. */
export function containerArgs(container: ServingContainer, values: ContainerValues): string[] {
  const table: Record<string, string> = {
    MODEL_URI: values.modelUri,
    MODEL_NAME: values.modelName,
    MODEL_VERSION: String(values.version),
    PORT: String(values.port),
  };
  return (container.args ?? []).map((arg) =>
    arg.replace(/\$\(([A-Z_]+)\)/g, (whole, name: string) => table[name] ?? whole),
  );
}

/** The reserved variables' values for one version. */
export function containerEnv(container: ServingContainer, values: ContainerValues): Record<string, string> {
  return {
    MODEL_URI: values.modelUri,
    MODEL_NAME: values.modelName,
    MODEL_VERSION: String(values.version),
    PORT: String(values.port),
    AIP_STORAGE_URI: values.modelUri,
    AIP_HTTP_PORT: String(values.port),
    AIP_HEALTH_ROUTE: container.healthPath,
    AIP_PREDICT_ROUTE: container.predictPath,
  };
}

/** The manifest's env may not set what mlform sets (positioned at the variable). */
export function checkContainerEnv(container: ServingContainer): Diagnostic[] {
  return Object.keys(container.env ?? {})
    .filter((name) => (RESERVED_CONTAINER_ENV as readonly string[]).includes(name))
    .map((name) =>
      error(
        'container-env-reserved',
        `${name} is set by mlform for every version; the manifest may not override it`,
        {
          path: ['spec', 'container', 'env', name],
          hint: `remove it; mlform sets ${RESERVED_CONTAINER_ENV.join(', ')} (use $(MODEL_URI), $(PORT), ... in args)`,
        },
      ),
    );
}

/** The plan's word on what mlform cannot see inside a container of the user's. */
export const containerNote = (container: ServingContainer): string =>
  `custom container: readiness is checked at ${container.healthPath}; inputs and outputs are not checked by mlform`;
