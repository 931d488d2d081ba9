/**
 * Ports of local endpoints. An endpoint keeps its port across restarts (clients and the curl in
 * the README keep working), new endpoints count up from TF Serving's 8501, and the OS picks one
 * only when that range is exhausted.
 */
import { createServer } from 'node:net';

export const HOST = '127.0.0.1';

/** Can we listen there right now (the serving process listens on the same host)? */
export function isPortFree(port: number, host: string = HOST): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port the OS considers free. */
export function anyFreePort(host: string = HOST): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('the OS gave no port'))));
    });
  });
}

const RANGE = 100;

/**
 * The recorded port when it is free; else the first free port from `basePort` that no other
 * endpoint has recorded (a stopped endpoint gets its own port back later); else any free port.
 * `basePort` 0 skips the range (tests running side by side). The other endpoints' ports are read
 * only when the recorded port cannot be reused.
 */
export async function choosePort(
  recorded: number | undefined,
  takenByOthers: () => Promise<ReadonlySet<number>>,
  basePort: number,
): Promise<number> {
  if (recorded !== undefined) {
    // A server that just died may hold its socket a moment longer than its pid looks alive
    // (the kernel releases the command line before the files): give the port a second to free up.
    for (let attempt = 0; attempt < 10; attempt++) {
      if (await isPortFree(recorded)) return recorded;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  if (basePort > 0) {
    const taken = await takenByOthers();
    for (let port = basePort; port < basePort + RANGE && port <= 65535; port++) {
      if (port !== recorded && !taken.has(port) && (await isPortFree(port))) return port;
    }
  }
  return anyFreePort();
}
