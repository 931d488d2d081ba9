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

/**
 * Where an adopted Vertex AI Endpoint or Scheduler job is: `<stack>/adopted/<kind>/<name>.json`
 * with its resource name. Read only by a write that finds nothing under the derived name (one GCS
 * read), so the adopted object gets the update, pause or delete instead of a second object being
 * created beside it.
 */
const ADOPTED_ID = {
  endpoints: /^[a-z0-9-]+$/,
  jobs: /^[A-Za-z0-9_-]+$/,
} as const;
export type AdoptedKind = keyof typeof ADOPTED_ID;

const adoptedObjectUri = (gcp: Gcp, stack: string, kind: AdoptedKind, name: string) =>
  `${gcp.layout(stack).root}/adopted/${kind}/${name}.json`;

export async function writeAdoptedObject(
  gcp: Gcp,
  stack: string,
  kind: AdoptedKind,
  name: string,
  resource: string,
): Promise<void> {
  const record = { resource };
  await gcp.gcs.write(adoptedObjectUri(gcp, stack, kind, name), JSON.stringify(record), { metadata: record });
}

/** The adopted object's resource name: only one of this project and region, of that kind. */
export async function readAdoptedObject(
  gcp: Gcp,
  stack: string,
  kind: AdoptedKind,
  name: string,
): Promise<string | undefined> {
  const found = await gcp.gcs.readIfExists(adoptedObjectUri(gcp, stack, kind, name), { maxBytes: 4096 });
  if (!found) return undefined;
  let resource: unknown;
  try {
    resource = (JSON.parse(found.data.toString('utf8')) as { resource?: unknown }).resource;
  } catch {
    return undefined;
  }
  const parent = `projects/${gcp.settings.project}/locations/${gcp.settings.region}/${kind}/`;
  return typeof resource === 'string' &&
    resource.startsWith(parent) &&
    ADOPTED_ID[kind].test(resource.slice(parent.length))
    ? resource
    : undefined;
}

export const removeAdoptedObject = (gcp: Gcp, stack: string, kind: AdoptedKind, name: string) =>
  gcp.gcs.remove(adoptedObjectUri(gcp, stack, kind, name));
