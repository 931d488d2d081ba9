/**
 * Endpoint ports: the recorded one or an error naming its holder (never a silent move), else
 * counting up from the base past taken ones. A claimed port stays bound until handed over.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { anyFreePort, claimPort, close, isPortFree } from '../../../providers/local/ports.js';

const servers: Server[] = [];

function occupy(port: number): Promise<void> {
  return new Promise((resolve) => {
    const server = createServer();
    servers.push(server);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

afterAll(async () => {
  await Promise.all(servers.map((s) => close(s)));
});

describe('claimPort', () => {
  it('binds a free recorded port and holds it until closed', async () => {
    const base = await anyFreePort();
    const claim = await claimPort(base, async () => new Set(), 0);
    expect(claim).toMatchObject({ ok: true, port: base });
    expect(await isPortFree(base)).toBe(false);
    if (claim.ok) await close(claim.server);
    expect(await isPortFree(base)).toBe(true);
  });

  it('a taken recorded port is refused with its holder, not replaced by another', async () => {
    const base = await anyFreePort();
    await occupy(base);
    const claim = await claimPort(base, async () => new Set(), base);
    expect(claim.ok).toBe(false);
    expect(claim.port).toBe(base);
    if (process.platform === 'linux' && !claim.ok) expect(claim.holder).toContain(`process ${process.pid} `);
  });

  it('a new endpoint skips busy and recorded ports from the base', async () => {
    const base = await anyFreePort();
    await occupy(base);
    // base is busy, base+1 belongs to another endpoint: base+2 (if the OS has it free).
    const claim = await claimPort(undefined, async () => new Set([base + 1]), base);
    expect(claim.ok).toBe(true);
    expect(claim.port).not.toBe(base);
    expect(claim.port).not.toBe(base + 1);
    if (claim.ok) await close(claim.server);
    expect(await isPortFree(claim.port)).toBe(true);
  });
});
