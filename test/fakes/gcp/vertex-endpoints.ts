/**
 * Vertex AI EndpointService: endpoints with deployed models and a traffic split by deployed model
 * id. Create, Delete, DeployModel, UndeployModel and MutateDeployedModel are long-running
 * operations; GetEndpoint, ListEndpoints (labels filter, paged) and UpdateEndpoint (display name,
 * labels, traffic split) answer at once. As on Vertex:
 * - a deployed model appears on the endpoint when its DeployModel operation is done, and a version
 *   whose model has no container spec cannot be deployed (its operation fails);
 * - the traffic split names existing deployed models and sums to 100 (or is empty);
 * - a deployed model that still takes traffic cannot be undeployed;
 * - an endpoint with deployed models cannot be deleted.
 */
import type { FakeEnv } from './env.js';
import type { HandlerContext } from './http.js';
import { ApiError, deepClone, isRecord, notFound, nowIso, rec, str } from './http.js';
import { listInLocation, maskPaths } from './list.js';
import { PL, SEG, type Route } from './router.js';
import type { VertexModels } from './vertex-models.js';

const ENDPOINT = 'google.cloud.aiplatform.v1.Endpoint';
const V1 = 'google.cloud.aiplatform.v1';
/** Fields UpdateEndpoint may change (`update_mask` paths, camelCase). */
const UPDATABLE = ['displayName', 'description', 'labels', 'trafficSplit'];
/** Fields MutateDeployedModel may change. */
const MUTABLE = [
  'dedicatedResources.minReplicaCount',
  'dedicatedResources.maxReplicaCount',
  'dedicatedResources.autoscalingMetricSpecs',
  'disableContainerLogging',
  'enableAccessLogging',
];

export interface FakeEndpointOptions {
  /** Deployments of model versions whose container image contains this string fail. */
  failDeploymentsWithImage?: string;
}

type Split = Record<string, number>;

export class VertexEndpoints {
  private readonly endpoints = new Map<string, Record<string, unknown>>();
  private counter = 0;
  private deployedCounter = 0;

  constructor(
    private readonly env: FakeEnv,
    private readonly models: VertexModels,
    readonly options: FakeEndpointOptions = {},
  ) {}

  routes(): Route[] {
    const E = `(?<name>${PL}/endpoints/${SEG})`;
    const route = (method: string, pattern: string, rpc: string, handler: Route['handler']): Route => ({
      method,
      pattern: new RegExp(pattern),
      api: 'aiplatform',
      rpc,
      handler,
    });
    return [
      route('POST', `^/v1/${PL}/endpoints$`, 'CreateEndpoint', (c) => ({ json: this.create(c) })),
      route('GET', `^/v1/${PL}/endpoints$`, 'ListEndpoints', (c) => ({ json: this.list(c) })),
      route('GET', `^/v1/${E}$`, 'GetEndpoint', (c) => ({ json: this.view(this.get(c.params.name)) })),
      route('PATCH', `^/v1/${E}$`, 'UpdateEndpoint', (c) => ({ json: this.update(c) })),
      route('DELETE', `^/v1/${E}$`, 'DeleteEndpoint', (c) => ({ json: this.delete(c) })),
      route('POST', `^/v1/${E}:deployModel$`, 'DeployModel', (c) => ({ json: this.deploy(c) })),
      route('POST', `^/v1/${E}:undeployModel$`, 'UndeployModel', (c) => ({ json: this.undeploy(c) })),
      route('POST', `^/v1/${E}:mutateDeployedModel$`, 'MutateDeployedModel', (c) => ({
        json: this.mutate(c),
      })),
    ];
  }

  all(): Record<string, unknown>[] {
    return [...this.endpoints.values()].map((e) => deepClone(e));
  }

  /** A change made by hand in the console (tests of drift): `edit` changes the stored endpoint. */
  edit(name: string, edit: (endpoint: Record<string, unknown>) => void): void {
    const endpoint = this.get(name);
    edit(endpoint);
    this.touch(endpoint);
  }

  private get(name: string | undefined): Record<string, unknown> {
    const endpoint = this.endpoints.get(name ?? '');
    if (!endpoint) throw notFound(`Endpoint ${name ?? ''}`);
    return endpoint;
  }

