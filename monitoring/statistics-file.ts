/**
 * Reading `statistics.json` back, by the model server (to count into its bins) and by observation
 * (to score drift). The file is attacker-written like the rest of an artifact: bounded in size,
 * checked against the schema, and absent or invalid means "drift unknown", never a crash.
 */
import { Value } from '@sinclair/typebox/value';
import { ARTIFACT_LIMITS } from '../artifact/limits.js';
import { joinUri, readBounded } from '../artifact/storage.js';
import { errorMessage } from '../resources/error-message.js';
import { ReferenceStatisticsSchema, STATISTICS_FILE, type ReferenceStatistics } from './statistics.js';

export type StatisticsRead = { ok: true; statistics: ReferenceStatistics } | { ok: false; detail: string };

/** Parses the file's bytes (read by whoever has the right client: a provider, the server's store). */
export function parseStatistics(bytes: Buffer): StatisticsRead {
  if (bytes.length > ARTIFACT_LIMITS.jsonBytes) {
    return { ok: false, detail: `${STATISTICS_FILE} is larger than ${ARTIFACT_LIMITS.jsonBytes} bytes` };
  }
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return { ok: false, detail: `${STATISTICS_FILE} is not JSON` };
  }
  if (!Value.Check(ReferenceStatisticsSchema, value)) {
    const first = Value.Errors(ReferenceStatisticsSchema, value).First();
    return {
      ok: false,
      detail: `${STATISTICS_FILE} does not match its schema${first ? ` at ${first.path || '/'}: ${first.message}` : ''}`,
    };
  }
  for (const [name, feature] of Object.entries(value.features)) {
    if (feature.type === 'numeric' && feature.counts.length !== feature.edges.length + 1) {
      return {
        ok: false,
        detail: `${STATISTICS_FILE}: feature "${name}" has ${feature.counts.length} counts for ${feature.edges.length} edges`,
      };
    }
  }
  return { ok: true, statistics: value };
}

/** The artifact's statistics.json through the default object store; a missing file is not an error. */
export async function readStatisticsFile(artifactUri: string): Promise<StatisticsRead> {
  const uri = joinUri(artifactUri, STATISTICS_FILE);
  let bytes: Buffer;
  try {
    bytes = await readBounded(uri, ARTIFACT_LIMITS.jsonBytes, STATISTICS_FILE);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 404)
      return { ok: false, detail: `the artifact has no ${STATISTICS_FILE}` };
    return {
      ok: false,
      detail: `${STATISTICS_FILE} could not be read: ${errorMessage(e)}`,
    };
  }
  return parseStatistics(bytes);
}
