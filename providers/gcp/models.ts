/**
 * RegisteredModels in the Vertex AI Model Registry (README.md "Models"). The model's own record
 * (spec, spec hash, annotations) is a GCS object `<stack>/models/<name>.json` with the small
 * fields in custom metadata, because a Vertex model cannot exist without a version. Observation:
 * one GCS list + one paged ListModels; a model's versions come from its snapshot (model-snapshot.ts)
 * while the model-level `updateTime` is unchanged, else from one paged ListModelVersions for that
 * model (Vertex AI has no call that lists the versions of all models).
 */
import type { protos } from '@google-cloud/aiplatform';
import { registeredModelAddress, runRef } from '../../resources/address.js';
import { error, warning, type Diagnostic } from '../../resources/diagnostic.js';
import type { RegisteredModelSpec } from '../../resources/registered-model.js';
import {
  IMPORTED_RUN,
  ownershipLabels,
  type MoveAliasRequest,
  type ObservedModel,
  type ObservedRun,
  type ObservedVersion,
  type ProviderContext,
  type PutModelRequest,
  type RegisterVersionRequest,
  type Response,
} from '../provider.js';
import { awaitOperation, callDiagnostic, isKind } from './call.js';
import { isoOf, listAll, type Gcp } from './context.js';
import { sanitizeLabels } from './jobs.js';
import { LABEL, labelValue, legacyModelId, modelId, parentOf } from './names.js';
import { notOwned, ownerOfLabels, sameOwner, type Owner } from './ownership.js';
import { adoptedModelOf, adoptedNameOf, readAdoptedModel, removeAdoptedModel } from './import-records.js';
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

const DEFAULT_ALIAS = 'default';

export const modelResourceName = (gcp: Gcp, stack: string, name: string) =>
  `${parentOf(gcp.settings.project, gcp.settings.region)}/models/${modelId(stack, name)}`;

const legacyResourceName = (gcp: Gcp, stack: string, name: string) =>
  `${parentOf(gcp.settings.project, gcp.settings.region)}/models/${legacyModelId(stack, name)}`;

const modelOwner = (stack: string, name: string): Owner => ({ stack, kind: 'registeredmodel', name });
const idOf = (resource: string) => resource.split('@')[0].split('/').pop() ?? '';

/** A version (or a model's default version) is ours when its labels name this stack and model. */
const ownedBy = (m: Model, stack: string, name: string) =>
  sameOwner(ownerOfLabels(m.labels), modelOwner(stack, name));

/** GetModel (its default version, or `<model>@<version>`), undefined when there is none. */
export async function getModel(gcp: Gcp, name: string): Promise<Model | undefined> {
  try {
    const [model] = await gcp.call('aiplatform', 'GetModel', (opts) =>
      gcp.clients.models.getModel({ name }, opts),
    );
    return model;
  } catch (e) {
    if (isKind(e, 'not-found')) return undefined;
    throw e;
  }
}

/**
 * The Vertex model of RegisteredModel `name`: under `mlform-<stack>_<name>` when ours, else the
 * one a release before issue 18 created under `mlform-<stack>-<name>`, adopted when its labels
 * name this stack and model (it keeps that id: its versions and numbering are its history).
 * `foreign` is a model under the new id that is not ours; it is never touched.
 */
async function findModel(
  gcp: Gcp,
  stack: string,
  name: string,
): Promise<{ resource?: string; foreign?: { resource: string; model: Model } }> {
  const current = modelResourceName(gcp, stack, name);
  const model = await getModel(gcp, current);
  if (model && ownedBy(model, stack, name)) return { resource: current };
  const legacy = legacyResourceName(gcp, stack, name);
  // Imported (`import:`) under its own id, else created under the legacy one.
  const other = (await readAdoptedModel(gcp, stack, name)) ?? legacy;
  const adopted = other !== current ? await getModel(gcp, other) : undefined;
  return {
    ...(adopted && ownedBy(adopted, stack, name) && { resource: other }),
    ...(model && { foreign: { resource: current, model } }),
  };
}

const foreignModel = (
  address: string,
  found: { resource: string; model: Model },
  stack: string,
  name: string,
) =>
  notOwned(
    address,
    `Vertex AI model ${found.resource}`,
    ownerOfLabels(found.model.labels),
    modelOwner(stack, name),
  );

