/**
 * `GET /api/v1/deployedendpoints/:name`: URL, model, the live traffic with the aliases of each
 * version, readiness, serving figures from the server's /metrics (local; gcp's Cloud Monitoring
 * is not read) and an editable sample request, sendable only to a loopback http:// server.
 */
import { ARTIFACT_LIMITS } from '../../../artifact/limits.js';
import { CONTRACT_FILES } from '../../../artifact/contract.js';
import type { ObservedEndpoint } from '../../../providers/provider.js';
import type { ApiRoute, EndpointDoc } from '../api.js';
import type { StackSnapshot, ViewIO, ViewResult } from '../snapshot.js';
import { readArtifactJson } from './artifact-json.js';
import { documentHeader } from './document-header.js';
import { notFound } from './not-found.js';
import { aliasesByVersion, itemOf } from './resource-items.js';
import { cleanOptional } from './safe-text.js';
import { instanceFromDescriptor, instanceFromPreprocess, sampleRequest } from './sample-request.js';
import { servingFromMetrics } from './serving-stats.js';
import type { ViewMemory } from './view-memory.js';
import { specYaml } from './spec-yaml.js';
import { endpointSpecOf, modelOfEndpoint, namesOf, stackIndex, type StackIndex } from './stack-index.js';

type EndpointRoute = Extract<ApiRoute, { view: 'deployedendpoint' }>;

export const GCP_SERVING_NOTE =
  'request rate and latency of Cloud Run services come from Cloud Monitoring, which the dashboard does not read yet';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Only a server on this machine, over plain HTTP, is sent requests from the dashboard. */
export function sendable(url: string | undefined): { canSend: boolean; sendNote: string | null } {
  if (url === undefined) return { canSend: false, sendNote: 'the endpoint has no URL yet' };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { canSend: false, sendNote: 'the endpoint URL is not a URL' };
  }
  if (
    parsed.protocol !== 'http:' ||
    !LOOPBACK_HOSTS.has(parsed.hostname) ||
    parsed.username ||
    parsed.password
  ) {
    return {
      canSend: false,
      sendNote:
        'the dashboard forwards requests only to a model server on this machine (http:// on loopback); send it with curl or your client',
    };
  }
  return { canSend: true, sendNote: null };
}

export async function buildEndpoint(
  route: EndpointRoute,
  snapshot: StackSnapshot,
  io: ViewIO,
  memory: ViewMemory,
): Promise<ViewResult> {
  const index = stackIndex(snapshot);
  const resource = itemOf(index, 'DeployedEndpoint', route.name, io.now());
  if (!resource) return notFound('DeployedEndpoint', route.name, namesOf(index, 'DeployedEndpoint'));
  const endpoint = index.endpoints.get(route.name);
  const model = endpoint?.model ?? modelOfEndpoint(index, route.name) ?? '';
  const aliasesOf = aliasesByVersion(index.models.get(model)?.aliases ?? {});
  const { serving, servingNote } = await servingOf(snapshot, endpoint, io, memory);
  const doc: EndpointDoc = {
    ...documentHeader(snapshot),
    resource,
    specYaml: specYaml(endpointSpecOf(index, route.name)),
    url: cleanOptional(endpoint?.url),
    model,
    traffic: (endpoint?.traffic ?? []).map((t) => ({
      version: t.version,
      percent: t.percent,
      aliases: aliasesOf.get(t.version) ?? [],
    })),
    ready: endpoint?.healthy ?? false,
    healthDetail: cleanOptional(endpoint?.healthDetail),
    serving,
    servingNote,
    sample: endpoint ? await sampleOf(index, endpoint, io, memory) : null,
    ...(snapshot.provider === 'local'
      ? sendable(endpoint?.url)
      : { canSend: false, sendNote: 'the dashboard sends sample requests to local endpoints only' }),
  };
  return { status: 200, doc };
}

async function servingOf(
  snapshot: StackSnapshot,
  endpoint: ObservedEndpoint | undefined,
  io: ViewIO,
  memory: ViewMemory,
): Promise<Pick<EndpointDoc, 'serving' | 'servingNote'>> {
  if (snapshot.provider === 'gcp') return { serving: null, servingNote: GCP_SERVING_NOTE };
  if (!endpoint?.url) return { serving: null, servingNote: 'the endpoint is not deployed' };
  let text: string | undefined;
  try {
    text = await io.scrapeMetrics(endpoint.url);
  } catch {
    text = undefined;
  }
  if (text === undefined) {
    return { serving: null, servingNote: "the model server's /metrics could not be read (is it running?)" };
  }
  const figures = servingFromMetrics(text);
  const requestRate = memory.rates.rate(
    `${snapshot.stack}/${endpoint.name}@${endpoint.url}`,
    io.now().getTime(),
    figures.requestsTotal,
  );
  return { serving: { ...figures, requestRate }, servingNote: null };
}

/** From the version taking the most traffic: its preprocess.json, else its artifact.json. */
async function sampleOf(
  index: StackIndex,
  endpoint: ObservedEndpoint,
  io: ViewIO,
  memory: ViewMemory,
): Promise<EndpointDoc['sample']> {
  const served = [...endpoint.traffic].sort((a, b) => b.percent - a.percent || b.version - a.version)[0];
  const version =
    served && index.models.get(endpoint.model)?.versions.find((v) => v.version === served.version);
  if (!version) return null;
  // A version's folder is written once: its sample is read once.
  return memory.samples.get(io.provider, `${endpoint.model}\u0000${version.artifactUri}`, () =>
    sampleFromArtifact(io, endpoint.model, version.artifactUri),
  );
}

async function sampleFromArtifact(
  io: ViewIO,
  model: string,
  artifactUri: string,
): Promise<EndpointDoc['sample']> {
  const preprocess = await readArtifactJson(
    io,
    artifactUri,
    CONTRACT_FILES.preprocess,
    ARTIFACT_LIMITS.preprocessBytes,
  );
  const instance =
    instanceFromPreprocess(preprocess) ??
    instanceFromDescriptor(await readArtifactJson(io, artifactUri, CONTRACT_FILES.descriptor));
  return instance ? sampleRequest(model, instance) : null;
}
