/**
 * The stack's apply lock, taken, renewed and released in one place. Every writer (`apply`,
 * `cancel`, `trigger`, the controller's syncs and schedule fires) runs its work inside
 * `withApplyLock`: the work gets a signal that aborts the moment the lease is no longer certainly
 * ours (a renewal that fails or finds another holder, or the expiry passing before a renewal
 * landed, as when the process was paused), so two writers never act at once. The engine stops
 * between changes on that signal and provider calls in flight are cancelled through `ctx.signal`.
 */
import { setMaxListeners } from 'node:events';
import { error, type Diagnostic } from '../../resources/diagnostic.js';
import type { Lease, LockName, Provider, ProviderContext } from '../../providers/provider.js';

/** A writer's lease: long enough to survive a slow call, short enough that a crash frees it soon. */
export const APPLY_LOCK_TTL_MS = 60_000;

export interface ApplyLockOptions {
  /** Who holds it, for the message another writer shows ("held by alice@host"). */
  holder: string;
  /** Default `apply`. */
  name?: LockName;
  /** Default `APPLY_LOCK_TTL_MS`. */
  ttlMs?: number;
  /** Default a third of the TTL: two renewals may fail before the lease runs out. */
  renewEveryMs?: number;
  /** The caller's own cancellation (Ctrl-C, the controller stopping). */
  signal?: AbortSignal;
}

/** What the work gets: a context whose signal stops with the lease, and the lease itself. */
export interface Locked {
  ctx: ProviderContext;
  signal: AbortSignal;
  lease: Lease;
}

export type LockOutcome<T> =
  /** The work ran to its end under the lock. */
  | { status: 'done'; value: T; diagnostics: Diagnostic[] }
  /** Someone else holds the lock (named in the diagnostics): nothing was done. */
  | { status: 'held'; diagnostics: Diagnostic[] }
  /** The lock was lost while the work ran: it was aborted; `value` is what it returned. */
  | { status: 'lost'; value: T; diagnostics: Diagnostic[] };

export async function withApplyLock<T>(
  provider: Provider,
  ctx: ProviderContext,
  options: ApplyLockOptions,
  work: (locked: Locked) => Promise<T>,
): Promise<LockOutcome<T>> {
  const name = options.name ?? 'apply';
  const ttlMs = options.ttlMs ?? APPLY_LOCK_TTL_MS;
  const taken = await provider.lock(ctx, { name, holder: options.holder, ttlMs });
  if (!taken.lease) {
    return {
      status: 'held',
      diagnostics: taken.diagnostics.length
        ? taken.diagnostics
        : [error('lock', `could not take the ${name} lock`)],
    };
  }
  const lease = taken.lease;
  const abort = new AbortController();
  setMaxListeners(0, abort.signal);
  const lost: Diagnostic[] = [];
  const loseLock = (diagnostics: Diagnostic[]) => {
    if (abort.signal.aborted) return;
    lost.push(...diagnostics);
    abort.abort(new Error(diagnostics.map((d) => d.message).join('; ')));
  };
  const outer = [options.signal, ctx.signal].filter((s): s is AbortSignal => s !== undefined);
  const onOuterAbort = () => abort.abort(new Error('cancelled'));
  for (const s of outer) {
    if (s.aborted) onOuterAbort();
    else s.addEventListener('abort', onOuterAbort, { once: true });
  }

  // Nothing renewed it by its expiry (a paused process, renewals that hang): another writer may
  // take it from now on, so stop acting without waiting to hear about it.
  let expiry: NodeJS.Timeout | undefined;
  const watchExpiry = () => {
    clearTimeout(expiry);
    const left = Date.parse(lease.expiresAt) - Date.now();
    expiry = setTimeout(
      () =>
        loseLock([
          error('lock-lost', `the ${name} lock expired before it was renewed`, {
            hint: 'the process was paused or renewals hung; nothing more was done: run it again',
          }),
        ]),
      Math.max(0, left),
    );
  };
  watchExpiry();

  // Renewals run one after another (never two at once), each awaited for its verdict.
  let renewing: Promise<void> = Promise.resolve();
  const renewEveryMs = options.renewEveryMs ?? ttlMs / 3;
  const renewal = setInterval(() => {
    renewing = renewing.then(async () => {
      if (abort.signal.aborted) return;
      const renewed = await lease.renew().catch((e: unknown): { diagnostics: Diagnostic[] } => ({
        diagnostics: [error('lock-lost', `renewing the ${name} lock failed: ${String(e)}`)],
      }));
      const errors = renewed.diagnostics.filter((d) => d.severity === 'error');
      if (errors.length > 0) loseLock(errors);
      else watchExpiry();
    });
  }, renewEveryMs);

  const locked: Locked = {
    ctx: { ...ctx, signal: abort.signal, applyLock: lease },
    signal: abort.signal,
    lease,
  };
  try {
    const value = await work(locked);
    return lost.length > 0
      ? { status: 'lost', value, diagnostics: lost }
      : { status: 'done', value, diagnostics: [] };
  } finally {
    clearInterval(renewal);
    clearTimeout(expiry);
    for (const s of outer) s.removeEventListener('abort', onOuterAbort);
    await renewing;
    // A lost lease is not ours to delete: release only checks and leaves the new holder's in place.
    await lease.release().catch(() => undefined);
  }
}
