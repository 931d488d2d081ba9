/**
 * Drift and live quality of a Cloud Run endpoint (issue 15), from the window summaries its
 * instances wrote under `gs://<bucket>/<stack>/monitoring/<endpoint>/windows/` and the served
 * versions' statistics.json. The cost is bounded per monitored endpoint and observation:
 *
 * - ONE objects.list over the endpoint's `windows/` prefix, restricted by startOffset/endOffset to
 *   the window folders read (monitoring/observe.ts: the last two complete windows);
 * - one objects.get per summary object listed (oversized ones, by their listed size, are skipped);
 * - one objects.get (metadata) per served version's statistics.json, the file itself downloaded
 *   only when its generation is new to this process (a cache by artifact URI and generation);
 * - the artifact URIs come from the service's template; only a version served by an older
 *   revision costs one ListRevisions for the endpoint.
 *
 * An endpoint without `monitoring` costs nothing: the hook is not called.
 */
import type { protos } from '@google-cloud/run';
import { joinUri, parseGcsUri, TooLargeError } from '../../artifact/storage.js';
import { windowsPrefix } from '../../monitoring/layout.js';
import { MAX_SUMMARY_BYTES, observeMonitoring, windowKeysToRead } from '../../monitoring/observe.js';
import { parseStatistics, type StatisticsRead } from '../../monitoring/statistics-file.js';
import { STATISTICS_FILE } from '../../monitoring/statistics.js';
import type { MonitoringStatus } from '../../monitoring/status.js';
import { ARTIFACT_LIMITS } from '../../artifact/limits.js';
import type { EndpointMonitoring } from '../../resources/monitoring.js';
import type { Gcp } from './context.js';
import type { GcsObject } from './gcs.js';
import { LABEL } from './names.js';

type Service = protos.google.cloud.run.v2.IService;
type Container = protos.google.cloud.run.v2.IContainer;

/** statistics.json by artifact URI, with the generation it was read at (per process). */
const statisticsCache = new Map<string, { generation: string; read: StatisticsRead }>();

const modelUriOf = (containers: readonly Container[] | null | undefined): string | undefined =>
  containers?.flatMap((c) => c.env ?? []).find((e) => e.name === 'MODEL_URI')?.value ?? undefined;

/** The artifact URI of each served version: the template's, then (only if needed) the revisions'. */
async function artifactUris(
  service: Service,
  versions: readonly number[],
  listRevisions: () => Promise<protos.google.cloud.run.v2.IRevision[]>,
): Promise<Map<number, string>> {
  const uris = new Map<number, string>();
  const template = service.template;
  const templateVersion = Number(template?.labels?.[LABEL.version]);
  const templateUri = modelUriOf(template?.containers);
  if (templateUri && versions.includes(templateVersion)) uris.set(templateVersion, templateUri);
  if (versions.every((v) => uris.has(v))) return uris;
  for (const revision of await listRevisions()) {
    const version = Number(revision.labels?.[LABEL.version]);
    const uri = modelUriOf(revision.containers);
    if (uri && versions.includes(version) && !uris.has(version)) uris.set(version, uri);
  }
  return uris;
}

async function readStatistics(gcp: Gcp, artifactUri: string): Promise<StatisticsRead> {
  const uri = joinUri(artifactUri, STATISTICS_FILE);
  const stat = await gcp.gcs.stat(uri);
  if (!stat) return { ok: false, detail: `the artifact has no ${STATISTICS_FILE}` };
  const cached = statisticsCache.get(artifactUri);
  if (cached && cached.generation === stat.generation) return cached.read;
  let read: StatisticsRead;
  try {
    const got = await gcp.gcs.readIfExists(uri, { maxBytes: ARTIFACT_LIMITS.jsonBytes });
    if (!got) return { ok: false, detail: `the artifact has no ${STATISTICS_FILE}` };
    read = parseStatistics(got.data);
    statisticsCache.set(artifactUri, { generation: got.generation, read });
  } catch (e) {
    if (e instanceof TooLargeError) return { ok: false, detail: `${STATISTICS_FILE}: ${e.message}` };
    throw e;
  }
  return read;
}

export async function observeGcpMonitoring(
  gcp: Gcp,
  monitoringRoot: string,
  settings: EndpointMonitoring,
  service: Service,
  versions: readonly number[],
  listRevisions: () => Promise<protos.google.cloud.run.v2.IRevision[]>,
  now: Date,
): Promise<MonitoringStatus> {
  const windows = windowsPrefix(monitoringRoot);
  const keys = windowKeysToRead(settings, now);
  let listed: Promise<GcsObject[]> | undefined;
  // One list for every window read: from the oldest window's folder to the end of the newest's
  // (`<key>0` sorts right after every `<key>/...` name and before the next window's folder).
  const listOnce = () =>
    (listed ??= gcp.gcs.list(`${windows}/`, {
      startOffset: parseGcsUri(`${windows}/${keys[keys.length - 1]}/`).name,
      endOffset: parseGcsUri(`${windows}/${keys[0]}0`).name,
    }));
  let uris: Promise<Map<number, string>> | undefined;
  return observeMonitoring(
    settings,
    versions,
    {
      async listWindow(key) {
        const folder = `${windows}/${key}/`;
        return (await listOnce())
          .filter((o) => o.uri.startsWith(folder) && !o.uri.slice(folder.length).includes('/'))
          .map((o) => ({
            name: o.uri.slice(folder.length),
            read: async () => {
              if ((o.size ?? 0) > MAX_SUMMARY_BYTES)
                throw new TooLargeError(`${key}/${o.uri.slice(folder.length)} is ${o.size} bytes`);
              return gcp.gcs.read(o.uri);
            },
          }));
      },
      async readStatistics(version) {
        const uri = (await (uris ??= artifactUris(service, versions, listRevisions))).get(version);
        if (!uri)
          return { ok: false, detail: `no artifact found for v${version} in the service's revisions` };
        return readStatistics(gcp, uri);
      },
    },
    now,
  );
}
