/** Endpoint ports: the recorded one when free, else counting up from the base past taken ones. */
import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { anyFreePort, choosePort, isPortFree } from '../../../providers/local/ports.js';

const servers: Server[] = [];

function occupy(port: number): Promise<void> {
  return new Promise((resolve) => {
    const server = createServer();
    servers.push(server);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('choosePort', () => {
  it('keeps a free recorded port, skips busy and recorded ones from the base', async () => {
    const base = await anyFreePort();
    expect(await choosePort(base, async () => new Set(), 0)).toBe(base);

    await occupy(base);
    expect(await isPortFree(base)).toBe(false);
    // base is busy, base+1 belongs to another endpoint: base+2 (if the OS has it free).
    const chosen = await choosePort(base, async () => new Set([base + 1]), base);
    expect(chosen).not.toBe(base);
    expect(chosen).not.toBe(base + 1);
    expect(await isPortFree(chosen)).toBe(true);
  });
});
