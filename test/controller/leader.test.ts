import { describe, expect, it } from 'vitest';
import { LeaderElector } from '../../controller/loop/leader.js';
import type { Lease, Response } from '../../providers/provider.js';
import { error } from '../../resources/diagnostic.js';
import { waitFor } from './helpers.js';

/** One lease slot shared by candidates, like the lease file. */
function fakeLock() {
  let holder: string | undefined;
  const state = { renewFails: false, released: 0 };
  const acquire = (who: string) => async (): Promise<Response & { lease?: Lease }> => {
    if (holder && holder !== who) return { diagnostics: [error('lock-held', `held by ${holder}`)] };
    holder = who;
    const lease: Lease = {
      holder: who,
      expiresAt: '',
      renew: async () =>
        state.renewFails || holder !== who
          ? { diagnostics: [error('lock-lost', 'lost')] }
          : { diagnostics: [] },
      release: async () => {
        if (holder === who) holder = undefined;
        state.released++;
        return { diagnostics: [] };
      },
    };
    return { lease, diagnostics: [] };
  };
  return { acquire, state, steal: (who: string) => (holder = who) };
}

describe('LeaderElector', () => {
  it('one leader; the standby takes over after release; a failed renewal ends leadership', async () => {
    const lock = fakeLock();
    const events: string[] = [];
    const elector = (who: string) =>
      new LeaderElector({
        ttlMs: 150,
        acquire: lock.acquire(who),
        onStartedLeading: () => events.push(`${who} leads`),
        onStoppedLeading: (reason) => events.push(`${who} lost: ${reason}`),
        onStandby: () => events.push(`${who} standby`),
      });
    const a = elector('a');
    const b = elector('b');
    a.start();
    await waitFor('a leads', async () => a.isLeader, 2_000, 10);
    b.start();
    await waitFor('b standby', async () => events.includes('b standby'), 2_000, 10);
    expect(b.isLeader).toBe(false);

    await a.stop();
    expect(lock.state.released).toBe(1);
    await waitFor('b leads', async () => b.isLeader, 2_000, 10);

    lock.steal('intruder');
    await waitFor('b lost', async () => !b.isLeader, 2_000, 10);
    expect(events.at(-1)).toBe('b lost: lost');
    await b.stop();
  });

  it('does not campaign without a provider', async () => {
    let asked = 0;
    const elector = new LeaderElector({
      ttlMs: 60,
      acquire: () => {
        asked++;
        return undefined;
      },
      onStartedLeading: () => {},
      onStoppedLeading: () => {},
    });
    elector.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(asked).toBeGreaterThan(0);
    expect(elector.isLeader).toBe(false);
    await elector.stop();
  });
});

describe('LeaderElector.stop', () => {
  it('releases the lease only after a renewal under way has landed (else the renewal rewrites it)', async () => {
    const order: string[] = [];
    let landRenewal: () => void = () => {};
    const lease: Lease = {
      holder: 'a',
      expiresAt: '',
      renew: () => {
        order.push('renew started');
        return new Promise<Response>((resolve) => {
          landRenewal = () => {
            order.push('renew landed');
            resolve({ diagnostics: [] });
          };
        });
      },
      release: async () => {
        order.push('released');
        return { diagnostics: [] };
      },
    };
    const elector = new LeaderElector({
      ttlMs: 150,
      acquire: async () => ({ lease, diagnostics: [] }),
      onStartedLeading: () => {},
      onStoppedLeading: () => {},
    });
    elector.start();
    await waitFor('a renewal under way', async () => order.includes('renew started'), 2_000, 5);
    const stopped = elector.stop();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(order).toEqual(['renew started']);
    landRenewal();
    await stopped;
    expect(order).toEqual(['renew started', 'renew landed', 'released']);
  });
});
