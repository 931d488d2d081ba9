/** Cloud Storage JSON API subset: objects (media/multipart/resumable upload, get, list, patch, delete). */
import { createHash, randomUUID } from 'node:crypto';
import { CRC32C } from '@google-cloud/storage';
import type { FakeEnv } from './env.js';
import {
  ApiError,
  isRecord,
  parseJsonBody,
  rec,
  str,
  type HandlerContext,
  type HandlerResult,
} from './http.js';
import type { Route } from './router.js';

export interface StoredObject {
  bucket: string;
  name: string;
  data: Buffer;
  generation: string;
  metageneration: number;
  contentType: string;
  metadata: Record<string, string>;
  timeCreated: string;
  updated: string;
  md5Hash: string;
  crc32c: string;
  cacheControl?: string;
  contentEncoding?: string;
  contentDisposition?: string;
}

/** Object resource fields a client may send (metadata in uploads and patch). */
const WRITABLE = new Set([
  'name',
  'bucket',
  'contentType',
  'contentEncoding',
  'contentDisposition',
  'contentLanguage',
  'cacheControl',
  'metadata',
  'md5Hash',
  'crc32c',
  'storageClass',
  'kmsKeyName',
  'temporaryHold',
  'eventBasedHold',
  'customTime',
  'acl',
  'retention',
  'contexts',
]);

const PRECONDITION_MESSAGE = 'At least one of the pre-conditions you specified did not hold.';
const B = '(?:/storage/v1)?/b/(?<bucket>[^/]+)';

interface UploadSession {
  bucket: string;
  meta: Record<string, unknown>;
  query: URLSearchParams;
  chunks: Buffer[];
  received: number;
}

export class GcsStore {
  private readonly buckets = new Map<string, Map<string, StoredObject>>();
  private readonly sessions = new Map<string, UploadSession>();
  private generationCounter = 0;

  constructor(private readonly env: FakeEnv) {}

  routes(): Route[] {
    return [
      {
        method: 'POST',
        pattern: new RegExp(`^(?:/storage/v1)?/upload/storage/v1/b/(?<bucket>[^/]+)/o$`),
        api: 'storage',
        rpc: 'objects.insert',
        handler: (c) => this.insert(c),
      },
      {
        method: 'PUT',
        pattern: new RegExp(`^(?:/storage/v1)?/upload/storage/v1/b/(?<bucket>[^/]+)/o$`),
        api: 'storage',
        rpc: 'objects.insert',
        handler: (c) => this.resumablePut(c),
      },
      {
        method: 'GET',
        pattern: new RegExp(`^${B}/o$`),
        api: 'storage',
        rpc: 'objects.list',
        handler: (c) => ({ json: this.list(c) }),
      },
      {
        method: 'GET',
        pattern: new RegExp(`^${B}/o/(?<object>.+)$`),
        api: 'storage',
        rpc: 'objects.get',
        handler: (c) => this.getObject(c),
      },
      {
        method: 'PATCH',
        pattern: new RegExp(`^${B}/o/(?<object>.+)$`),
        api: 'storage',
        rpc: 'objects.patch',
        handler: (c) => ({ json: this.patch(c) }),
      },
      {
        method: 'DELETE',
        pattern: new RegExp(`^${B}/o/(?<object>.+)$`),
        api: 'storage',
        rpc: 'objects.delete',
        handler: (c) => this.remove(c),
      },
      {
        method: 'GET',
        pattern: new RegExp(`^${B}$`),
        api: 'storage',
        rpc: 'buckets.get',
        handler: (c) => ({ json: this.bucketResource(c.params.bucket ?? '') }),
      },
      {
        method: 'POST',
        pattern: /^(?:\/storage\/v1)?\/b$/,
        api: 'storage',
        rpc: 'buckets.insert',
        handler: (c) => {
          const name = str(parseJsonBody(c).name) ?? '';
          this.createBucket(name);
          return { json: this.bucketResource(name) };
        },
      },
    ];
  }

