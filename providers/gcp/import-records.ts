/**
 * Where an adopted Vertex model is (README.md "Importing existing objects"). A model mlform
 * creates sits under the id derived from (stack, name); an adopted one keeps the id it was made
 * with, so the stack records it next to the model's record: `models/.adopted/<name>.json`, under
 * the `models/` prefix that observation lists anyway (no extra call), with the resource name in
 * its custom metadata.
 */
import type { Gcp } from './context.js';

const KEY = 'model';

export const adoptedUri = (modelPrefix: string, name: string) => `${modelPrefix}.adopted/${name}.json`;

/** The RegisteredModel whose adoption record `relative` (the object name after `models/`) is. */
export const adoptedNameOf = (relative: string): string | undefined =>
  /^\.adopted\/([^/]+)\.json$/.exec(relative)?.[1];

/** The Vertex model resource an adoption record names (only a model of this project and region). */
export function adoptedModelOf(gcp: Gcp, metadata: Record<string, string>): string | undefined {
  const resource = metadata[KEY];
  const parent = `projects/${gcp.settings.project}/locations/${gcp.settings.region}/models/`;
  return resource?.startsWith(parent) && /^[a-z0-9_-]+$/i.test(resource.slice(parent.length))
    ? resource
    : undefined;
}

export async function readAdoptedModel(gcp: Gcp, stack: string, name: string): Promise<string | undefined> {
  const found = await gcp.gcs.readIfExists(adoptedUri(gcp.layout(stack).modelPrefix, name), {
    maxBytes: 4096,
  });
  if (!found) return undefined;
  try {
    const body = JSON.parse(found.data.toString('utf8')) as Record<string, string>;
    return adoptedModelOf(gcp, body);
  } catch {
    return undefined;
  }
}

export async function writeAdoptedModel(
  gcp: Gcp,
  stack: string,
  name: string,
  resource: string,
): Promise<void> {
  const record = { [KEY]: resource };
  await gcp.gcs.write(adoptedUri(gcp.layout(stack).modelPrefix, name), JSON.stringify(record), {
    metadata: record,
  });
}

export const removeAdoptedModel = (gcp: Gcp, stack: string, name: string) =>
  gcp.gcs.remove(adoptedUri(gcp.layout(stack).modelPrefix, name));
