/**
 * Apply's lock and the controller's leader lease as a GCS object `<stack>/locks/<name>.json`:
 * created with `ifGenerationMatch: 0` (only if absent), renewed and released with
 * `ifGenerationMatch: <our generation>`, taken over once expired (also by generation, so of two
 * contenders only one wins). Same semantics and messages as the local provider's lease.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { error, warning, type Diagnostic } from '../../resources/diagnostic.js';
import type { HeldLease, Lease, LockName, LockRequest, ProviderContext, Response } from '../provider.js';
import { heldLease, lockChanged, holderGone } from '../held-lease.js';
import { callDiagnostic, isKind } from './call.js';
import type { Gcs } from './gcs.js';

export interface LeaseRecord {
  holder: string;
  pid: number;
  hostname: string;
  token: string;
  acquiredAt: string;
  expiresAt: string;
}

const clock = (iso: string): string => new Date(iso).toTimeString().slice(0, 8);
const leaseTitle = (name: LockName): string => (name === 'apply' ? 'apply lock' : 'controller leader lease');

function parse(data: Buffer): LeaseRecord | undefined {
  try {
    const v = JSON.parse(data.toString('utf8')) as Partial<LeaseRecord>;
    return typeof v.holder === 'string' && typeof v.expiresAt === 'string' && typeof v.token === 'string'
      ? (v as LeaseRecord)
      : undefined;
  } catch {
    return undefined;
  }
}

function heldBy(record: LeaseRecord, what: string, address: string): Diagnostic {
  const who = record.holder.includes('@') ? record.holder : `${record.holder}@${record.hostname}`;
  return error(
    'lock-held',
    `${what} held by ${who} (pid ${record.pid}) until ${clock(record.expiresAt)}; retry later or wait`,
    {
      address,
      hint: `the lease expires at ${record.expiresAt} unless its holder renews it; if ${who} crashed, \`mlform unlock\` shows the holder and releases it`,
    },
  );
}

/**
 * A crashed apply's lease that the same holder (user@host) may take at once instead of waiting
 * for its expiry: same holder, written on this host, and its process is gone. A live process of
 * the same user (a second terminal) keeps its lease.
 */
const crashedOwnLease = (record: LeaseRecord, holder: string): boolean =>
  record.holder === holder && holderGone(record);

export async function acquireGcsLease(
  gcs: Gcs,
  uri: string,
  ctx: ProviderContext,
  req: LockRequest,
  now: () => Date = () => new Date(),
): Promise<Response & { lease?: Lease }> {
  const now_ = now;
  const name = req.name ?? 'apply';
  const what = leaseTitle(name);
  const address = name === 'apply' ? 'lock' : 'leader';
  try {
    for (let round = 0; round < 5; round++) {
      const t = now();
      const record: LeaseRecord = {
        holder: req.holder,
        pid: process.pid,
        hostname: hostname(),
        token: randomUUID(),
        acquiredAt: t.toISOString(),
        expiresAt: new Date(t.getTime() + req.ttlMs).toISOString(),
      };
      const current = await gcs.readIfExists(uri);
      let match: string | number = 0;
      if (current) {
        const held = parse(current.data);
        const crashed = held !== undefined && crashedOwnLease(held, req.holder);
        if (held && Date.parse(held.expiresAt) > t.getTime() && !crashed) {
          return { diagnostics: [heldBy(held, what, address)] };
        }
        ctx.log?.(
          `taking over the ${crashed ? 'crashed' : 'expired'} ${what}${held ? ` of ${held.holder} (pid ${held.pid})` : ''}`,
        );
        match = current.generation;
      }
      try {
        const { generation } = await gcs.write(uri, JSON.stringify(record), {
          ifGenerationMatch: match,
          metadata: { holder: record.holder, expiresAt: record.expiresAt },
        });
        return {
          lease: new GcsLease(gcs, uri, record, generation, req.ttlMs, what, address, now),
          diagnostics: [],
        };
      } catch (e) {
        if (!isKind(e, 'precondition', 'already-exists')) throw e;
        // Our own write may have landed and only its response was lost (then a retry fails the
        // precondition): the token tells. Otherwise someone else was first: read the new holder.
        const now = await gcs.readIfExists(uri);
        if (now && parse(now.data)?.token === record.token) {
          return {
            lease: new GcsLease(gcs, uri, record, now.generation, req.ttlMs, what, address, now_),
            diagnostics: [],
          };
        }
        continue;
      }
    }
    const last = await gcs.readIfExists(uri);
    const held = last && parse(last.data);
    return {
      diagnostics: [
        held
          ? heldBy(held, what, address)
          : error('lock-contended', `the ${what} changed hands repeatedly; retry`, { address }),
      ],
    };
  } catch (e) {
    return { diagnostics: [callDiagnostic(address, `acquiring the ${what}`, e)] };
  }
}

