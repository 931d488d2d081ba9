/**
 * `mlform check`: whether `gcp.trainerImage` and `gcp.servingImage` exist, looked up in Artifact
 * Registry with mlform's own credentials (GetTag for `:tag`, GetVersion for `@sha256:...`), so a
 * typo or an image never pushed fails here instead of as a job that cannot pull. Images outside
 * Artifact Registry (`*-docker.pkg.dev`) are not looked up (skipped).
 *
 * The names come from mlform.yaml (attacker-written, SECURITY.md): they are parsed against the
 * registry's own character sets and only become a resource name sent to Google's API host, never
 * a URL of their own.
 */
import type { ArtifactRegistryClient } from '@google-cloud/artifact-registry/build/src/v1/artifact_registry_client.js';
import type { GcpApi } from './api-calls.js';
import { isKind } from './call.js';
import type { Gcp } from './context.js';
import type { CheckResult } from './preflight.js';

export interface RegistryImage {
  /** `projects/P/locations/L/repositories/R/packages/PKG`, the package id with `/` as `%2F`. */
  packageName: string;
  /** `tags/TAG` or `versions/sha256:...` under the package. */
  ref: string;
}

const IMAGE =
  /^(?<location>[a-z][a-z0-9-]*)-docker\.pkg\.dev\/(?<project>[a-z0-9.:-]+)\/(?<repo>[a-z][a-z0-9._-]*)\/(?<image>[a-z0-9][a-z0-9._/-]*?)(?::(?<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?<digest>sha256:[a-f0-9]{64}))?$/;

/** An Artifact Registry Docker image as resource names; undefined for other registries. */
export function registryImage(image: string): RegistryImage | undefined {
  const m = IMAGE.exec(image)?.groups;
  if (!m?.location || !m.project || !m.repo || !m.image) return undefined;
  const packageName = `projects/${m.project}/locations/${m.location}/repositories/${m.repo}/packages/${m.image.replaceAll('/', '%2F')}`;
  // A digest pins the image whatever the tag says.
  return { packageName, ref: m.digest ? `versions/${m.digest}` : `tags/${m.tag ?? 'latest'}` };
}

export async function imagesCheck(
  gcp: Gcp,
  registry: () => Promise<ArtifactRegistryClient>,
  failure: (name: string, api: GcpApi, e: unknown) => CheckResult,
): Promise<CheckResult> {
  const name = 'images';
  const { trainerImage, servingImage } = gcp.settings;
  const images = [
    { role: 'trainer', image: trainerImage },
    { role: 'serving', image: servingImage },
  ];
  const found: string[] = [];
  const missing: string[] = [];
  const elsewhere: string[] = [];
  let denied: CheckResult | undefined;
  try {
    for (const { role, image } of images) {
      const parsed = registryImage(image);
      if (!parsed) {
        elsewhere.push(`${role} ${image}`);
        continue;
      }
      const client = await registry();
      const resource = `${parsed.packageName}/${parsed.ref}`;
      try {
        await gcp.call('artifactregistry', parsed.ref.startsWith('tags/') ? 'GetTag' : 'GetVersion', (o) =>
          parsed.ref.startsWith('tags/')
            ? client.getTag({ name: resource }, o)
            : client.getVersion({ name: resource }, o),
        );
        found.push(`${role} ${image}`);
      } catch (e) {
        if (isKind(e, 'not-found')) missing.push(`${role} ${image}`);
        // Reading the registry is not needed to deploy (Vertex's and Cloud Run's service agents
        // pull the images): a denied look-up is a warning, with the permission and its role.
        else if (isKind(e, 'permission')) denied ??= failure(name, 'artifactregistry', e);
        else throw e;
      }
    }
  } catch (e) {
    return failure(name, 'artifactregistry', e);
  }
  const notLooked =
    elsewhere.length > 0 ? `; not in Artifact Registry, not looked up: ${elsewhere.join(', ')}` : '';
  if (missing.length > 0) {
    return {
      name,
      status: 'fail',
      detail: `not found: ${missing.join(', ')}${found.length > 0 ? `; found: ${found.join(', ')}` : ''}${notLooked}`,
      fix: 'build and push it (deploy/README.md "One-time setup", step 3), or correct gcp.trainerImage / gcp.servingImage in mlform.yaml',
    };
  }
  if (denied) {
    return {
      ...denied,
      status: 'warn',
      detail: `cannot look the images up: ${denied.detail}${found.length > 0 ? `; found: ${found.join(', ')}` : ''}`,
    };
  }
  if (found.length === 0) {
    return {
      name,
      status: 'skip',
      detail: `${elsewhere.join(', ')}: not in Artifact Registry (*-docker.pkg.dev), not looked up`,
      fix: 'docker manifest inspect IMAGE',
    };
  }
  return { name, status: 'pass', detail: `found ${found.join(', ')}${notLooked}` };
}
