/** `mlform unlock`: show who holds the stack's apply lock and release it (a crashed apply's). */
import { error } from '../../../resources/diagnostic.js';
import type { HeldLease } from '../../../providers/provider.js';
import { defineCommand } from '../command.js';
import { openProject } from '../project.js';
import { OPERATOR_OPTIONS, operatorSettings, type OperatorFlags } from '../operator.js';
import { failed, printProblems } from '../problems.js';
import { fileOption } from '../options.js';

interface UnlockOptions extends OperatorFlags {
  file: string[];
  force?: boolean;
  yes?: boolean;
}

/** Why the lease can go: its holder cannot renew it any more, or it expired. */
function standing(held: HeldLease, now: Date): 'expired' | 'gone' | 'live' {
  const expires = Date.parse(held.expiresAt);
  if (!Number.isFinite(expires) || expires <= now.getTime()) return 'expired';
  return held.holderGone ? 'gone' : 'live';
}

export const unlockCommand = defineCommand({
  name: 'unlock',
  summary: "release the stack's apply lock after a crashed apply",
  description:
    "Print who holds the stack's apply lock (holder, pid, host, since, until)\n" +
    'and release it. A lock whose holder still renews it is refused without\n' +
    '--force: releasing it would let two applies act at once. The release only\n' +
    'deletes the lease that was printed (a GCS generation precondition, the\n' +
    "lease's token locally); one taken in between is left in place. A crashed\n" +
    "apply's lock also frees itself when it expires (60 s), and the same user\n" +
    'on the same host takes it over at once.',
  options: [
    fileOption(),
    { flags: '--force', description: 'release a lock that has not expired and whose holder may be alive' },
    { flags: '-y, --yes', description: 'do not ask for confirmation (required without a terminal)' },
    ...OPERATOR_OPTIONS,
  ],
  examples: ['mlform unlock', 'mlform unlock -f examples/quickstart --force -y'],
  exitStatus:
    '0 when the lock was released or nobody held it; 1 when it is still\n' +
    'live without --force, the answer was not yes, or releasing failed.',
  async handler(_args: [], options: UnlockOptions, ctx) {
    const opened = await openProject(options.file, { operator: operatorSettings(options, ctx.env) });
    if (!opened.project) return failed(ctx, opened.diagnostics);
    const { provider, providerCtx } = opened.project;
    if (!provider.inspectLock) {
      return failed(ctx, [error('unlock-unsupported', 'this provider cannot show or release its lock')]);
    }
    const inspected = await provider.inspectLock(providerCtx, { name: 'apply' });
    printProblems(ctx, inspected.diagnostics);
    if (inspected.diagnostics.some((d) => d.severity === 'error')) return 1;
    const held = inspected.held;
    if (!held) {
      ctx.print('the apply lock is not held');
      return 0;
    }
    const state = standing(held, new Date());
    ctx.print(
      `apply lock held by ${held.holder} (pid ${held.pid} on ${held.hostname || 'an unknown host'}) since ${held.acquiredAt || '?'}, until ${held.expiresAt || '?'}`,
    );
    ctx.print(
      state === 'expired'
        ? 'it has expired: the next apply takes it over anyway'
        : state === 'gone'
          ? `its process (pid ${held.pid}) is gone from this host: nobody renews it`
          : 'it has not expired, and its holder may still be applying',
    );
    if (state === 'live' && !options.force) {
      return failed(ctx, [
        error('lock-live', `the apply lock of ${held.holder} is live; not released`, {
          address: 'lock',
          hint: `wait for it to expire at ${held.expiresAt}, or pass --force if you know ${held.holder} (pid ${held.pid}) crashed`,
        }),
      ]);
    }
    if (!options.yes) {
      if (!ctx.isInteractive) {
        return failed(ctx, [
          error('approval-needed', 'not a terminal: cannot ask for confirmation', {
            hint: 'pass --yes (-y)',
          }),
        ]);
      }
      if (!(await ctx.confirm(`\nRelease the apply lock of ${held.holder}? Only 'yes' will be accepted: `))) {
        ctx.print('Unlock cancelled.');
        return 1;
      }
    }
    const released = await held.release();
    if (released.diagnostics.length > 0) return failed(ctx, released.diagnostics);
    ctx.print(`released the apply lock of ${held.holder}`);
    return 0;
  },
});