  createBucket(name: string): void {
    if (!this.buckets.has(name)) this.buckets.set(name, new Map());
  }

  private bucket(name: string): Map<string, StoredObject> {
    let b = this.buckets.get(name);
    if (!b) {
      b = new Map();
      this.buckets.set(name, b);
    }
    return b;
  }

  private bucketResource(name: string): Record<string, unknown> {
    this.bucket(name);
    return {
      kind: 'storage#bucket',
      id: name,
      name,
      location: 'US-CENTRAL1',
      storageClass: 'STANDARD',
      metageneration: '1',
    };
  }

  private resource(o: StoredObject): Record<string, unknown> {
    const enc = encodeURIComponent(o.name);
    const out: Record<string, unknown> = {
      kind: 'storage#object',
      id: `${o.bucket}/${o.name}/${o.generation}`,
      selfLink: `${this.env.url}/storage/v1/b/${o.bucket}/o/${enc}`,
      mediaLink: `${this.env.url}/download/storage/v1/b/${o.bucket}/o/${enc}?generation=${o.generation}&alt=media`,
      name: o.name,
      bucket: o.bucket,
      generation: o.generation,
      metageneration: String(o.metageneration),
      contentType: o.contentType,
      storageClass: 'STANDARD',
      size: String(o.data.length),
      md5Hash: o.md5Hash,
      crc32c: o.crc32c,
      etag: `C${o.generation.slice(-8)}${o.metageneration}`,
      timeCreated: o.timeCreated,
      updated: o.updated,
      timeStorageClassUpdated: o.timeCreated,
    };
    if (Object.keys(o.metadata).length > 0) out.metadata = { ...o.metadata };
    if (o.cacheControl) out.cacheControl = o.cacheControl;
    if (o.contentEncoding) out.contentEncoding = o.contentEncoding;
    if (o.contentDisposition) out.contentDisposition = o.contentDisposition;
    return out;
  }

  private checkMeta(meta: Record<string, unknown>): void {
    if (!this.env.options.checkBodies) return;
    for (const k of Object.keys(meta)) {
      if (!WRITABLE.has(k)) {
        throw new ApiError(
          'INVALID_ARGUMENT',
          `Invalid JSON payload received. Unknown name "${k}": Cannot find field.`,
          'invalid',
        );
      }
    }
    if (meta.metadata !== undefined && meta.metadata !== null) {
      if (!isRecord(meta.metadata))
        throw new ApiError('INVALID_ARGUMENT', 'Invalid value for metadata: expected an object.', 'invalid');
    }
  }

  /** Applies ifGenerationMatch & co. (412 conditionNotMet). */
  private preconditions(q: URLSearchParams, o: StoredObject | undefined): void {
    const fail = (): never => {
      throw new ApiError('FAILED_PRECONDITION', PRECONDITION_MESSAGE, 'conditionNotMet', 412);
    };
    const gm = q.get('ifGenerationMatch');
    if (gm !== null) {
      if (gm === '0' ? o !== undefined : o?.generation !== gm) fail();
    }
    const gnm = q.get('ifGenerationNotMatch');
    if (gnm !== null) {
      if (gnm === '0' ? o === undefined : o?.generation === gnm) fail();
    }
    const mm = q.get('ifMetagenerationMatch');
    if (mm !== null && (!o || String(o.metageneration) !== mm)) fail();
    const mnm = q.get('ifMetagenerationNotMatch');
    if (mnm !== null && o && String(o.metageneration) === mnm) fail();
  }

  private nextGeneration(): string {
    this.generationCounter += 1;
    return String(Date.now() * 1000 + (this.generationCounter % 1000));
  }

