/**
 * RegisteredModels in the Vertex AI Model Registry (README.md "Models"). The model's own record
 * (spec, spec hash, annotations) is a GCS object `<stack>/models/<name>.json` with the small
 * fields in custom metadata, because a Vertex model cannot exist without a version. Observation:
 * one GCS list + one paged ListModels; a model's versions come from its snapshot (model-snapshot.ts)
 * while the model-level `updateTime` is unchanged, else from one paged ListModelVersions for that
 * model (Vertex AI has no call that lists the versions of all models).
 */
import type { protos } from '@google-cloud/aiplatform';
import { error, warning, type Diagnostic } from '../../resources/diagnostic.js';
import type { RegisteredModelSpec } from '../../resources/registered-model.js';
import {
  ownershipLabels,
  type MoveAliasRequest,
  type ObservedModel,
  type ObservedVersion,
  type ProviderContext,
  type PutModelRequest,
  type RegisterVersionRequest,
  type Response,
} from '../provider.js';
import { awaitOperation, callDiagnostic, isKind } from './call.js';
import { isoOf, listAll, type Gcp } from './context.js';
import { sanitizeLabels } from './jobs.js';
import { LABEL, labelValue, modelId, parentOf } from './names.js';
import {
  SNAPSHOT_KEY,
  decodeSnapshot,
  encodeSnapshot,
  snapshotNameOf,
  snapshotUri,
  tagOf,
  type ModelSnapshot,
} from './model-snapshot.js';

type Model = protos.google.cloud.aiplatform.v1.IModel;

const addressOf = (name: string) => `RegisteredModel/${name}`;
const DEFAULT_ALIAS = 'default';

export const modelResourceName = (gcp: Gcp, stack: string, name: string) =>
  `${parentOf(gcp.settings.project, gcp.settings.region)}/models/${modelId(stack, name)}`;

/** What a version records beyond its labels, as JSON in `versionDescription`. */
interface Lineage {
  specHash: string;
  metrics: Record<string, number>;
  baseline: Record<string, number>;
  dataSha256?: string;
  gitCommit?: string;
}

const LINEAGE_PREFIX = 'mlform lineage ';

function lineageOf(m: Model): Lineage | undefined {
  const d = m.versionDescription ?? '';
  if (!d.startsWith(LINEAGE_PREFIX)) return undefined;
  try {
    return JSON.parse(d.slice(LINEAGE_PREFIX.length)) as Lineage;
  } catch {
    return undefined;
  }
}

function versionOf(m: Model): ObservedVersion | undefined {
  const labels = m.labels ?? {};
  const lineage = lineageOf(m);
  const version = Number(m.versionId);
  const runNumber = Number(labels[LABEL.runNumber]);
  if (!lineage || !Number.isInteger(version) || !labels[LABEL.runName] || !Number.isInteger(runNumber))
    return undefined;
  return {
    version,
    run: { name: labels[LABEL.runName], number: runNumber },
    specHash: lineage.specHash,
    artifactUri: m.artifactUri ?? '',
    metrics: lineage.metrics ?? {},
    baseline: lineage.baseline ?? {},
    ...(lineage.dataSha256 !== undefined && { dataSha256: lineage.dataSha256 }),
    ...(lineage.gitCommit !== undefined && { gitCommit: lineage.gitCommit }),
    createdAt: isoOf(m.versionCreateTime) ?? isoOf(m.createTime) ?? new Date(0).toISOString(),
  };
}

async function listVersions(gcp: Gcp, name: string, filter?: string): Promise<Model[]> {
  type Req = protos.google.cloud.aiplatform.v1.IListModelVersionsRequest & { pageToken?: string };
  return listAll<Req, Model>(
    gcp.call,
    'aiplatform',
    'ListModelVersions',
    { name, pageSize: 100, ...(filter && { filter }) },
    (req, opts) => gcp.clients.models.listModelVersions(req, opts) as Promise<[Model[], Req | null, unknown]>,
  );
}

/** `MLFORM_GCP_NO_MODEL_CACHE=1`: always ListModelVersions, neither read nor write snapshots. */
const modelCacheOff = () => process.env.MLFORM_GCP_NO_MODEL_CACHE === '1';

