/** Vertex AI ModelService: models with versions and aliases; uploads/deletes are LROs. */
import type { FakeEnv } from './env.js';
import { opDelay } from './env.js';
import { ApiError, arr, deepClone, notFound, nowIso, rec, str, type HandlerContext } from './http.js';
import { matchFilter, page, parseFilter } from './list.js';
import { PL, SEG, type Route } from './router.js';

const MODEL = 'google.cloud.aiplatform.v1.Model';
const ALIAS_RE = /^[a-z][a-zA-Z0-9-]{0,126}[a-z0-9]$/;

interface ModelRecord {
  /** `projects/P/locations/L/models/ID` */
  name: string;
  versions: Map<string, Record<string, unknown>>;
  nextVersion: number;
  /**
   * The model-level `updateTime` (epoch ms) reported on every version: bumped by every new version,
   * deleted version, alias change and UpdateModel, strictly increasing (README "Models").
   */
  updateMs: number;
}

/** Model fields UpdateModel may change (`update_mask` paths, camelCase). */
const UPDATABLE = ['displayName', 'description', 'versionDescription', 'labels'];

export class VertexModels {
  private readonly models = new Map<string, ModelRecord>();
  private counter = 0;

  constructor(private readonly env: FakeEnv) {}

  routes(): Route[] {
    const M = `(?<name>${PL}/models/${SEG})`;
    return [
      {
        method: 'POST',
        pattern: new RegExp(`^/v1/${PL}/models:upload$`),
        api: 'aiplatform',
        rpc: 'UploadModel',
        handler: (c) => ({ json: this.upload(c) }),
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/v1/${PL}/models$`),
        api: 'aiplatform',
        rpc: 'ListModels',
        handler: (c) => ({ json: this.list(c) }),
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/v1/${M}:listVersions$`),
        api: 'aiplatform',
        rpc: 'ListModelVersions',
        handler: (c) => ({ json: this.listVersions(c) }),
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/v1/${M}$`),
        api: 'aiplatform',
        rpc: 'GetModel',
        handler: (c) => ({ json: this.view(this.resolve(c.params.name ?? '').version) }),
      },
      {
        method: 'PATCH',
        pattern: new RegExp(`^/v1/${M}$`),
        api: 'aiplatform',
        rpc: 'UpdateModel',
        handler: (c) => ({ json: this.update(c) }),
      },
      {
        method: 'POST',
        pattern: new RegExp(`^/v1/${M}:mergeVersionAliases$`),
        api: 'aiplatform',
        rpc: 'MergeVersionAliases',
        handler: (c) => ({ json: this.merge(c) }),
      },
      {
        method: 'DELETE',
        pattern: new RegExp(`^/v1/${M}:deleteVersion$`),
        api: 'aiplatform',
        rpc: 'DeleteModelVersion',
        handler: (c) => ({ json: this.deleteVersion(c) }),
      },
      {
        method: 'DELETE',
        pattern: new RegExp(`^/v1/${M}$`),
        api: 'aiplatform',
        rpc: 'DeleteModel',
        handler: (c) => ({ json: this.deleteModel(c) }),
      },
    ];
  }

  private view(v: Record<string, unknown>): Record<string, unknown> {
    return this.env.out('aiplatform', MODEL, deepClone(v));
  }

  /** Resolves `models/ID`, `models/ID@3`, `models/ID@alias`. */
  private resolve(full: string): { model: ModelRecord; version: Record<string, unknown>; versionId: string } {
    const [base = '', ref] = full.split('@');
    const model = this.models.get(base);
    if (!model) throw notFound(`Model ${full}`);
    let versionId: string | undefined;
    if (ref === undefined || ref === '') {
      versionId = this.defaultVersion(model);
    } else if (/^\d+$/.test(ref)) {
      versionId = model.versions.has(ref) ? ref : undefined;
    } else {
      versionId = [...model.versions.entries()].find(([, v]) => arr(v.versionAliases).includes(ref))?.[0];
    }
    const version = versionId ? model.versions.get(versionId) : undefined;
    if (!versionId || !version) throw notFound(`Model ${full}`);
    return { model, version, versionId };
  }

  private defaultVersion(model: ModelRecord): string | undefined {
    for (const [id, v] of model.versions) if (arr(v.versionAliases).includes('default')) return id;
    return model.versions.keys().next().value;
  }

  private checkAliases(aliases: unknown[]): void {
    for (const a of aliases) {
      const s = String(a).replace(/^-/, '');
      if (!ALIAS_RE.test(s) || /^\d+$/.test(s)) {
        throw new ApiError(
          'INVALID_ARGUMENT',
          `Invalid version alias "${String(a)}": must match [a-z][a-zA-Z0-9-]{0,126}[a-z0-9].`,
        );
      }
    }
  }

  /**
   * Puts `aliases` on version `vid`, taking them away from other versions; returns the ids of the
   * other versions that lost one (their `versionUpdateTime` changes too).
   */
  private assignAliases(model: ModelRecord, vid: string, aliases: string[]): string[] {
    const touched: string[] = [];
    for (const [id, v] of model.versions) {
      if (id === vid) continue;
      const kept = arr(v.versionAliases).filter((a) => !aliases.includes(String(a)));
      if (kept.length !== arr(v.versionAliases).length) {
        v.versionAliases = kept;
        touched.push(id);
      }
    }
    const v = model.versions.get(vid);
    if (v) v.versionAliases = [...new Set([...arr(v.versionAliases).map(String), ...aliases])];
    return touched;
  }

  /**
   * A change to `model`: the model-level `updateTime` of every version moves (strictly later than
   * the last one, also within one millisecond) and `versionUpdateTime` of the versions `touched`.
   */
  private bump(model: ModelRecord, touched: string[]): string {
    model.updateMs = Math.max(Date.now(), model.updateMs + 1);
    const iso = new Date(model.updateMs).toISOString();
    for (const [id, v] of model.versions) {
      v.updateTime = iso;
      if (touched.includes(id)) v.versionUpdateTime = iso;
    }
    return iso;
  }

  private upload(ctx: HandlerContext): Record<string, unknown> {
    const body = this.env.body(ctx, 'aiplatform', 'google.cloud.aiplatform.v1.UploadModelRequest', '');
    const { project = '', location = '' } = ctx.params;
    const m = rec(body.model);
    if (!str(m.displayName)) {
      throw new ApiError(
        'INVALID_ARGUMENT',
        'List of found errors:\t1.Field: model.display_name; Message: Required field is not set.\t',
      );
    }
    const aliases = arr(m.versionAliases).map(String);
    this.checkAliases(aliases);
    const parentModel = str(body.parentModel);
    let model: ModelRecord;
    if (parentModel) {
      const found = this.models.get(parentModel.split('@')[0] ?? '');
      if (!found) throw notFound(`Model ${parentModel}`);
      model = found;
    } else {
      const requested = str(body.modelId);
      // Vertex: up to 63 of [a-z0-9_-], the first not a digit or hyphen.
      if (requested && !/^[a-z_][a-z0-9_-]{0,62}$/.test(requested)) {
        throw new ApiError('INVALID_ARGUMENT', `Invalid model_id "${requested}".`);
      }
      this.counter += 1;
      const id = requested || String(3000000000000000000n + BigInt(this.counter));
      const name = `projects/${project}/locations/${location}/models/${id}`;
      if (this.models.has(name)) throw new ApiError('ALREADY_EXISTS', `Model ${name} already exists.`);
      model = { name, versions: new Map(), nextVersion: 1, updateMs: 0 };
      this.models.set(name, model);
    }
    const vid = String(model.nextVersion);
    model.nextVersion += 1;
    const now = new Date(Math.max(Date.now(), model.updateMs + 1)).toISOString();
    const first = model.versions.size === 0;
    const version: Record<string, unknown> = {
      ...m,
      name: model.name,
      versionId: vid,
      versionAliases: [],
      createTime: first ? now : String(model.versions.values().next().value?.createTime ?? now),
      updateTime: now,
      versionCreateTime: now,
      versionUpdateTime: now,
      etag: `"${vid}-${Date.now().toString(36)}"`,
    };
    model.versions.set(vid, version);
    const moved = this.assignAliases(
      model,
      vid,
      first && !aliases.includes('default') ? ['default', ...aliases] : aliases,
    );
    this.bump(model, [vid, ...moved]);
    const prefix = model.name;
    return this.env.ops.start(
      prefix,
      () => ({
        response: {
          '@type': 'type.googleapis.com/google.cloud.aiplatform.v1.UploadModelResponse',
          model: model.name,
          modelVersionId: vid,
        },
      }),
      {
        delayMs: opDelay(this.env.options),
        metadata: {
          '@type': 'type.googleapis.com/google.cloud.aiplatform.v1.UploadModelOperationMetadata',
          genericMetadata: { createTime: now, updateTime: now },
        },
      },
    ) as unknown as Record<string, unknown>;
  }

  private list(ctx: HandlerContext): Record<string, unknown> {
    const { project = '', location = '' } = ctx.params;
    const terms = parseFilter(ctx.query.get('filter'));
    const prefix = `projects/${project}/locations/${location}/models/`;
    const items: Record<string, unknown>[] = [];
    for (const m of this.models.values()) {
      if (!m.name.startsWith(prefix)) continue;
      const vid = this.defaultVersion(m);
      const v = vid ? m.versions.get(vid) : undefined;
      if (v && matchFilter(terms, v)) items.push(v);
    }
    const p = page(items, ctx.query, this.env.pageOpts());
    const out: Record<string, unknown> = { models: p.items.map((v) => this.view(v)) };
    if (p.nextPageToken) out.nextPageToken = p.nextPageToken;
    return out;
  }

  private listVersions(ctx: HandlerContext): Record<string, unknown> {
    const name = ctx.params.name ?? '';
    const model = this.models.get(name);
    if (!model) throw notFound(`Model ${name}`);
    const terms = parseFilter(ctx.query.get('filter'));
    const items = [...model.versions.values()].filter((v) => matchFilter(terms, v));
    const p = page(items, ctx.query, this.env.pageOpts());
    const out: Record<string, unknown> = { models: p.items.map((v) => this.view(v)) };
    if (p.nextPageToken) out.nextPageToken = p.nextPageToken;
    return out;
  }

  private merge(ctx: HandlerContext): Record<string, unknown> {
    const body = this.env.body(
      ctx,
      'aiplatform',
      'google.cloud.aiplatform.v1.MergeVersionAliasesRequest',
      '',
    );
    const { model, version, versionId } = this.resolve(ctx.params.name ?? '');
    const aliases = arr(body.versionAliases).map(String);
    if (aliases.length === 0) {
      throw new ApiError(
        'INVALID_ARGUMENT',
        'List of found errors:\t1.Field: version_aliases; Message: Required field is not set.\t',
      );
    }
    this.checkAliases(aliases);
    const add = aliases.filter((a) => !a.startsWith('-'));
    const remove = aliases.filter((a) => a.startsWith('-')).map((a) => a.slice(1));
    if (remove.includes('default')) {
      throw new ApiError(
        'INVALID_ARGUMENT',
        'The default version alias cannot be removed; move it to another version instead.',
      );
    }
    version.versionAliases = arr(version.versionAliases).filter((a) => !remove.includes(String(a)));
    const moved = this.assignAliases(model, versionId, add);
    this.bump(model, [versionId, ...moved]);
    return this.view(version);
  }

  /** UpdateModel (PATCH `models/ID[@V]?updateMask=...`): the fields in the mask, on that version. */
  private update(ctx: HandlerContext): Record<string, unknown> {
    const body = this.env.body(ctx, 'aiplatform', MODEL, 'model');
    const { model, version, versionId } = this.resolve(ctx.params.name ?? '');
    const paths = (ctx.query.get('updateMask') ?? '')
      .split(',')
      .map((p) => p.trim().replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()))
      .filter(Boolean);
    if (paths.length === 0) {
      throw new ApiError(
        'INVALID_ARGUMENT',
        'List of found errors:\t1.Field: update_mask; Message: Required field is not set.\t',
      );
    }
    for (const path of paths) {
      if (!UPDATABLE.includes(path))
        throw new ApiError('INVALID_ARGUMENT', `Invalid update_mask path: ${path}`);
    }
    for (const path of paths) {
      if (body[path] === undefined) delete version[path];
      else version[path] = deepClone(body[path]);
    }
    this.bump(model, [versionId]);
    return this.view(version);
  }

  private deleteVersion(ctx: HandlerContext): Record<string, unknown> {
    const full = ctx.params.name ?? '';
    if (!full.includes('@')) {
      throw new ApiError('INVALID_ARGUMENT', `Model version must be specified as ${full}@<version_id>.`);
    }
    const { model, version, versionId } = this.resolve(full);
    const aliases = arr(version.versionAliases);
    if (aliases.length > 0) {
      throw new ApiError(
        'FAILED_PRECONDITION',
        `Model version ${model.name}@${versionId} has version aliases [${aliases.join(', ')}] and cannot be deleted. Remove the aliases first.`,
      );
    }
    model.versions.delete(versionId);
    this.bump(model, []);
    return this.deleteOp(ctx);
  }

  private deleteModel(ctx: HandlerContext): Record<string, unknown> {
    const name = ctx.params.name ?? '';
    if (!this.models.has(name)) throw notFound(`Model ${name}`);
    this.models.delete(name);
    return this.deleteOp(ctx);
  }

  private deleteOp(ctx: HandlerContext): Record<string, unknown> {
    return this.env.vertexOperation(
      `projects/${ctx.params.project ?? ''}/locations/${ctx.params.location ?? ''}`,
      'DeleteOperationMetadata',
      () => ({ response: { '@type': 'type.googleapis.com/google.protobuf.Empty' } }),
    );
  }

  /** Every version of every model (a flat list). */
  all(): Record<string, unknown>[] {
    return [...this.models.values()].flatMap((m) => [...m.versions.values()].map((v) => deepClone(v)));
  }

  seed(s: {
    project?: string;
    location?: string;
    modelId?: string;
    displayName: string;
    labels?: Record<string, string>;
    versionAliases?: string[];
    parentModel?: string;
    artifactUri?: string;
  }): Record<string, unknown> {
    const now = nowIso();
    let model: ModelRecord | undefined = s.parentModel ? this.models.get(s.parentModel) : undefined;
    if (!model) {
      this.counter += 1;
      const id = s.modelId ?? String(3000000000000000000n + BigInt(this.counter));
      const name = `projects/${s.project ?? 'test-project'}/locations/${s.location ?? 'us-central1'}/models/${id}`;
      model = { name, versions: new Map(), nextVersion: 1, updateMs: 0 };
      this.models.set(name, model);
    }
    const vid = String(model.nextVersion);
    model.nextVersion += 1;
    const first = model.versions.size === 0;
    const v: Record<string, unknown> = {
      name: model.name,
      displayName: s.displayName,
      labels: s.labels ?? {},
      versionId: vid,
      versionAliases: [],
      createTime: now,
      updateTime: now,
      versionCreateTime: now,
      versionUpdateTime: now,
      ...(s.artifactUri ? { artifactUri: s.artifactUri } : {}),
    };
    model.versions.set(vid, v);
    const aliases = s.versionAliases ?? [];
    const moved = this.assignAliases(
      model,
      vid,
      first && !aliases.includes('default') ? ['default', ...aliases] : aliases,
    );
    this.bump(model, [vid, ...moved]);
    return deepClone(v);
  }
}