  private view(endpoint: Record<string, unknown>): Record<string, unknown> {
    return this.env.out('aiplatform', ENDPOINT, deepClone(endpoint));
  }

  private touch(endpoint: Record<string, unknown>): void {
    endpoint.updateTime = nowIso();
    endpoint.etag = `"${Date.now().toString(36)}-${(this.counter += 1)}"`;
  }

  private create(ctx: HandlerContext): Record<string, unknown> {
    const body = this.env.body(ctx, 'aiplatform', ENDPOINT, 'endpoint');
    if (!str(body.displayName)) {
      throw new ApiError(
        'INVALID_ARGUMENT',
        'List of found errors:\t1.Field: endpoint.display_name; Message: Required field is not set.\t',
      );
    }
    if (
      (Array.isArray(body.deployedModels) && body.deployedModels.length > 0) ||
      Object.keys(rec(body.trafficSplit)).length > 0
    ) {
      throw new ApiError(
        'INVALID_ARGUMENT',
        'Endpoint.deployed_models and traffic_split are output only at creation.',
      );
    }
    const { project = '', location = '' } = ctx.params;
    const requested = ctx.query.get('endpointId');
    if (requested && !/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(requested))
      throw new ApiError('INVALID_ARGUMENT', `Invalid endpoint_id "${requested}".`);
    this.counter += 1;
    const id = requested || String(4000000000000000000n + BigInt(this.counter));
    const name = `projects/${project}/locations/${location}/endpoints/${id}`;
    if (this.endpoints.has(name)) throw new ApiError('ALREADY_EXISTS', `Endpoint ${name} already exists.`);
    const now = nowIso();
    const endpoint: Record<string, unknown> = {
      ...body,
      name,
      deployedModels: [],
      trafficSplit: {},
      createTime: now,
      updateTime: now,
      etag: `"${id}"`,
    };
    // Listed from the request on: a create whose response is lost is found by its labels.
    this.endpoints.set(name, endpoint);
    return this.env.vertexOperation(name, 'CreateEndpointOperationMetadata', () => ({
      response: { '@type': `type.googleapis.com/${ENDPOINT}`, ...deepClone(endpoint) },
    }));
  }

  private list(ctx: HandlerContext): Record<string, unknown> {
    return listInLocation(this.endpoints.values(), ctx, 'endpoints', this.env.pageOpts(), (e) =>
      this.view(e),
    );
  }

  private update(ctx: HandlerContext): Record<string, unknown> {
    const body = this.env.body(ctx, 'aiplatform', ENDPOINT, 'endpoint');
    const endpoint = this.get(ctx.params.name);
    const paths = maskOf(ctx);
    for (const path of paths) {
      if (!UPDATABLE.includes(path))
        throw new ApiError('INVALID_ARGUMENT', `Invalid update_mask path: ${path}`);
    }
    if (paths.includes('trafficSplit')) this.checkSplit(endpoint, rec(body.trafficSplit) as Split);
    for (const path of paths) {
      if (body[path] === undefined) delete endpoint[path];
      else endpoint[path] = deepClone(body[path]);
    }
    this.touch(endpoint);
    return this.view(endpoint);
  }

  private delete(ctx: HandlerContext): Record<string, unknown> {
    const endpoint = this.get(ctx.params.name);
    const deployed = deployedOf(endpoint);
    if (deployed.length > 0) {
      throw new ApiError(
        'FAILED_PRECONDITION',
        `Endpoint ${String(endpoint.name)} has deployed models [${deployed.map((d) => String(d.id)).join(', ')}]; undeploy them first.`,
      );
    }
    this.endpoints.delete(String(endpoint.name));
    return this.env.vertexOperation(
      `projects/${ctx.params.project ?? ''}/locations/${ctx.params.location ?? ''}`,
      'DeleteOperationMetadata',
      () => ({ response: { '@type': 'type.googleapis.com/google.protobuf.Empty' } }),
    );
  }

