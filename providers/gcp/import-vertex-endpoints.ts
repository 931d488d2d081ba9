/**
 * Vertex AI Endpoints in `mlform import` and `import:` (README.md "Importing existing objects"):
 * the endpoints of the project and region no stack owns, as `platform: vertexEndpoint`
 * DeployedEndpoints (traffic by deployed model with the artifact of the version each serves,
 * replicas and machine), and adopting one: its labels and description (mlform's record of the
 * applied spec) change, nothing else (same deployed models, same split).
 */
import { error, type Diagnostic } from '../../resources/diagnostic.js';
import { platformOf, type DeployedEndpointSpec } from '../../resources/deployed-endpoint.js';
import {
  ownershipLabels,
  type AdoptRequest,
  type ProviderContext,
  type Response,
  type UnmanagedObject,
} from '../provider.js';
import { lastSegment, manifestName } from './import-names.js';
import { writeAdoptedObject } from './import-records.js';
import type { Gcp } from './context.js';
import { sanitizeLabels } from './jobs.js';
import { getModel } from './models.js';
import { notOwned, ownerOfLabels, sameOwner, type Owner } from './ownership.js';
import {
  getVertex,
  listVertex,
  machineOf,
  predictUrl,
  recordDescription,
  splitOf,
} from './vertex-endpoints.js';

export const VERTEX_ENDPOINT_ID = /^projects\/[^/]+\/locations\/[^/]+\/endpoints\/[a-z0-9-]+$/;

/**
 * The artifact of a model version (`<model>@<version>`): from `known` (the versions the model
 * listing read), else one GetModel; undefined when the version has none or is gone.
 */
async function artifactOf(
  gcp: Gcp,
  known: ReadonlyMap<string, string>,
  resource: string,
): Promise<string | undefined> {
  const hit = known.get(resource);
  if (hit !== undefined) return hit;
  return (await getModel(gcp, resource))?.artifactUri || undefined;
}

/**
 * The endpoints this stack does not own. `known` maps `<model>@<version>` to its artifact for the
 * versions already read, so only versions of other models cost a GetModel.
 */
export async function unmanagedVertexEndpoints(
  gcp: Gcp,
  ctx: ProviderContext,
  known: ReadonlyMap<string, string>,
): Promise<UnmanagedObject[]> {
  const out: UnmanagedObject[] = [];
  for (const e of await listVertex(gcp)) {
    const id = e.name ?? '';
    const owner = ownerOfLabels(e.labels);
    if (!id || owner?.stack === ctx.stack) continue;
    const name = manifestName(e.displayName || lastSegment(id));
    if (owner) {
      out.push({ kind: 'DeployedEndpoint', id, name, owner, notes: [] });
      continue;
    }
    const split = splitOf(e);
    const traffic = [];
    for (const { deployed, percent } of split) {
      const resource = `${(deployed.model ?? '').split('@')[0]}@${deployed.modelVersionId ?? ''}`;
      const artifactUri = await artifactOf(gcp, known, resource);
      traffic.push({ revision: deployed.id ?? '', percent, ...(artifactUri && { artifactUri }) });
    }
    const notes: string[] = [];
    const first = split[0]?.deployed.dedicatedResources;
    const machines = new Set(
      split.map((s) => JSON.stringify(machineOf(s.deployed.dedicatedResources?.machineSpec) ?? null)),
    );
    if (machines.size > 1)
      notes.push(
        'its deployed models run on different machines: a DeployedEndpoint has one `machine` (the first one is written)',
      );
    if (split.some((s) => !s.deployed.dedicatedResources))
      notes.push('deployed models on automatic resources: mlform deploys on dedicated machines');
    const unused = (e.deployedModels ?? []).length - split.length;
    if (unused > 0)
      notes.push(
        `${unused} deployed model${unused === 1 ? '' : 's'} without traffic: the next rollout mlform makes undeploys them`,
      );
    const machine = machineOf(first?.machineSpec);
    const total = split.reduce((t, s) => t + s.percent, 0);
    const healthy = split.length > 0 && total === 100;
    out.push({
      kind: 'DeployedEndpoint',
      id,
      name,
      endpoint: {
        platform: 'vertexEndpoint',
        traffic,
        live: {
          scaling: {
            minInstances: Number(first?.minReplicaCount ?? 1),
            maxInstances: Number(first?.maxReplicaCount || first?.minReplicaCount || 1),
          },
          ...(machine && { machine }),
        },
        healthy,
        ...(!healthy && { healthDetail: 'the Vertex AI Endpoint serves no deployed model' }),
        url: predictUrl(gcp.settings.region, id),
      },
      notes,
    });
  }
  return out;
}

const refuse = (address: string, message: string): Response => ({
  diagnostics: [error('gcp-adopt', `${address}: ${message}`, { address })],
});

/**
 * One UpdateEndpoint of `labels` and `description` only (the update mask): the ownership labels,
 * and the record of the applied spec that observation reads. The display name, deployed models
 * and split stay as they are.
 */
export async function adoptVertexEndpoint(
  gcp: Gcp,
  ctx: ProviderContext,
  req: AdoptRequest,
  address: string,
): Promise<Response> {
  if (!VERTEX_ENDPOINT_ID.test(req.id)) return refuse(address, `${req.id} is not a Vertex AI Endpoint name`);
  const spec = req.spec as DeployedEndpointSpec;
  if (platformOf(spec) !== 'vertexEndpoint')
    return refuse(
      address,
      `${req.id} is a Vertex AI Endpoint: its manifest needs \`platform: vertexEndpoint\``,
    );
  const endpoint = await getVertex(gcp, req.id);
  if (!endpoint) return refuse(address, `Vertex AI Endpoint ${req.id} does not exist`);
  const wanted: Owner = { stack: ctx.stack, kind: 'deployedendpoint', name: req.name };
  const owner = ownerOfLabels(endpoint.labels);
  if (owner && !sameOwner(owner, wanted))
    return { diagnostics: [notOwned(address, `Vertex AI Endpoint ${req.id}`, owner, wanted)] };
  const labels = {
    ...(endpoint.labels ?? {}),
    ...sanitizeLabels(req.labels),
    ...ownershipLabels(ctx.stack, 'DeployedEndpoint', req.name, req.specHash),
  };
  const description = recordDescription({ specHash: req.specHash, spec, annotations: req.annotations });
  // The record first: once labelled the endpoint is observed as the stack's, and a write must find it.
  await writeAdoptedObject(gcp, ctx.stack, 'endpoints', req.name, req.id);
  await gcp.call('aiplatform', 'UpdateEndpoint', (opts) =>
    gcp.clients.endpoints.updateEndpoint(
      { endpoint: { name: req.id, labels, description }, updateMask: { paths: ['labels', 'description'] } },
      opts,
    ),
  );
  ctx.log?.(`${address}: adopted ${req.id}`);
  return { diagnostics: [] as Diagnostic[] };
}