  /** Writes an object (after preconditions), returning its resource. */
  write(
    bucket: string,
    name: string,
    data: Buffer,
    meta: Record<string, unknown>,
    q?: URLSearchParams,
  ): Record<string, unknown> {
    if (!name) throw new ApiError('INVALID_ARGUMENT', 'Required', 'required');
    const b = this.bucket(bucket);
    const prev = b.get(name);
    if (q) this.preconditions(q, prev);
    const crc = new CRC32C();
    crc.update(data);
    const now = new Date().toISOString();
    const metadata: Record<string, string> = {};
    for (const [k, v] of Object.entries(rec(meta.metadata)))
      if (v !== null && v !== undefined) metadata[k] = String(v);
    const o: StoredObject = {
      bucket,
      name,
      data,
      generation: this.nextGeneration(),
      metageneration: 1,
      contentType: str(meta.contentType) ?? 'application/octet-stream',
      metadata,
      timeCreated: now,
      updated: now,
      md5Hash: createHash('md5').update(data).digest('base64'),
      crc32c: crc.toString(),
      ...(str(meta.cacheControl) ? { cacheControl: str(meta.cacheControl) } : {}),
      ...(str(meta.contentEncoding) ? { contentEncoding: str(meta.contentEncoding) } : {}),
      ...(str(meta.contentDisposition) ? { contentDisposition: str(meta.contentDisposition) } : {}),
    };
    const md5 = str(meta.md5Hash);
    if (md5 && md5 !== o.md5Hash) {
      throw new ApiError(
        'INVALID_ARGUMENT',
        'Provided MD5 hash "' + md5 + '" doesn\'t match calculated MD5 hash.',
        'invalid',
      );
    }
    b.set(name, o);
    return this.resource(o);
  }

  private insert(ctx: HandlerContext): HandlerResult {
    const bucket = ctx.params.bucket ?? '';
    const uploadType = ctx.query.get('uploadType') ?? 'media';
    if (uploadType === 'media') {
      const name = ctx.query.get('name') ?? '';
      const ct = String(ctx.headers['content-type'] ?? 'application/octet-stream');
      return { json: this.write(bucket, name, ctx.body, { contentType: ct }, ctx.query) };
    }
    if (uploadType === 'multipart') {
      const { meta, data, dataType } = parseMultipart(ctx);
      this.checkMeta(meta);
      const name = str(meta.name) ?? ctx.query.get('name') ?? '';
      return {
        json: this.write(
          bucket,
          name,
          data,
          { ...meta, contentType: str(meta.contentType) ?? dataType },
          ctx.query,
        ),
      };
    }
    if (uploadType === 'resumable') {
      const uploadId = ctx.query.get('upload_id');
      if (uploadId) return this.resumablePut(ctx);
      const meta = parseJsonBody(ctx);
      this.checkMeta(meta);
      const ct = ctx.headers['x-upload-content-type'];
      if (typeof ct === 'string' && !meta.contentType) meta.contentType = ct;
      const name = str(meta.name) ?? ctx.query.get('name') ?? '';
      // Preconditions are checked at session start (and again when the upload completes).
      this.preconditions(ctx.query, this.bucket(bucket).get(name));
      const id = randomUUID().replace(/-/g, '');
      const q = new URLSearchParams(ctx.query);
      this.sessions.set(id, { bucket, meta: { ...meta, name }, query: q, chunks: [], received: 0 });
      const host = String(ctx.headers.host ?? new URL(this.env.url).host);
      return {
        status: 200,
        headers: {
          location: `http://${host}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&upload_id=${id}`,
        },
        json: {},
      };
    }
    throw new ApiError('INVALID_ARGUMENT', `Invalid upload type: ${uploadType}`, 'invalid');
  }

