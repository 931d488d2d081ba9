/**
 * Apply's lock: `lock.json`, a lease with holder, pid, host and expiry. Created exclusively (the
 * full record is written to a temp file and hard-linked into place, so no reader ever sees half a
 * lease); a held lease is taken over only when it has expired or its process is gone from this
 * host. The lease therefore cannot stay stuck: a crashed holder stops renewing, or is seen dead.
 */
import { randomUUID } from 'node:crypto';
import { link, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../../resources/error-message.js';
import { error, warning, type Diagnostic } from '../../resources/diagnostic.js';
import type { HeldLease, Lease, LockName, LockRequest, ProviderContext, Response } from '../provider.js';
import { heldLease, lockChanged } from '../held-lease.js';
import { PRIVATE_FILE_MODE } from '../../artifact/storage.js';
import { pidExists } from './processes.js';
import { LeaseRecordSchema, type LeaseRecord } from './records.js';
import { stateRoot, type LocalSettings } from './settings.js';
import { ensureStateRoot, FILES, readRecord, sealedJsonText, writeJsonAtomic } from './state-dir.js';

/**
 * The longest lease mlform asks for (apply and cancel take 60 s, the controller's leader lease is
 * bounded by `--lease-ttl`). A lease claiming to run further into the future than this was not
 * written by mlform (a committed or hand-made lock.json): it is treated as stale, never as held.
 */
export const MAX_LEASE_TTL_MS = 10 * 60_000;

const errorCode = (e: unknown): string | undefined =>
  e instanceof Error && 'code' in e && typeof e.code === 'string' ? e.code : undefined;

/** Writes the lease only if no lease file exists. */
async function createExclusive(path: string, record: LeaseRecord): Promise<boolean> {
  const temp = `${path}.${randomUUID()}.tmp`;
  await writeFile(temp, sealedJsonText(record), { mode: PRIVATE_FILE_MODE });
  try {
    await link(temp, path);
    return true;
  } catch (e) {
    if (errorCode(e) === 'EEXIST') return false;
    throw e;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

/**
 * Moves a stale lease aside, atomically, and checks that what moved is the lease judged stale: if
 * a contender replaced it in between, that fresh lease is put back.
 */
async function takeOver(path: string, staleToken: string | undefined, address: string): Promise<boolean> {
  const aside = `${path}.${randomUUID()}.stale`;
  try {
    await rename(path, aside);
  } catch (e) {
    if (errorCode(e) === 'ENOENT') return true;
    throw e;
  }
  const moved = await readRecord(aside, LeaseRecordSchema, address);
  const replaced = staleToken !== undefined && moved.status === 'ok' && moved.value.token !== staleToken;
  if (replaced) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
  return !replaced;
}

const clock = (iso: string): string => new Date(iso).toTimeString().slice(0, 8);

function heldBy(record: LeaseRecord, what: string, address: string): Diagnostic {
  const who = record.holder.includes('@') ? record.holder : `${record.holder}@${record.hostname}`;
  return error(
    'lock-held',
    `${what} held by ${who} (pid ${record.pid}) until ${clock(record.expiresAt)}; retry later or wait`,
    {
      address: address,
      hint: `the lease expires at ${record.expiresAt} unless its holder renews it; a holder that died on ${record.hostname} is taken over at once; \`mlform unlock\` shows the holder and releases it`,
    },
  );
}

function isStale(record: LeaseRecord, now: Date): boolean {
  const expiresAt = Date.parse(record.expiresAt);
  if (!Number.isFinite(expiresAt) || expiresAt <= now.getTime()) return true;
  // Forged or corrupt: no lease of ours reaches this far (a lock "held until 2099").
  if (expiresAt - now.getTime() > MAX_LEASE_TTL_MS) return true;
  // Same host: a dead pid cannot renew. Another host's pid means nothing here: wait for expiry.
  return record.hostname === hostname() && !pidExists(record.pid);
}

export async function acquireLease(
  settings: LocalSettings,
  ctx: ProviderContext,
  req: LockRequest,
): Promise<Response & { lease?: Lease }> {
  const root = stateRoot(settings, ctx);
  const name = req.name ?? 'apply';
  const path = join(root, name === 'apply' ? FILES.lock : FILES.leaderLease);
  const what = leaseTitle(name);
  const address = name === 'apply' ? 'lock' : 'leader';
  if (!(req.ttlMs > 0 && req.ttlMs <= MAX_LEASE_TTL_MS)) {
    return {
      diagnostics: [
        error(
          'lock-ttl',
          `a ${what} of ${req.ttlMs} ms is not between 1 ms and ${MAX_LEASE_TTL_MS / 60_000} min`,
          {
            address,
            hint: 'choose a shorter lease; longer ones would be indistinguishable from a forged lock',
          },
        ),
      ],
    };
  }
  try {
    await ensureStateRoot(root);
    // A few rounds: each lost race (another contender took over first) re-reads the new holder.
    for (let round = 0; round < 5; round++) {
      const now = settings.now();
      const record: LeaseRecord = {
        formatVersion: 1,
        holder: req.holder,
        pid: process.pid,
        hostname: hostname(),
        token: randomUUID(),
        acquiredAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + req.ttlMs).toISOString(),
      };
      if (await createExclusive(path, record)) {
        return { lease: new FileLease(settings, path, record, req.ttlMs, what, address), diagnostics: [] };
      }
      const current = await readRecord(path, LeaseRecordSchema, address);
      if (current.status === 'missing') continue;
      if (current.status === 'corrupt') {
        // Never written by us (we link whole files): someone edited it. Old enough, it is stale.
        const age = now.getTime() - ((await stat(path).catch(() => undefined))?.mtimeMs ?? 0);
        if (age <= req.ttlMs) return { diagnostics: [current.diagnostic] };
        await takeOver(path, undefined, address);
        continue;
      }
      if (!isStale(current.value, now)) return { diagnostics: [heldBy(current.value, what, address)] };
      ctx.log?.(
        `taking over the stale ${what} of ${current.value.holder} (pid ${current.value.pid}, until ${current.value.expiresAt})`,
      );
      await takeOver(path, current.value.token, address);
    }
    const last = await readRecord(path, LeaseRecordSchema, address);
    return {
      diagnostics: [
        last.status === 'ok'
          ? heldBy(last.value, what, address)
          : error('lock-contended', `the ${what} changed hands repeatedly; retry`, { address: address }),
      ],
    };
  } catch (e) {
    return {
      diagnostics: [
        error('local-state', `acquiring the ${what} failed: ${errorMessage(e)}`, { address: address }),
      ],
    };
  }
}

class FileLease implements Lease {
  readonly holder: string;
  expiresAt: string;

  constructor(
    private readonly settings: LocalSettings,
    private readonly path: string,
    private record: LeaseRecord,
    private readonly ttlMs: number,
    private readonly what: string,
    private readonly address: string,
  ) {
    this.holder = record.holder;
    this.expiresAt = record.expiresAt;
  }

  /** The lease file, if it is still this lease. */
  private async current(): Promise<{ mine: boolean; other?: LeaseRecord }> {
    const found = await readRecord(this.path, LeaseRecordSchema, this.address);
    if (found.status !== 'ok') return { mine: false };
    return found.value.token === this.record.token ? { mine: true } : { mine: false, other: found.value };
  }

  async renew(): Promise<Response> {
    try {
      const { mine, other } = await this.current();
      if (!mine) {
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
      const expiresAt = new Date(this.settings.now().getTime() + this.ttlMs).toISOString();
      this.record = { ...this.record, expiresAt };
      await writeJsonAtomic(this.path, this.record);
      this.expiresAt = expiresAt;
      return { diagnostics: [] };
    } catch (e) {
      return {
        diagnostics: [
          error('local-state', `renewing the ${this.what} failed: ${errorMessage(e)}`, {
            address: this.address,
          }),
        ],
      };
    }
  }

  async release(): Promise<Response> {
    try {
      const { mine, other } = await this.current();
      if (!mine) {
        // Someone took it over after it expired: theirs now, not ours to delete.
        return {
          diagnostics: other
            ? [
                warning(
                  'lock-not-ours',
                  `the ${this.what} is now held by ${other.holder} (pid ${other.pid}); left in place`,
                  { address: this.address },
                ),
              ]
            : [],
        };
      }
      await unlink(this.path).catch((e: unknown) => {
        if (errorCode(e) !== 'ENOENT') throw e;
      });
      return { diagnostics: [] };
    } catch (e) {
      return {
        diagnostics: [
          error('local-state', `releasing the ${this.what} failed: ${errorMessage(e)}`, {
            address: this.address,
          }),
        ],
      };
    }
  }
}

/**
 * The lease file as it stands (`mlform unlock`); `release` removes it only while it is still the
 * lease read (its token), so a lease taken after the read is put back and reported.
 */
export async function inspectLease(
  settings: LocalSettings,
  ctx: ProviderContext,
  name: LockName,
): Promise<Response & { held?: HeldLease }> {
  const path = join(stateRoot(settings, ctx), name === 'apply' ? FILES.lock : FILES.leaderLease);
  const what = leaseTitle(name);
  const address = name === 'apply' ? 'lock' : 'leader';
  const fail = (doing: string, e: unknown): Response => ({
    diagnostics: [error('local-state', `${doing} the ${what} failed: ${errorMessage(e)}`, { address })],
  });
  try {
    const found = await readRecord(path, LeaseRecordSchema, address);
    if (found.status === 'missing') return { diagnostics: [] };
    const record = found.status === 'ok' ? found.value : undefined;
    const held = heldLease(record, async () => {
      try {
        if (await takeOver(path, record?.token, address)) return { diagnostics: [] };
        return {
          diagnostics: [lockChanged(what, address)],
        };
      } catch (e) {
        return fail('releasing', e);
      }
    });
    return { held, diagnostics: [] };
  } catch (e) {
    return fail('reading', e);
  }
}

function leaseTitle(name: LockName): string {
  return name === 'apply' ? 'apply lock' : 'controller leader lease';
}