  private deploy(ctx: HandlerContext): Record<string, unknown> {
    const body = this.env.body(ctx, 'aiplatform', `${V1}.DeployModelRequest`, '');
    const endpoint = this.get(ctx.params.name);
    const requested = rec(body.deployedModel);
    const dedicated = rec(requested.dedicatedResources);
    const machine = rec(dedicated.machineSpec);
    if (!str(requested.model)) {
      throw new ApiError(
        'INVALID_ARGUMENT',
        'List of found errors:\t1.Field: deployed_model.model; Message: Required field is not set.\t',
      );
    }
    if (!str(machine.machineType)) {
      throw new ApiError(
        'INVALID_ARGUMENT',
        'List of found errors:\t1.Field: deployed_model.dedicated_resources.machine_spec.machine_type; Message: Required field is not set.\t',
      );
    }
    const min = Number(dedicated.minReplicaCount ?? 0);
    const max = Number(dedicated.maxReplicaCount ?? min);
    if (!(min >= 1))
      throw new ApiError('INVALID_ARGUMENT', 'dedicated_resources.min_replica_count must be at least 1.');
    if (max < min)
      throw new ApiError(
        'INVALID_ARGUMENT',
        'dedicated_resources.max_replica_count must not be below min_replica_count.',
      );
    const version = this.models.version(str(requested.model) ?? '', str(requested.modelVersionId));
    if (!version) throw notFound(`Model ${String(requested.model)}`);
    const split = isRecord(body.trafficSplit) ? (body.trafficSplit as Split) : undefined;
    this.deployedCounter += 1;
    const id = str(requested.id) || String(1000000000 + this.deployedCounter);
    if (deployedOf(endpoint).some((d) => d.id === id))
      throw new ApiError('ALREADY_EXISTS', `DeployedModel ${id} already exists on ${String(endpoint.name)}.`);
    const modelVersionId = String(version.versionId);
    const deployed: Record<string, unknown> = {
      ...requested,
      id,
      model: String(version.name),
      modelVersionId,
      createTime: nowIso(),
    };
    if (split) this.checkSplit(endpoint, split, id);
    const image = str(rec(version.containerSpec).imageUri);
    const fail = this.options.failDeploymentsWithImage;
    return this.env.vertexOperation(String(endpoint.name), 'DeployModelOperationMetadata', () => {
      if (!image) {
        return {
          error: {
            code: 9,
            message: `Model ${String(version.name)}@${modelVersionId} cannot be deployed: it has no container spec (container_spec.image_uri is required to serve a custom-trained model).`,
          },
        };
      }
      if (fail && image.includes(fail)) {
        return {
          error: {
            code: 3,
            message: `Model server never became ready. Please validate that your model file or container configuration are valid. Model server logs can be found at https://console.cloud.google.com/logs/viewer?project=${String(ctx.params.project)}`,
          },
        };
      }
      const current = this.endpoints.get(String(endpoint.name));
      if (!current) return { error: { code: 5, message: `Endpoint ${String(endpoint.name)} not found.` } };
      current.deployedModels = [...deployedOf(current), deployed];
      if (split && Object.keys(split).length > 0) {
        current.trafficSplit = Object.fromEntries(
          Object.entries(split).map(([k, v]) => [k === '0' ? id : k, v]),
        );
      }
      this.touch(current);
      return {
        response: {
          '@type': `type.googleapis.com/${V1}.DeployModelResponse`,
          deployedModel: deepClone(deployed),
        },
      };
    });
  }

  private undeploy(ctx: HandlerContext): Record<string, unknown> {
    const body = this.env.body(ctx, 'aiplatform', `${V1}.UndeployModelRequest`, '');
    const endpoint = this.get(ctx.params.name);
    const id = str(body.deployedModelId) ?? '';
    const rest = deployedOf(endpoint).filter((d) => d.id !== id);
    if (rest.length === deployedOf(endpoint).length)
      throw notFound(`DeployedModel ${id} of Endpoint ${String(endpoint.name)}`);
    let split = (
      isRecord(body.trafficSplit) && Object.keys(body.trafficSplit).length > 0
        ? body.trafficSplit
        : rec(endpoint.trafficSplit)
    ) as Split;
    if (rest.length === 0) split = {};
    if ((split[id] ?? 0) > 0) {
      throw new ApiError(
        'FAILED_PRECONDITION',
        `DeployedModel ${id} has ${split[id]}% of the traffic of Endpoint ${String(endpoint.name)}; move its traffic first.`,
      );
    }
    const kept: Split = Object.fromEntries(Object.entries(split).filter(([k]) => k !== id));
    if (rest.length > 0) this.checkSplit({ ...endpoint, deployedModels: rest }, kept);
    endpoint.deployedModels = rest;
    endpoint.trafficSplit = kept;
    this.touch(endpoint);
    return this.env.vertexOperation(String(endpoint.name), 'UndeployModelOperationMetadata', () => ({
      response: { '@type': `type.googleapis.com/${V1}.UndeployModelResponse` },
    }));
  }