/** `gcp-not-owned` for versions of a model that carry another owner's labels (left untouched). */
const foreignVersions = (address: string, resource: string, versions: Model[], stack: string, name: string) =>
  notOwned(
    address,
    `Vertex AI model ${resource} (version ${versions.map((v) => v.versionId ?? '?').join(', ')})`,
    ownerOfLabels(versions[0]?.labels),
    modelOwner(stack, name),
  );

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

export function versionOf(m: Model): ObservedVersion | undefined {
  const labels = m.labels ?? {};
  const lineage = lineageOf(m);
  const version = Number(m.versionId);
  if (!lineage && labels[LABEL.imported] === 'true' && Number.isInteger(version) && version > 0)
    return importedVersion(m, version);
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

/** A version made outside mlform (adopted, or listed by `mlform import`): no run, no metrics. */
export function importedVersion(m: Model, version: number): ObservedVersion {
  return {
    version,
    run: { name: IMPORTED_RUN, number: version },
    specHash: '',
    artifactUri: m.artifactUri ?? '',
    metrics: {},
    baseline: {},
    createdAt: isoOf(m.versionCreateTime) ?? isoOf(m.createTime) ?? new Date(0).toISOString(),
  };
}

export async function listVersions(gcp: Gcp, name: string, filter?: string): Promise<Model[]> {
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
  stack: string,
  name: string,
): Promise<{ versions: ObservedVersion[]; aliases: Record<string, number> }> {
  const versions: ObservedVersion[] = [];
  const aliases: Record<string, number> = {};
  for (const v of await listVersions(gcp, base)) {
    // A model two stacks shared under the legacy names holds both stacks' versions.
    if (!ownedBy(v, stack, name)) continue;
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
    const prefix = layout.modelPrefix.replace(/^gs:\/\/[^/]+\//, '');
    // Models adopted under their own ids (`import:`): name -> resource.
    const adoptedIds = new Map<string, string>();
    for (const object of records) {
      const name = adoptedNameOf(object.name.slice(prefix.length));
      const resource = name && adoptedModelOf(gcp, object.metadata);
      if (name && resource) adoptedIds.set(name, resource);
    }
    // Ours: labelled with this stack, kind and name, under the id mlform derives from them (or
    // the one it was adopted with, or the legacy one); the new id wins when both exist.
    const vertex = new Map<string, Model>();
    for (const m of models) {
      const name = m.labels?.[LABEL.name];
      if (!name || !ownedBy(m, ctx.stack, name)) continue;
      const id = idOf(m.name ?? '');
      if (id === modelId(ctx.stack, name)) vertex.set(name, m);
      else if (m.name?.split('@')[0] === adoptedIds.get(name) && !vertex.has(name)) vertex.set(name, m);
      else if (id === legacyModelId(ctx.stack, name) && !vertex.has(name)) vertex.set(name, m);
    }
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
      const observed = await observeVersions(gcp, base, ctx.stack, name);
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
              `the record of ${registeredModelAddress(name)} (${object.uri}) is damaged; left out`,
              {
                address: registeredModelAddress(name),
              },
            ),
          );
          return undefined;
        }
        const model = vertex.get(name);
        // An adoption cut short (its record written, its labels not all): not the stack's yet, so
        // the `import:` entry adopts it again.
        if (adoptedIds.has(name) && !model) return undefined;
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
            `${registeredModelAddress(name)} exists in the Model Registry but its record ${layout.model(name)} is missing`,
            {
              address: registeredModelAddress(name),
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
      ctx.log?.(
        `${registeredModelAddress(name)}: version snapshot too large for object metadata; listing its versions`,
      );
      if (exists) await gcp.gcs.remove(uri);
      return;
    }
    await gcp.gcs.write(uri, JSON.stringify({ model: name, tag: snapshot.tag }), {
      metadata: { [SNAPSHOT_KEY]: value },
    });
  } catch (e) {
    ctx.log?.(`${registeredModelAddress(name)}: could not write the version snapshot ${uri}: ${String(e)}`);
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
    return {
      diagnostics: [callDiagnostic(registeredModelAddress(req.name), `writing the record ${uri}`, e)],
    };
  }
}

/**
 * Deletes the Vertex AI model with all its versions (the default version goes last, with the
 * model), or nothing when a version carries another owner's labels (a model two stacks shared
 * under the legacy names): that is `gcp-not-owned`.
 */