/** A model's observed versions and aliases from a full ListModelVersions. */
async function observeVersions(
  gcp: Gcp,
  base: string,
): Promise<{ versions: ObservedVersion[]; aliases: Record<string, number> }> {
  const versions: ObservedVersion[] = [];
  const aliases: Record<string, number> = {};
  for (const v of await listVersions(gcp, base)) {
    const observed = versionOf(v);
    if (!observed) continue;
    versions.push(observed);
    for (const alias of v.versionAliases ?? [])
      if (alias !== DEFAULT_ALIAS) aliases[alias] = observed.version;
  }
  return { versions, aliases };
}

interface ModelRecordMeta {
  specHash: string;
  spec: RegisteredModelSpec;
  annotations: Record<string, string>;
}

function recordOf(metadata: Record<string, string>): ModelRecordMeta | undefined {
  try {
    if (!metadata.specHash || !metadata.spec) return undefined;
    return {
      specHash: metadata.specHash,
      spec: JSON.parse(metadata.spec) as RegisteredModelSpec,
      annotations: JSON.parse(metadata.annotations ?? '{}') as Record<string, string>,
    };
  } catch {
    return undefined;
  }
}

export async function listModels(
  gcp: Gcp,
  ctx: ProviderContext,
): Promise<Response & { items: ObservedModel[] }> {
  const layout = gcp.layout(ctx.stack);
  const diagnostics: Diagnostic[] = [];
  try {
    type Req = protos.google.cloud.aiplatform.v1.IListModelsRequest & { pageToken?: string };
    const [records, models] = await Promise.all([
      gcp.gcs.list(layout.modelPrefix),
      listAll<Req, Model>(
        gcp.call,
        'aiplatform',
        'ListModels',
        {
          parent: parentOf(gcp.settings.project, gcp.settings.region),
          filter: `labels.${LABEL.stack}="${ctx.stack}"`,
          pageSize: 100,
        },
        (req, opts) => gcp.clients.models.listModels(req, opts) as Promise<[Model[], Req | null, unknown]>,
      ),
    ]);
    const vertex = new Map<string, Model>();
    for (const m of models) {
      const name = m.labels?.[LABEL.name];
      if (name && m.labels?.[LABEL.stack] === ctx.stack) vertex.set(name, m);
    }
    const prefix = layout.modelPrefix.replace(/^gs:\/\/[^/]+\//, '');
    const cache = !modelCacheOff();
    const snapshots = new Map<string, { uri: string; value: string | undefined }>();
    for (const object of records) {
      const name = snapshotNameOf(object.name.slice(prefix.length));
      if (name) snapshots.set(name, { uri: object.uri, value: object.metadata[SNAPSHOT_KEY] });
    }
    /** Versions and aliases of one model: the snapshot while its tag holds, else ListModelVersions. */
    const versionsOf = async (
      name: string,
      model: Model,
    ): Promise<{ versions: ObservedVersion[]; aliases: Record<string, number> }> => {
      const base = (model.name ?? '').split('@')[0];
      const tag = cache ? tagOf(model) : undefined;
      const stored = snapshots.get(name);
      if (tag) {
        const snapshot = decodeSnapshot(stored?.value, layout);
        if (snapshot?.tag === tag) return snapshot;
      }
      const observed = await observeVersions(gcp, base);
      if (tag) await saveSnapshot(gcp, ctx, layout, name, { tag, ...observed }, stored !== undefined);
      return observed;
    };
    const items = await Promise.all(
      records.map(async (object): Promise<ObservedModel | undefined> => {
        const m = /^([^/]+)\.json$/.exec(object.name.slice(prefix.length));
        if (!m) return undefined;
        const name = m[1];
        const record = recordOf(object.metadata);
        if (!record) {
          diagnostics.push(
            warning(
              'gcp-model-record',
              `the record of ${addressOf(name)} (${object.uri}) is damaged; left out`,
              {
                address: addressOf(name),
              },
            ),
          );
          return undefined;
        }
        const model = vertex.get(name);
        const { versions, aliases } = model?.name
          ? await versionsOf(name, model)
          : { versions: [] as ObservedVersion[], aliases: {} };
        versions.sort((a, b) => a.version - b.version);
        return { name, ...record, versions, aliases };
      }),
    );
    for (const name of vertex.keys()) {
      if (!items.some((i) => i?.name === name)) {
        diagnostics.push(
          warning(
            'gcp-model-without-record',
            `${addressOf(name)} exists in the Model Registry but its record ${layout.model(name)} is missing`,
            {
              address: addressOf(name),
              hint: 'apply the RegisteredModel manifest again to rewrite it',
            },
          ),
        );
      }
    }
    return { items: items.filter((i): i is ObservedModel => i !== undefined), diagnostics };
  } catch (e) {
    return {
      items: [],
      diagnostics: [...diagnostics, callDiagnostic('RegisteredModel', 'listing models', e)],
    };
  }
}

/**
 * Writes a model's snapshot (best effort: a failure only costs a ListModelVersions next time). One
 * that does not fit the metadata limit is not written, and an older one is removed.
 */
async function saveSnapshot(
  gcp: Gcp,
  ctx: ProviderContext,
  layout: ReturnType<Gcp['layout']>,
  name: string,
  snapshot: ModelSnapshot,
  exists: boolean,
): Promise<void> {
  const uri = snapshotUri(layout.modelPrefix, name);
  try {
    const value = encodeSnapshot(snapshot, layout);
    if (value === undefined) {
      ctx.log?.(`${addressOf(name)}: version snapshot too large for object metadata; listing its versions`);
      if (exists) await gcp.gcs.remove(uri);
      return;
    }
    await gcp.gcs.write(uri, JSON.stringify({ model: name, tag: snapshot.tag }), {
      metadata: { [SNAPSHOT_KEY]: value },
    });
  } catch (e) {
    ctx.log?.(`${addressOf(name)}: could not write the version snapshot ${uri}: ${String(e)}`);
  }
}

export async function putModel(gcp: Gcp, ctx: ProviderContext, req: PutModelRequest): Promise<Response> {
  const uri = gcp.layout(ctx.stack).model(req.name);
  try {
    const body = {
      name: req.name,
      specHash: req.specHash,
      spec: req.spec,
      labels: req.labels,
      annotations: req.annotations,
    };
    await gcp.gcs.write(uri, JSON.stringify(body), {
      metadata: {
        specHash: req.specHash,
        spec: JSON.stringify(req.spec),
        annotations: JSON.stringify(req.annotations),
        ...ownershipLabels(ctx.stack, 'RegisteredModel', req.name, req.specHash),
      },
    });
    return { diagnostics: [] };
  } catch (e) {
    return { diagnostics: [callDiagnostic(addressOf(req.name), `writing the record ${uri}`, e)] };
  }
}

/** Deletes the Vertex AI model with all its versions (the default version goes last, with the model). */
async function deleteVertexModel(gcp: Gcp, name: string): Promise<void> {
  try {
    const versions = await listVersions(gcp, name);
    for (const v of versions) {
      if ((v.versionAliases ?? []).includes(DEFAULT_ALIAS)) continue;
      const versionName = `${name}@${v.versionId}`;
      const [op] = await gcp.call('aiplatform', 'DeleteModelVersion', (opts) =>
        gcp.clients.models.deleteModelVersion({ name: versionName }, opts),
      );
      await awaitOperation(gcp.call, 'aiplatform', 'DeleteModelVersion', op, (n) =>
        gcp.clients.models.checkDeleteModelVersionProgress(n),
      );
    }
    const [op] = await gcp.call('aiplatform', 'DeleteModel', (opts) =>
      gcp.clients.models.deleteModel({ name }, opts),
    );
    await awaitOperation(gcp.call, 'aiplatform', 'DeleteModel', op, (n) =>
      gcp.clients.models.checkDeleteModelProgress(n),
    );
  } catch (e) {
    if (!isKind(e, 'not-found')) throw e;
  }
}

export async function deleteModel(gcp: Gcp, ctx: ProviderContext, req: { name: string }): Promise<Response> {
  const address = addressOf(req.name);
  try {
    await deleteVertexModel(gcp, modelResourceName(gcp, ctx.stack, req.name));
    const layout = gcp.layout(ctx.stack);
    await gcp.gcs.remove(snapshotUri(layout.modelPrefix, req.name));
    await gcp.gcs.remove(layout.model(req.name));
    return { diagnostics: [] };
  } catch (e) {
    return { diagnostics: [callDiagnostic(address, `deleting ${req.name}`, e)] };
  }
}

export async function registerVersion(
  gcp: Gcp,
  ctx: ProviderContext,
  req: RegisterVersionRequest,
): Promise<Response & { version?: ObservedVersion }> {
  const address = addressOf(req.model);
  const name = modelResourceName(gcp, ctx.stack, req.model);
  const run = req.run;
  const runFilter = `labels.${LABEL.runName}="${labelValue(run.name)}" AND labels.${LABEL.runNumber}="${run.number}"`;
  const lookUp = async (): Promise<{ exists: boolean; version?: ObservedVersion }> => {
    try {
      const found = (await listVersions(gcp, name, runFilter)).map(versionOf).find((v) => v !== undefined);
      return { exists: true, ...(found && { version: found }) };
    } catch (e) {
      if (isKind(e, 'not-found')) return { exists: false };
      throw e;
    }
  };
  try {
    if (!run.artifactUri) {
      return {
        diagnostics: [
          error('gcp-run-without-artifact', `${run.name}#${run.number} has no artifact`, { address }),
        ],
      };
    }
    const before = await lookUp();
    if (before.version) return { version: before.version, diagnostics: [] };
    const record = await gcp.gcs.readIfExists(gcp.layout(ctx.stack).model(req.model));
    const modelSpecHash = record
      ? ((JSON.parse(record.data.toString('utf8')) as { specHash?: string }).specHash ?? '')
      : '';
    const lineage: Lineage = {
      specHash: run.specHash,
      metrics: run.metrics ?? {},
      baseline: run.baseline ?? {},
      ...(run.dataSha256 !== undefined && { dataSha256: run.dataSha256 }),
      ...(run.gitCommit !== undefined && { gitCommit: run.gitCommit }),
    };
    const model: Model = {
      displayName: req.model,
      description: `mlform RegisteredModel ${req.model} of stack ${ctx.stack}`,
      versionDescription: `${LINEAGE_PREFIX}${JSON.stringify(lineage)}`,
      artifactUri: run.artifactUri,
      containerSpec: {
        imageUri: gcp.settings.servingImage,
        env: [
          { name: 'MODEL_URI', value: run.artifactUri },
          { name: 'MODEL_NAME', value: req.model },
        ],
        ports: [{ containerPort: 8080 }],
        predictRoute: `/v1/models/${req.model}:predict`,
        healthRoute: '/v2/health/ready',
      },
      labels: {
        ...ownershipLabels(ctx.stack, 'RegisteredModel', req.model, modelSpecHash || run.specHash),
        [LABEL.runName]: labelValue(run.name),
        [LABEL.runNumber]: String(run.number),
        ...sanitizeLabels(metricLabels(run.metrics ?? {})),
      },
    };
    const upload = async (first: boolean) => {
      const [op] = await gcp.call(
        'aiplatform',
        'UploadModel',
        (opts) =>
          gcp.clients.models.uploadModel(
            {
              parent: parentOf(gcp.settings.project, gcp.settings.region),
              ...(first ? { modelId: modelId(ctx.stack, req.model) } : { parentModel: name }),
              model,
            },
            opts,
          ),
        { maxAttempts: 1 },
      );
      return awaitOperation(gcp.call, 'aiplatform', 'UploadModel', op, (n) =>
        gcp.clients.models.checkUploadModelProgress(n),
      );
    };
    const policy = gcp.call.policy;
    let first = !before.exists;
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await upload(first);
        const version = Number(response.modelVersionId);
        ctx.log?.(`registered ${req.model} v${version} from ${run.name}#${run.number}`);
        const after = await lookUp();
        return {
          version: after.version ?? {
            version,
            run: { name: run.name, number: run.number },
            specHash: run.specHash,
            artifactUri: run.artifactUri,
            metrics: lineage.metrics,
            baseline: lineage.baseline,
            createdAt: gcp.settings.now().toISOString(),
          },
          diagnostics: [],
        };
      } catch (e) {
        if (isKind(e, 'already-exists') && first) {
          first = false; // another registration created the model first
          continue;
        }
        if (!isKind(e, 'rate-limited', 'unavailable', 'timeout', 'internal') || attempt >= policy.maxAttempts)
          throw e;
        await policy.sleep(
          Math.floor(policy.random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1))),
          ctx.signal,
        );
        const again = await lookUp();
        if (again.version) return { version: again.version, diagnostics: [] };
        first = !again.exists;
      }
    }
  } catch (e) {
    return { diagnostics: [callDiagnostic(address, `registering ${run.name}#${run.number}`, e)] };
  }
}

