/**
 * Artifact Registry v1, the two reads `mlform check` makes of an image: GetTag
 * (`.../packages/PKG/tags/TAG`) and GetVersion (`.../packages/PKG/versions/sha256:...`). An image
 * exists when it was pushed (`FakeGcp.pushImage`); before any push, every image exists, so that
 * tests not about images pass `check`.
 */
import { notFound } from './http.js';
import { SEG, type Route } from './router.js';

const PACKAGE = `projects/(?<project>${SEG})/locations/(?<location>${SEG})/repositories/(?<repo>${SEG})/packages/(?<pkg>${SEG})`;

export class ArtifactRegistry {
  /** `LOCATION-docker.pkg.dev/PROJECT/REPO/IMAGE:TAG` or `...@sha256:...`; undefined: all exist. */
  private images: Set<string> | undefined;

  routes(): Route[] {
    // A tag names the image as `IMAGE:TAG`, a version (a digest) as `IMAGE@sha256:...`.
    const read = (rpc: string, kind: 'tags' | 'versions', mark: string): Route => ({
      method: 'GET',
      pattern: new RegExp(`^/v1/${PACKAGE}/${kind}/(?<id>${SEG})$`),
      api: 'artifactregistry',
      rpc,
      handler: (ctx) => {
        const { id = '' } = ctx.params;
        const name = this.find(ctx.params, `${mark}${id}`);
        const version = kind === 'tags' ? { version: `${name}/versions/sha256:${'0'.repeat(64)}` } : {};
        return { json: { name: `${name}/${kind}/${id}`, ...version } };
      },
    });
    return [read('GetTag', 'tags', ':'), read('GetVersion', 'versions', '@')];
  }

  push(image: string): void {
    (this.images ??= new Set()).add(image);
  }

  /** The package's resource name when `<image><suffix>` was pushed; NOT_FOUND otherwise. */
  private find(p: Record<string, string | undefined>, suffix: string): string {
    const { project = '', location = '', repo = '', pkg = '' } = p;
    // The package id is the image name with `/` as `%2F`, as in Google's resource names (the
    // client percent-encodes it once more on the wire; the router decodes that).
    const image = `${location}-docker.pkg.dev/${project}/${repo}/${pkg.replaceAll('%2F', '/')}${suffix}`;
    const name = `projects/${project}/locations/${location}/repositories/${repo}/packages/${pkg}`;
    if (this.images && !this.images.has(image)) throw notFound(`Requested entity ${name}`);
    return name;
  }
}