async function deleteVertexModel(
  gcp: Gcp,
  address: string,
  name: string,
  stack: string,
  model: string,
): Promise<Diagnostic | undefined> {
  try {
    const versions = await listVersions(gcp, name);
    const foreign = versions.filter((v) => !ownedBy(v, stack, model));
    if (foreign.length > 0) return foreignVersions(address, name, foreign, stack, model);
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
    return undefined;
  } catch (e) {
    if (!isKind(e, 'not-found')) throw e;
    return undefined;
  }
}

export async function deleteModel(gcp: Gcp, ctx: ProviderContext, req: { name: string }): Promise<Response> {
  const address = registeredModelAddress(req.name);
  try {
    const found = await findModel(gcp, ctx.stack, req.name);
    if (found.resource) {
      const refused = await deleteVertexModel(gcp, address, found.resource, ctx.stack, req.name);
      if (refused) return { diagnostics: [refused] };
    }
    // The stack's own record goes even when a foreign model holds the new id: that model is
    // reported, never deleted.
    const layout = gcp.layout(ctx.stack);
    await gcp.gcs.remove(snapshotUri(layout.modelPrefix, req.name));
    await removeAdoptedModel(gcp, ctx.stack, req.name);
    await gcp.gcs.remove(layout.model(req.name));
    return {
      diagnostics:
        found.foreign && !found.resource ? [foreignModel(address, found.foreign, ctx.stack, req.name)] : [],
    };
  } catch (e) {
    return { diagnostics: [callDiagnostic(address, `deleting ${req.name}`, e)] };
  }
}

/** The UploadModel body of a run's version: its artifact, serving container, lineage and labels. */
async function versionBody(
  gcp: Gcp,
  ctx: ProviderContext,
  modelName: string,
  run: ObservedRun,
  artifactUri: string,
): Promise<{ model: Model; lineage: Lineage }> {
  const record = await gcp.gcs.readIfExists(gcp.layout(ctx.stack).model(modelName));
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
    displayName: modelName,
    description: `mlform RegisteredModel ${modelName} of stack ${ctx.stack}`,
    versionDescription: `${LINEAGE_PREFIX}${JSON.stringify(lineage)}`,
    artifactUri,
    containerSpec: {
      imageUri: gcp.settings.servingImage,
      env: [
        { name: 'MODEL_URI', value: artifactUri },
        { name: 'MODEL_NAME', value: modelName },
      ],
      ports: [{ containerPort: 8080 }],
      predictRoute: `/v1/models/${modelName}:predict`,
      healthRoute: '/v2/health/ready',
    },
    labels: {
      ...ownershipLabels(ctx.stack, 'RegisteredModel', modelName, modelSpecHash || run.specHash),
      [LABEL.runName]: labelValue(run.name),
      [LABEL.runNumber]: String(run.number),
      ...sanitizeLabels(metricLabels(run.metrics ?? {})),
    },
  };
  return { model, lineage };
}

/** How an upload ended: a new version, the version a lost attempt made, or a foreign model. */
type Uploaded = { registered: number } | { found: ObservedVersion } | { refused: Diagnostic };

