/**
 * Secret Manager v1: secrets and their versions, global (`projects/P/secrets/S`). Enough for what
 * mlform does (ListSecrets at plan time) and what a trainer does at start (AccessSecretVersion),
 * plus CreateSecret and AddSecretVersion so tests can seed through the real client.
 */
import { createHash } from 'node:crypto';
import type { FakeEnv } from './env.js';
import { ApiError, deepClone, isRecord, notFound, nowIso, str, type HandlerContext } from './http.js';
import { page } from './list.js';
import { SEG, type Route } from './router.js';

const SECRET = 'google.cloud.secretmanager.v1.Secret';
const ID = /^[A-Za-z0-9_-]{1,255}$/;

interface StoredSecret {
  secret: Record<string, unknown>;
  /** Payloads, version 1 first. */
  versions: { data: Buffer; createTime: string; state: 'ENABLED' | 'DISABLED' | 'DESTROYED' }[];
}

/** CRC32C (Castagnoli), as Secret Manager reports `dataCrc32c` (int64 as a decimal string). */
function crc32c(data: Buffer): string {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return String((crc ^ 0xffffffff) >>> 0);
}

export class SecretManager {
  private readonly secrets = new Map<string, StoredSecret>();

  constructor(private readonly env: FakeEnv) {}

  routes(): Route[] {
    const P = `projects/(?<project>${SEG})`;
    const S = `(?<name>${P}/secrets/(?<secret>${SEG}))`;
    return [
      {
        method: 'GET',
        pattern: new RegExp(`^/v1/${P}/secrets$`),
        api: 'secretmanager',
        rpc: 'ListSecrets',
        handler: (c) => ({ json: this.list(c) }),
      },
      {
        method: 'POST',
        pattern: new RegExp(`^/v1/${P}/secrets$`),
        api: 'secretmanager',
        rpc: 'CreateSecret',
        handler: (c) => ({ json: this.create(c) }),
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/v1/${S}$`),
        api: 'secretmanager',
        rpc: 'GetSecret',
        handler: (c) => ({ json: this.view(this.get(c.params.name ?? '').secret) }),
      },
      {
        method: 'POST',
        pattern: new RegExp(`^/v1/${S}:addVersion$`),
        api: 'secretmanager',
        rpc: 'AddSecretVersion',
        handler: (c) => ({ json: this.addVersion(c) }),
      },
      {
        method: 'GET',
        pattern: new RegExp(`^/v1/${S}/versions/(?<version>${SEG}):access$`),
        api: 'secretmanager',
        rpc: 'AccessSecretVersion',
        handler: (c) => ({ json: this.access(c.params.name ?? '', c.params.version ?? '') }),
      },
    ];
  }

  /** Test seeding without HTTP: the secret `projects/P/secrets/ID` with one version per value. */
  seed(project: string, id: string, ...values: (string | Buffer)[]): void {
    const name = `projects/${project}/secrets/${id}`;
    const stored = this.secrets.get(name) ?? this.put(name, {});
    for (const v of values) stored.versions.push(this.version(typeof v === 'string' ? Buffer.from(v) : v));
  }

  /** Secret names and version counts (never the payloads). */
  all(): { name: string; versions: number }[] {
    return [...this.secrets.entries()].map(([name, s]) => ({ name, versions: s.versions.length }));
  }

  private put(name: string, fields: Record<string, unknown>): StoredSecret {
    const stored: StoredSecret = {
      secret: { ...fields, name, createTime: nowIso(), replication: fields.replication ?? { automatic: {} } },
      versions: [],
    };
    stored.secret.etag = `"${createHash('sha1').update(name).digest('hex').slice(0, 12)}"`;
    this.secrets.set(name, stored);
    return stored;
  }

  private version(data: Buffer): StoredSecret['versions'][number] {
    return { data, createTime: nowIso(), state: 'ENABLED' };
  }

  private get(name: string): StoredSecret {
    const s = this.secrets.get(name);
    if (!s) throw notFound(`Secret [${name}]`);
    return s;
  }

  private view(secret: Record<string, unknown>): Record<string, unknown> {
    return this.env.out('secretmanager', SECRET, deepClone(secret));
  }

  private list(c: HandlerContext): Record<string, unknown> {
    if (c.query.get('filter')) throw new ApiError('INVALID_ARGUMENT', 'The fake does not support filter.');
    const prefix = `projects/${c.params.project}/secrets/`;
    const items = [...this.secrets.values()]
      .filter((s) => String(s.secret.name).startsWith(prefix))
      .map((s) => this.view(s.secret))
      .sort((a, b) => String(a.name).localeCompare(String(b.name)));
    const paged = page(items, c.query, { defaultPageSize: 25_000, maxPageSize: 25_000 });
    return {
      secrets: paged.items,
      totalSize: items.length,
      ...(paged.nextPageToken !== undefined && { nextPageToken: paged.nextPageToken }),
    };
  }

  private create(c: HandlerContext): Record<string, unknown> {
    const body = this.env.body(c, 'secretmanager', SECRET, 'secret');
    const id = c.query.get('secretId') ?? '';
    if (!ID.test(id)) {
      throw new ApiError(
        'INVALID_ARGUMENT',
        `Secret id [${id}] must match [a-zA-Z0-9_-] and be 1 to 255 characters long.`,
      );
    }
    if (!isRecord(body.replication))
      throw new ApiError('INVALID_ARGUMENT', 'Replication policy is required.');
    const name = `projects/${c.params.project}/secrets/${id}`;
    if (this.secrets.has(name)) throw new ApiError('ALREADY_EXISTS', `Secret [${name}] already exists.`);
    return this.view(this.put(name, body).secret);
  }

  private addVersion(c: HandlerContext): Record<string, unknown> {
    const body = this.env.body(
      c,
      'secretmanager',
      'google.cloud.secretmanager.v1.AddSecretVersionRequest',
      '',
    );
    const name = c.params.name ?? '';
    const stored = this.get(name);
    const payload = isRecord(body.payload) ? body.payload : {};
    const data = Buffer.from(str(payload.data) ?? '', 'base64');
    const given =
      str(payload.dataCrc32c) ??
      (typeof payload.dataCrc32c === 'number' ? String(payload.dataCrc32c) : undefined);
    if (given !== undefined && given !== crc32c(data)) {
      throw new ApiError(
        'INVALID_ARGUMENT',
        'Checksum mismatch: the data_crc32c does not match the payload.',
      );
    }
    stored.versions.push(this.version(data));
    const n = stored.versions.length;
    return {
      name: `${name}/versions/${n}`,
      createTime: stored.versions[n - 1]?.createTime,
      state: 'ENABLED',
    };
  }

  private access(name: string, version: string): Record<string, unknown> {
    const stored = this.get(name);
    let n: number;
    if (version === 'latest') {
      n = stored.versions.findLastIndex((v) => v.state === 'ENABLED') + 1;
      if (n === 0) throw notFound(`Secret Version [${name}/versions/latest]`);
    } else {
      n = Number(version);
      if (!Number.isInteger(n) || n < 1)
        throw new ApiError('INVALID_ARGUMENT', `Invalid version [${version}].`);
    }
    const v = stored.versions[n - 1];
    if (!v) throw notFound(`Secret Version [${name}/versions/${version}]`);
    if (v.state !== 'ENABLED') {
      throw new ApiError(
        'FAILED_PRECONDITION',
        `Secret Version [${name}/versions/${n}] is in ${v.state} state.`,
      );
    }
    return {
      name: `${name}/versions/${n}`,
      payload: { data: v.data.toString('base64'), dataCrc32c: crc32c(v.data) },
    };
  }
}
