/**
 * Ports of local endpoints. An endpoint keeps its port across restarts (clients and the curl that
 * apply prints keep working), new endpoints count up from TF Serving's 8501, and the OS picks one
 * only when that range is exhausted.
 *
 * The provider binds the port itself and hands the listening socket to the serving process
 * (`--listen-fd`), so from the bind on no other process can take it. A recorded port that someone
 * else holds is an error naming the holder, never a silent move: the clients of the endpoint would
 * otherwise keep sending their requests to whoever holds the old port (issue 18, item 7).
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import pLimit from 'p-limit';

export const HOST = '127.0.0.1';

/** A listening server bound exclusively there, or undefined when the port is taken. */
function bind(port: number, host: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    // Until the socket is handed over, a client that connects here is refused outright, as if
    // nothing listened yet, rather than accepted by a process that will never answer it.
    const server = createServer((socket) => socket.destroy());
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE' || e.code === 'EACCES') resolve(undefined);
      else reject(e);
    });
    server.listen({ port, host, exclusive: true }, () => resolve(server));
  });
}

/** Can we listen there right now (the serving process listens on the same host)? */
export async function isPortFree(port: number, host: string = HOST): Promise<boolean> {
  const server = await bind(port, host).catch(() => undefined);
  if (!server) return false;
  await close(server);
  return true;
}

/** A port the OS considers free. */
export async function anyFreePort(host: string = HOST): Promise<number> {
  const server = await bind(0, host);
  if (!server) throw new Error('the OS gave no port');
  const port = portOf(server);
  await close(server);
  return port;
}

export const close = (server: Server): Promise<void> =>
  new Promise((resolve) => server.close(() => resolve()));

const portOf = (server: Server): number => {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
};

const RANGE = 100;

export type PortClaim =
  /** Bound and listening: hand `server` to the serving process, then close this copy. */
  | { ok: true; port: number; server: Server }
  /** The recorded port is held by someone else; `holder` says who when the OS tells us. */
  | { ok: false; port: number; holder?: string };

/**
 * Binds the recorded port (retrying for a second: a server we just stopped may hold its socket a
 * moment after its pid looks gone), and fails when it stays taken. An endpoint without one gets
 * the first free port from `basePort` that no other endpoint has recorded (a stopped endpoint
 * gets its own port back later), else any free port. `basePort` 0 skips the range (tests running
 * side by side).
 */
export async function claimPort(
  recorded: number | undefined,
  takenByOthers: () => Promise<ReadonlySet<number>>,
  basePort: number,
  host: string = HOST,
): Promise<PortClaim> {
  if (recorded !== undefined) {
    for (let attempt = 0; attempt < 10; attempt++) {
      const server = await bind(recorded, host);
      if (server) return { ok: true, port: recorded, server };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const holder = await portHolder(recorded);
    return { ok: false, port: recorded, ...(holder !== undefined && { holder }) };
  }
  if (basePort > 0) {
    const taken = await takenByOthers();
    for (let port = basePort; port < basePort + RANGE && port <= 65535; port++) {
      if (taken.has(port)) continue;
      const server = await bind(port, host);
      if (server) return { ok: true, port, server };
    }
  }
  const server = await bind(0, host);
  if (!server) throw new Error('the OS gave no port');
  return { ok: true, port: portOf(server), server };
}

/**
 * Who listens on a local TCP port, as far as the OS says (Linux: /proc/net/tcp{,6} give the
 * socket's owner uid and inode; the pid is found only among processes we may inspect, that is our
 * user's). Undefined elsewhere or when nothing listens.
 */
export async function portHolder(port: number): Promise<string | undefined> {
  if (process.platform !== 'linux') return undefined;
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const sockets: { uid: number; inode: string }[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A') continue;
      if (f[1].split(':')[1] !== hexPort) continue;
      sockets.push({ uid: Number(f[7]), inode: f[9] });
    }
  }
  if (sockets.length === 0) return undefined;
  const { uid, inode } = sockets[0];
  const pid = await pidOfSocket(inode);
  const user = await userName(uid);
  const who = `${user === undefined ? '' : `${user} `}(uid ${uid})`;
  return pid === undefined ? `a process of ${who}` : `process ${pid} of ${who}`;
}

/** The pid holding socket `inode` among the processes whose descriptors we may read. */
async function pidOfSocket(inode: string): Promise<number | undefined> {
  const target = `socket:[${inode}]`;
  const pids = (await readdir('/proc').catch(() => [] as string[])).filter((e) => /^\d+$/.test(e));
  const limit = pLimit(16);
  let found: number | undefined;
  await Promise.all(
    pids.map((pid) =>
      limit(async () => {
        if (found !== undefined) return;
        const fds = await readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
        for (const fd of fds) {
          if ((await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')) === target) {
            found ??= Number(pid);
            return;
          }
        }
      }),
    ),
  );
  return found;
}

async function userName(uid: number): Promise<string | undefined> {
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  for (const line of passwd.split('\n')) {
    const [name, , id] = line.split(':');
    if (id !== undefined && Number(id) === uid && name) return name;
  }
  return undefined;
}
