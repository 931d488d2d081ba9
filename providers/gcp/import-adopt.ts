/**
 * `Provider.adopt` on gcp (README.md "Importing existing objects"): an object made outside mlform
 * becomes the stack's. It is read again first (it must exist and carry no owner but this stack),
 * then only labels, annotations and mlform's own records change:
 *
 * - a Vertex model: the stack's record (`models/<name>.json`, as `put` writes it) and the adoption
 *   record naming its id (`models/.adopted/<name>.json`) first, then every version's labels
 *   (ownership + `mlform-imported`) with UpdateModel, the default version last: until then the
 *   model is not the stack's, so an adoption cut short is done again by the next apply;
 * - a Cloud Run service: one UpdateService of the service as read (same template, so no new
 *   revision, same traffic) with the ownership labels and the annotations mlform records on its
 *   services, plus `mlform/revisions` (revision -> model version, as the plan matched them);
 * - a Vertex AI Endpoint: `import-vertex-endpoints.ts`; a Cloud Scheduler job: `import-schedules.ts`.
 */
import { addressOf } from '../../resources/address.js';
import { error, type Diagnostic } from '../../resources/diagnostic.js';
import type { DeployedEndpointSpec } from '../../resources/deployed-endpoint.js';
import type { RegisteredModelSpec } from '../../resources/registered-model.js';
import { ownershipLabels, type AdoptRequest, type ProviderContext, type Response } from '../provider.js';
import { awaitOperation, callDiagnostic, isKind } from './call.js';
import type { Gcp } from './context.js';
import { ANNOTATION, type Service } from './endpoints.js';
import { writeAdoptedModel } from './import-records.js';
import { adoptJob } from './import-schedules.js';
import { adoptVertexEndpoint } from './import-vertex-endpoints.js';
import { sanitizeLabels } from './jobs.js';
import { listVersions, putModel } from './models.js';
import { LABEL, parentOf } from './names.js';
import { notOwned, ownerOfLabels, sameOwner } from './ownership.js';

const DEFAULT_ALIAS = 'default';

export async function adopt(gcp: Gcp, ctx: ProviderContext, req: AdoptRequest): Promise<Response> {
  const address = addressOf(req.kind, req.name);
  const parent = `${parentOf(gcp.settings.project, gcp.settings.region)}/`;
  if (!req.id.startsWith(parent))
    return refuse(
      address,
      `${req.id} is not in project ${gcp.settings.project}, region ${gcp.settings.region}`,
    );
  try {
    switch (req.kind) {
      case 'RegisteredModel':
        return await adoptModel(gcp, ctx, req, address);
      case 'DeployedEndpoint':
        return req.id.includes('/endpoints/')
          ? await adoptVertexEndpoint(gcp, ctx, req, address)
          : await adoptService(gcp, ctx, req, address);
      case 'Schedule':
        return await adoptJob(gcp, ctx, req, address);
    }
  } catch (e) {
    return { diagnostics: [callDiagnostic(address, `adopting ${req.id}`, e)] };
  }
}

const refuse = (address: string, message: string): Response => ({
  diagnostics: [error('gcp-adopt', `${address}: ${message}`, { address })],
});

async function adoptModel(
  gcp: Gcp,
  ctx: ProviderContext,
  req: AdoptRequest,
  address: string,
): Promise<Response> {
  if (!/^projects\/[^/]+\/locations\/[^/]+\/models\/[A-Za-z0-9_-]+$/.test(req.id))
    return refuse(address, `${req.id} is not a Vertex AI model name`);
  const wanted = { stack: ctx.stack, kind: 'registeredmodel', name: req.name };
  const versions = await listVersions(gcp, req.id);
  if (versions.length === 0) return refuse(address, `Vertex AI model ${req.id} has no versions`);
  const foreign = versions.find((v) => {
    const owner = ownerOfLabels(v.labels);
    return owner !== undefined && !sameOwner(owner, wanted);
  });
  if (foreign)
    return {
      diagnostics: [notOwned(address, `Vertex AI model ${req.id}`, ownerOfLabels(foreign.labels), wanted)],
    };
  const put = await putModel(gcp, ctx, {
    name: req.name,
    spec: req.spec as RegisteredModelSpec,
    specHash: req.specHash,
    labels: req.labels,
    annotations: req.annotations,
  });
  if (put.diagnostics.length > 0) return put;
  await writeAdoptedModel(gcp, ctx.stack, req.name, req.id);
  const owner = ownershipLabels(ctx.stack, 'RegisteredModel', req.name, req.specHash);
  const isDefault = (v: (typeof versions)[number]) => (v.versionAliases ?? []).includes(DEFAULT_ALIAS);
  for (const v of [...versions.filter((x) => !isDefault(x)), ...versions.filter(isDefault)]) {
    const labels = { ...(v.labels ?? {}), ...owner, [LABEL.imported]: 'true' };
    await gcp.call('aiplatform', 'UpdateModel', (opts) =>
      gcp.clients.models.updateModel(
        { model: { name: `${req.id}@${v.versionId}`, labels }, updateMask: { paths: ['labels'] } },
        opts,
      ),
    );
  }
  ctx.log?.(`${address}: adopted ${req.id} (${versions.length} versions)`);
  return { diagnostics: [] };
}

async function adoptService(
  gcp: Gcp,
  ctx: ProviderContext,
  req: AdoptRequest,
  address: string,
): Promise<Response> {
  if (!/^projects\/[^/]+\/locations\/[^/]+\/services\/[a-z][a-z0-9-]*$/.test(req.id))
    return refuse(address, `${req.id} is not a Cloud Run service name`);
  let service: Service;
  try {
    [service] = await gcp.call('run', 'GetService', (opts) =>
      gcp.clients.services.getService({ name: req.id }, opts),
    );
  } catch (e) {
    if (isKind(e, 'not-found')) return refuse(address, `Cloud Run service ${req.id} does not exist`);
    throw e;
  }
  const wanted = { stack: ctx.stack, kind: 'deployedendpoint', name: req.name };
  const owner = ownerOfLabels(service.labels);
  if (owner && !sameOwner(owner, wanted))
    return { diagnostics: [notOwned(address, `Cloud Run service ${req.id}`, owner, wanted)] };
  const spec = req.spec as DeployedEndpointSpec;
  const body: Service = {
    ...service,
    labels: {
      ...(service.labels ?? {}),
      ...sanitizeLabels(req.labels),
      ...ownershipLabels(ctx.stack, 'DeployedEndpoint', req.name, req.specHash),
    },
    annotations: {
      ...(service.annotations ?? {}),
      [ANNOTATION.specHash]: req.specHash,
      [ANNOTATION.spec]: JSON.stringify(spec),
      [ANNOTATION.annotations]: JSON.stringify(req.annotations),
      [ANNOTATION.revisions]: JSON.stringify(req.revisions ?? {}),
    },
  };
  const [op] = await gcp.call('run', 'UpdateService', (opts) =>
    gcp.clients.services.updateService({ service: body }, opts),
  );
  await awaitOperation(gcp.call, 'run', 'UpdateService', op, (n) =>
    gcp.clients.services.checkUpdateServiceProgress(n),
  );
  ctx.log?.(`${address}: adopted ${req.id}`);
  return { diagnostics: [] as Diagnostic[] };
}