  private resumablePut(ctx: HandlerContext): HandlerResult {
    const id = ctx.query.get('upload_id') ?? '';
    const s = this.sessions.get(id);
    if (!s) throw new ApiError('NOT_FOUND', 'No such upload session.', 'notFound');
    const range = String(ctx.headers['content-range'] ?? '');
    // "bytes a-b/total", "bytes a-b/*", "bytes */total", "bytes */*"
    const m = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(range);
    let total: number | undefined;
    if (m) {
      if (m[1] !== undefined && ctx.body.length > 0) {
        const start = Number(m[1]);
        if (start === s.received) {
          s.chunks.push(ctx.body);
          s.received += ctx.body.length;
        } else if (start > s.received) {
          throw new ApiError(
            'INVALID_ARGUMENT',
            'Invalid request. There were gaps in the uploaded data.',
            'invalid',
          );
        }
      }
      total = m[3] === '*' || m[3] === undefined ? undefined : Number(m[3]);
    } else {
      // No Content-Range: the whole object in one request.
      s.chunks.push(ctx.body);
      s.received += ctx.body.length;
      total = s.received;
    }
    if (total !== undefined && s.received >= total) {
      this.sessions.delete(id);
      return { json: this.write(s.bucket, String(s.meta.name), Buffer.concat(s.chunks), s.meta, s.query) };
    }
    return {
      status: 308,
      headers: s.received > 0 ? { range: `bytes=0-${s.received - 1}` } : {},
      raw: Buffer.alloc(0),
    };
  }

  private find(ctx: HandlerContext): StoredObject | undefined {
    return this.bucket(ctx.params.bucket ?? '').get(ctx.params.object ?? '');
  }

  private notFound(ctx: HandlerContext): ApiError {
    return new ApiError(
      'NOT_FOUND',
      `No such object: ${ctx.params.bucket ?? ''}/${ctx.params.object ?? ''}`,
      'notFound',
    );
  }

  private getObject(ctx: HandlerContext): HandlerResult {
    const o = this.find(ctx);
    const gen = ctx.query.get('generation');
    if (!o || (gen && gen !== o.generation)) throw this.notFound(ctx);
    this.preconditions(ctx.query, o);
    if (ctx.query.get('alt') === 'media') {
      return {
        raw: o.data,
        headers: {
          'content-type': o.contentType,
          'x-goog-hash': `crc32c=${o.crc32c},md5=${o.md5Hash}`,
          'x-goog-generation': o.generation,
          'x-goog-metageneration': String(o.metageneration),
          'x-goog-stored-content-encoding': o.contentEncoding ?? 'identity',
          'x-goog-stored-content-length': String(o.data.length),
        },
      };
    }
    return { json: this.resource(o) };
  }

  private patch(ctx: HandlerContext): Record<string, unknown> {
    const o = this.find(ctx);
    if (!o) throw this.notFound(ctx);
    this.preconditions(ctx.query, o);
    const meta = parseJsonBody(ctx);
    this.checkMeta(meta);
    if ('contentType' in meta) o.contentType = str(meta.contentType) ?? 'application/octet-stream';
    if ('cacheControl' in meta) o.cacheControl = str(meta.cacheControl);
    if ('contentDisposition' in meta) o.contentDisposition = str(meta.contentDisposition);
    if ('metadata' in meta) {
      if (meta.metadata === null) o.metadata = {};
      else {
        for (const [k, v] of Object.entries(rec(meta.metadata))) {
          if (v === null) delete o.metadata[k];
          else o.metadata[k] = String(v);
        }
      }
    }
    o.metageneration += 1;
    o.updated = new Date().toISOString();
    return this.resource(o);
  }

  private remove(ctx: HandlerContext): HandlerResult {
    const o = this.find(ctx);
    if (!o) throw this.notFound(ctx);
    const gen = ctx.query.get('generation');
    if (gen && gen !== o.generation) throw this.notFound(ctx);
    this.preconditions(ctx.query, o);
    this.bucket(o.bucket).delete(o.name);
    return { status: 204, raw: Buffer.alloc(0) };
  }