/** Key metrics as labels (`metric-val_mae: 2_8731`): label values cannot hold dots. */
function metricLabels(metrics: Record<string, number>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(metrics).slice(0, 8)) {
    out[`metric-${k}`] = Number(v.toPrecision(6)).toString().replace('.', '_').replace('-', 'm');
  }
  return out;
}

export async function moveAlias(gcp: Gcp, ctx: ProviderContext, req: MoveAliasRequest): Promise<Response> {
  const name = `${modelResourceName(gcp, ctx.stack, req.model)}@${req.version}`;
  try {
    await gcp.call('aiplatform', 'MergeVersionAliases', (opts) =>
      gcp.clients.models.mergeVersionAliases({ name, versionAliases: [req.alias] }, opts),
    );
    return { diagnostics: [] };
  } catch (e) {
    return {
      diagnostics: [callDiagnostic(addressOf(req.model), `moving alias ${req.alias} to v${req.version}`, e)],
    };
  }
}

export async function deleteVersion(
  gcp: Gcp,
  ctx: ProviderContext,
  req: { model: string; version: number },
): Promise<Response> {
  const address = addressOf(req.model);
  const base = modelResourceName(gcp, ctx.stack, req.model);
  try {
    const versions = await listVersions(gcp, base);
    const target = versions.find((v) => Number(v.versionId) === req.version);
    if (!target) return { diagnostics: [] };
    const aliases = (target.versionAliases ?? []).filter((a) => a !== DEFAULT_ALIAS);
    if (aliases.length > 0) {
      return {
        diagnostics: [
          error(
            'gcp-version-in-use',
            `${req.model} v${req.version} is still used by alias ${aliases.join(', ')}`,
            {
              address,
              hint: 'move the alias to another version first',
            },
          ),
        ],
      };
    }
    if ((target.versionAliases ?? []).includes(DEFAULT_ALIAS)) {
      // Vertex AI refuses to delete the default version: make the newest other version the default.
      const other = versions
        .filter((v) => v !== target)
        .sort((a, b) => Number(b.versionId) - Number(a.versionId))[0];
      if (!other) {
        // The last version: Vertex AI has no model without one; the record in GCS stays.
        await deleteVertexModel(gcp, base);
        return { diagnostics: [] };
      }
      const otherName = `${base}@${other.versionId}`;
      await gcp.call('aiplatform', 'MergeVersionAliases', (opts) =>
        gcp.clients.models.mergeVersionAliases({ name: otherName, versionAliases: [DEFAULT_ALIAS] }, opts),
      );
    }
    const name = `${base}@${req.version}`;
    const [op] = await gcp.call('aiplatform', 'DeleteModelVersion', (opts) =>
      gcp.clients.models.deleteModelVersion({ name }, opts),
    );
    await awaitOperation(gcp.call, 'aiplatform', 'DeleteModelVersion', op, (n) =>
      gcp.clients.models.checkDeleteModelVersionProgress(n),
    );
    return { diagnostics: [] };
  } catch (e) {
    if (isKind(e, 'not-found')) return { diagnostics: [] };
    return { diagnostics: [callDiagnostic(address, `deleting v${req.version}`, e)] };
  }
}