export async function registerVersion(
  gcp: Gcp,
  ctx: ProviderContext,
  req: RegisterVersionRequest,
): Promise<Response & { version?: ObservedVersion }> {
  const address = registeredModelAddress(req.model);
  let name = modelResourceName(gcp, ctx.stack, req.model);
  const run = req.run;
  const runFilter = [
    `labels.${LABEL.stack}="${ctx.stack}"`,
    `labels.${LABEL.name}="${req.model}"`,
    `labels.${LABEL.runName}="${labelValue(run.name)}"`,
    `labels.${LABEL.runNumber}="${run.number}"`,
  ].join(' AND ');
  /** Where versions go: our model (new or adopted), or a refusal naming a foreign one. */
  const locate = async (): Promise<{ exists: boolean; refused?: Diagnostic }> => {
    const found = await findModel(gcp, ctx.stack, req.model);
    if (found.resource) name = found.resource;
    else if (found.foreign)
      return { exists: true, refused: foreignModel(address, found.foreign, ctx.stack, req.model) };
    return { exists: found.resource !== undefined };
  };
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
        diagnostics: [error('gcp-run-without-artifact', `${runRef(run)} has no artifact`, { address })],
      };
    }
    const located = await locate();
    if (located.refused) return { diagnostics: [located.refused] };
    const before = located.exists ? await lookUp() : { exists: false };
    if (before.version) return { version: before.version, diagnostics: [] };
    const { model, lineage } = await versionBody(gcp, ctx, req.model, run, run.artifactUri);
    let first = !before.exists;
    /** One upload (the request and its operation), retried; a lost response is looked up first. */
    const upload = (): Promise<Uploaded> =>
      gcp.call(
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
        {
          signal: ctx.signal,
          complete: async ([op]): Promise<Uploaded> => {
            const response = await awaitOperation(gcp.call, 'aiplatform', 'UploadModel', op, (n) =>
              gcp.clients.models.checkUploadModelProgress(n),
            );
            return { registered: Number(response.modelVersionId) };
          },
          lookUpAfterFailure: async (): Promise<Uploaded | undefined> => {
            const where = await locate();
            if (where.refused) return { refused: where.refused };
            const again = where.exists ? await lookUp() : { exists: false };
            if (again.version) return { found: again.version };
            first = !where.exists;
            return undefined;
          },
        },
      );
    /** Another registration may create the model first, or someone else hold the id: look again. */
    const uploadToModel = async (): Promise<Uploaded> => {
      try {
        return await upload();
      } catch (e) {
        if (!isKind(e, 'already-exists') || !first) throw e;
        const again = await locate();
        if (again.refused) return { refused: again.refused };
        first = !again.exists;
        return uploadToModel();
      }
    };
    const uploaded = await uploadToModel();
    if ('refused' in uploaded) return { diagnostics: [uploaded.refused] };
    if ('found' in uploaded) return { version: uploaded.found, diagnostics: [] };
    const version = uploaded.registered;
    ctx.log?.(`registered ${req.model} v${version} from ${runRef(run)}`);
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
    return { diagnostics: [callDiagnostic(address, `registering ${runRef(run)}`, e)] };
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
  const address = registeredModelAddress(req.model);
  try {
    const found = await findModel(gcp, ctx.stack, req.model);
    if (!found.resource && found.foreign)
      return { diagnostics: [foreignModel(address, found.foreign, ctx.stack, req.model)] };
    // No model at all: the merge below fails with Vertex AI's own not-found.
    const base = found.resource ?? modelResourceName(gcp, ctx.stack, req.model);
    const name = `${base}@${req.version}`;
    const version = found.resource ? await getModel(gcp, name) : undefined;
    if (version && !ownedBy(version, ctx.stack, req.model))
      return { diagnostics: [foreignVersions(address, base, [version], ctx.stack, req.model)] };
    await gcp.call('aiplatform', 'MergeVersionAliases', (opts) =>
      gcp.clients.models.mergeVersionAliases({ name, versionAliases: [req.alias] }, opts),
    );
    return { diagnostics: [] };
  } catch (e) {
    return {
      diagnostics: [callDiagnostic(address, `moving alias ${req.alias} to v${req.version}`, e)],
    };
  }
}

export async function deleteVersion(
  gcp: Gcp,
  ctx: ProviderContext,
  req: { model: string; version: number },
): Promise<Response> {
  const address = registeredModelAddress(req.model);
  try {
    const found = await findModel(gcp, ctx.stack, req.model);
    if (!found.resource) {
      return {
        diagnostics: found.foreign ? [foreignModel(address, found.foreign, ctx.stack, req.model)] : [],
      };
    }
    const base = found.resource;
    const versions = await listVersions(gcp, base);
    const target = versions.find((v) => Number(v.versionId) === req.version);
    if (!target) return { diagnostics: [] };
    if (!ownedBy(target, ctx.stack, req.model))
      return { diagnostics: [foreignVersions(address, base, [target], ctx.stack, req.model)] };
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
      // Vertex AI refuses to delete the default version: make the newest other version of ours
      // the default.
      const other = versions
        .filter((v) => v !== target && ownedBy(v, ctx.stack, req.model))
        .sort((a, b) => Number(b.versionId) - Number(a.versionId))[0];
      if (!other) {
        // The last version: Vertex AI has no model without one; the record in GCS stays.
        const refused = await deleteVertexModel(gcp, address, base, ctx.stack, req.model);
        return { diagnostics: refused ? [refused] : [] };
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