  private list(ctx: HandlerContext): Record<string, unknown> {
    const q = ctx.query;
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const glob = q.get('matchGlob');
    const globRe = glob ? globToRegExp(glob) : undefined;
    const startOffset = q.get('startOffset');
    const endOffset = q.get('endOffset');
    const max = Math.min(Number(q.get('maxResults') ?? '1000') || 1000, 1000);
    const token = q.get('pageToken');
    const after = token ? Buffer.from(token, 'base64url').toString('utf8') : undefined;
    const names = [...this.bucket(ctx.params.bucket ?? '').keys()].sort();
    const items: Record<string, unknown>[] = [];
    const prefixes = new Set<string>();
    let next: string | undefined;
    let count = 0;
    for (const name of names) {
      if (!name.startsWith(prefix)) continue;
      if (startOffset && name < startOffset) continue;
      if (endOffset && name >= endOffset) continue;
      if (globRe && !globRe.test(name)) continue;
      let key = name;
      let isPrefix = false;
      if (delimiter) {
        const idx = name.indexOf(delimiter, prefix.length);
        if (idx >= 0) {
          key = name.slice(0, idx + delimiter.length);
          isPrefix = true;
        }
      }
      if (after !== undefined && key <= after) continue;
      if (isPrefix && prefixes.has(key)) continue;
      if (count >= max) {
        next = Buffer.from(lastKey(items, prefixes)).toString('base64url');
        break;
      }
      count += 1;
      if (isPrefix) prefixes.add(key);
      else {
        const o = this.bucket(ctx.params.bucket ?? '').get(name);
        if (o) items.push(this.resource(o));
      }
    }
    const out: Record<string, unknown> = { kind: 'storage#objects' };
    if (items.length) out.items = items;
    if (prefixes.size) out.prefixes = [...prefixes];
    if (next) out.nextPageToken = next;
    return out;
  }

  all(bucket: string): StoredObject[] {
    return [...this.bucket(bucket).values()];
  }
}

function lastKey(items: Record<string, unknown>[], prefixes: Set<string>): string {
  const a = items.length ? String(items[items.length - 1]?.name) : '';
  const p = [...prefixes].pop() ?? '';
  return a > p ? a : p;
}

/** GCS matchGlob: `**` any chars, `*` any chars but '/', `?` one char but '/', `[abc]`, `{a,b}`. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] ?? '';
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '{') {
      const end = glob.indexOf('}', i);
      if (end < 0) re += '\\{';
      else {
        re += `(?:${glob
          .slice(i + 1, end)
          .split(',')
          .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('|')})`;
        i = end;
      }
    } else if (c === '[') {
      const end = glob.indexOf(']', i);
      if (end < 0) re += '\\[';
      else {
        re += glob.slice(i, end + 1);
        i = end;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function parseMultipart(ctx: HandlerContext): {
  meta: Record<string, unknown>;
  data: Buffer;
  dataType: string;
} {
  const ct = String(ctx.headers['content-type'] ?? '');
  const bm = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(ct);
  const boundary = bm?.[1] ?? bm?.[2];
  if (!boundary) throw new ApiError('INVALID_ARGUMENT', 'Missing multipart boundary.', 'invalid');
  const delim = Buffer.from(`--${boundary}`);
  const parts: Buffer[] = [];
  let pos = ctx.body.indexOf(delim);
  while (pos >= 0) {
    const start = pos + delim.length;
    if (ctx.body.subarray(start, start + 2).toString() === '--') break;
    const next = ctx.body.indexOf(delim, start);
    if (next < 0) break;
    parts.push(ctx.body.subarray(start, next));
    pos = next;
  }
  const parsed = parts.map((p) => {
    const sep = p.indexOf('\r\n\r\n');
    const head = p.subarray(0, sep).toString('utf8');
    let body = p.subarray(sep + 4);
    if (body.subarray(-2).toString() === '\r\n') body = body.subarray(0, -2);
    const type = /content-type:\s*([^\r\n]+)/i.exec(head)?.[1]?.trim() ?? 'application/octet-stream';
    return { type, body };
  });
  const [metaPart, dataPart] = parsed;
  if (!metaPart || !dataPart)
    throw new ApiError(
      'INVALID_ARGUMENT',
      'Multipart body must have a metadata and a media part.',
      'invalid',
    );
  let meta: unknown;
  try {
    meta = JSON.parse(metaPart.body.toString('utf8'));
  } catch {
    throw new ApiError('INVALID_ARGUMENT', 'Invalid JSON in multipart metadata part.', 'invalid');
  }
  return { meta: rec(meta), data: dataPart.body, dataType: dataPart.type };
}