class GcsLease implements Lease {
  readonly holder: string;
  expiresAt: string;

  constructor(
    private readonly gcs: Gcs,
    private readonly uri: string,
    private record: LeaseRecord,
    private generation: string,
    private readonly ttlMs: number,
    private readonly what: string,
    private readonly address: string,
    private readonly now: () => Date,
  ) {
    this.holder = record.holder;
    this.expiresAt = record.expiresAt;
  }

  private async other(): Promise<LeaseRecord | undefined> {
    const current = await this.gcs.readIfExists(this.uri).catch(() => undefined);
    return current && parse(current.data);
  }

  async renew(): Promise<Response> {
    const expiresAt = new Date(this.now().getTime() + this.ttlMs).toISOString();
    const record = { ...this.record, expiresAt };
    try {
      const { generation } = await this.gcs.write(this.uri, JSON.stringify(record), {
        ifGenerationMatch: this.generation,
        metadata: { holder: record.holder, expiresAt },
      });
      this.record = record;
      this.generation = generation;
      this.expiresAt = expiresAt;
      return { diagnostics: [] };
    } catch (e) {
      if (isKind(e, 'precondition', 'not-found')) {
        const current = await this.gcs.readIfExists(this.uri).catch(() => undefined);
        const mine = current && parse(current.data);
        if (current && mine?.token === this.record.token && mine.expiresAt === expiresAt) {
          // Our renewal landed; only its response was lost.
          this.record = record;
          this.generation = current.generation;
          this.expiresAt = expiresAt;
          return { diagnostics: [] };
        }
        const other = await this.other();
        return {
          diagnostics: [
            error(
              'lock-lost',
              `the ${this.what} was lost${other ? ` to ${other.holder} (pid ${other.pid})` : ''}`,
              {
                address: this.address,
                hint: 'it expired before it was renewed; stop and apply again',
              },
            ),
          ],
        };
      }
      return { diagnostics: [callDiagnostic(this.address, `renewing the ${this.what}`, e)] };
    }
  }

  private async releaseCurrent(): Promise<Response> {
    const current = await this.gcs.readIfExists(this.uri);
    if (current && parse(current.data)?.token === this.record.token) {
      await this.gcs.remove(this.uri, { ifGenerationMatch: current.generation });
    }
    return { diagnostics: [] };
  }

  async release(): Promise<Response> {
    try {
      await this.gcs.remove(this.uri, { ifGenerationMatch: this.generation });
      return { diagnostics: [] };
    } catch (e) {
      if (isKind(e, 'precondition')) {
        const other = await this.other();
        if (other?.token === this.record.token) {
          // Still ours at another generation (a renewal whose response was lost): delete that one.
          return this.releaseCurrent();
        }
        return {
          diagnostics: other
            ? [
                warning(
                  'lock-not-ours',
                  `the ${this.what} is now held by ${other.holder} (pid ${other.pid}); left in place`,
                  {
                    address: this.address,
                  },
                ),
              ]
            : [],
        };
      }
      return { diagnostics: [callDiagnostic(this.address, `releasing the ${this.what}`, e)] };
    }
  }
}

/**
 * The lease at `uri` as it stands (`mlform unlock`); `release` deletes that generation only, so a
 * lease taken after the read is left alone.
 */
export async function inspectGcsLease(
  gcs: Gcs,
  uri: string,
  name: LockName,
): Promise<Response & { held?: HeldLease }> {
  const what = leaseTitle(name);
  const address = name === 'apply' ? 'lock' : 'leader';
  try {
    const current = await gcs.readIfExists(uri);
    if (!current) return { diagnostics: [] };
    const record = parse(current.data);
    const held = heldLease(record, async () => {
      try {
        await gcs.remove(uri, { ifGenerationMatch: current.generation });
        return { diagnostics: [] };
      } catch (e) {
        if (isKind(e, 'not-found')) return { diagnostics: [] };
        if (isKind(e, 'precondition')) {
          return {
            diagnostics: [lockChanged(what, address)],
          };
        }
        return { diagnostics: [callDiagnostic(address, `releasing the ${what}`, e)] };
      }
    });
    return { held, diagnostics: [] };
  } catch (e) {
    return { diagnostics: [callDiagnostic(address, `reading the ${what}`, e)] };
  }
}