  private mutate(ctx: HandlerContext): Record<string, unknown> {
    const body = this.env.body(ctx, 'aiplatform', `${V1}.MutateDeployedModelRequest`, '');
    const endpoint = this.get(ctx.params.name);
    const requested = rec(body.deployedModel);
    const target = deployedOf(endpoint).find((d) => d.id === str(requested.id));
    if (!target) throw notFound(`DeployedModel ${String(requested.id)} of Endpoint ${String(endpoint.name)}`);
    const paths = maskOf(ctx, body.updateMask);
    for (const path of paths) {
      if (!MUTABLE.includes(path))
        throw new ApiError('INVALID_ARGUMENT', `Invalid update_mask path: ${path}`);
    }
    const next = deepClone(target);
    for (const path of paths) {
      const [head = '', leaf] = path.split('.');
      if (leaf === undefined) next[head] = deepClone(requested[head]);
      else next[head] = { ...rec(next[head]), [leaf]: deepClone(rec(requested[head])[leaf]) };
    }
    const d = rec(next.dedicatedResources);
    if (Number(d.minReplicaCount ?? 1) < 1 || Number(d.maxReplicaCount ?? 1) < Number(d.minReplicaCount ?? 1))
      throw new ApiError('INVALID_ARGUMENT', 'Invalid replica counts.');
    return this.env.vertexOperation(String(endpoint.name), 'MutateDeployedModelOperationMetadata', () => {
      Object.assign(target, next);
      this.touch(endpoint);
      return {
        response: {
          '@type': `type.googleapis.com/${V1}.MutateDeployedModelResponse`,
          deployedModel: deepClone(target),
        },
      };
    });
  }

  /** Vertex's rules for a traffic split: known deployed model ids (`pending` about to be one), sum 100. */
  private checkSplit(endpoint: Record<string, unknown>, split: Split, pending?: string): void {
    const ids = new Set([
      ...deployedOf(endpoint).map((d) => String(d.id)),
      ...(pending ? ['0', pending] : []),
    ]);
    const entries = Object.entries(split);
    if (entries.length === 0) return;
    for (const [id, percent] of entries) {
      if (!ids.has(id))
        throw new ApiError(
          'INVALID_ARGUMENT',
          `Traffic split references DeployedModel ${id}, which is not deployed on ${String(endpoint.name)}.`,
        );
      if (!Number.isInteger(percent) || percent < 0 || percent > 100)
        throw new ApiError(
          'INVALID_ARGUMENT',
          `Invalid traffic percentage ${String(percent)} for DeployedModel ${id}.`,
        );
    }
    const sum = entries.reduce((t, [, p]) => t + p, 0);
    if (sum !== 100)
      throw new ApiError('INVALID_ARGUMENT', `The traffic split percentages must add up to 100, got ${sum}.`);
  }
}

function deployedOf(endpoint: Record<string, unknown>): Record<string, unknown>[] {
  return Array.isArray(endpoint.deployedModels) ? (endpoint.deployedModels as Record<string, unknown>[]) : [];
}

/**
 * `update_mask` paths in camelCase, from the query (`updateMask=a,b`) or the body's FieldMask (proto3
 * JSON: `"a,b"`; `{paths: [...]}` also taken).
 */
function maskOf(ctx: HandlerContext, inBody?: unknown): string[] {
  const raw =
    typeof inBody === 'string'
      ? inBody
      : Array.isArray(rec(inBody).paths)
        ? (rec(inBody).paths as unknown[]).map(String).join(',')
        : (ctx.query.get('updateMask') ?? '');
  const paths = maskPaths(raw);
  if (paths.length === 0) {
    throw new ApiError(
      'INVALID_ARGUMENT',
      'List of found errors:\t1.Field: update_mask; Message: Required field is not set.\t',
    );
  }
  return paths;
}
