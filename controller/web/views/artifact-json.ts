/**
 * One JSON file of a run's or version's artifact, read through the provider (`ViewIO`), for
 * display only: a missing, oversized or unparsable file is undefined, never an error page.
 */
import { ARTIFACT_LIMITS } from '../../../artifact/limits.js';
import { joinUri } from '../../../artifact/storage.js';
import type { ViewIO } from '../snapshot.js';

export async function readArtifactJson(
  io: ViewIO,
  artifactUri: string,
  file: string,
  maxBytes: number = ARTIFACT_LIMITS.jsonBytes,
): Promise<unknown> {
  try {
    // The provider's read is not bounded; the limit at least keeps an oversized file out of parsing.
    const bytes = await io.provider.artifacts.read(io.ctx, joinUri(artifactUri, file));
    if (bytes.length > maxBytes) return undefined;
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
