/**
 * Detached child processes and how to recognise them later. Trainings and serving processes
 * outlive the CLI that started them, so a later CLI knows them only by what a record says. A
 * record is not proof: pids are recycled, and a record may have been forged (a committed state
 * folder, a hand edit). So a pid counts as ours only when (1) its command line holds the record's
 * marker argument (the run's artifact directory, the endpoint's config path) and the launch id, a
 * random nonce passed as `--launch-id` at spawn, and (2) its start time and the machine's boot id
 * equal those read right after the spawn and recorded. Only such a process is ever signalled.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:net';
import type { Stream } from 'node:stream';
import { open, readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import pLimit from 'p-limit';
import { PRIVATE_FILE_MODE } from '../../artifact/storage.js';

const run = promisify(execFile);
const linux = process.platform === 'linux';

/** Argument that carries the launch id (train and serve accept and ignore it). */
export const LAUNCH_ID_FLAG = '--launch-id';

/** When a process started, as the OS reports it; equal values on the same boot mean the same process. */
export interface ProcessStamp {
  /** Linux: field 22 of /proc/<pid>/stat (clock ticks since boot); elsewhere `ps -o lstart=`. */
  startTime: string;
  /** Linux: /proc/sys/kernel/random/boot_id; elsewhere `sysctl -n kern.boottime`. */
  bootId: string;
}

/** What a record knows about the process it started. */
export interface TrackedProcess {
  pid?: number;
  /** An argument of the process (a path in the state directory). */
  marker: string;
  /** The launch id and the stamp read at spawn; absent in records written before they existed. */
  launch?: { id: string } & Partial<ProcessStamp>;
}

/**
 * - `ours`: proven, may be signalled;
 * - `gone`: no such process, or provably another one (recycled pid, other boot, other command line);
 * - `unproven`: a process carrying the marker exists but cannot be proven ours (a record from
 *   before launch stamps, or /proc unreadable). Reported as alive, never signalled.
 */
export type Verdict = 'ours' | 'gone' | 'unproven';

type CommandLine = { status: 'ok'; argv: string[] } | { status: 'gone' } | { status: 'unreadable' };

/** The argv of a process. A zombie has an empty command line: it is gone for our purposes. */
async function commandLineOf(pid: number): Promise<CommandLine> {
  if (linux) {
    try {
      const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
      const argv = raw.split('\0').filter((a) => a !== '');
      return argv.length > 0 ? { status: 'ok', argv } : { status: 'gone' };
    } catch (e) {
      return e instanceof Error && 'code' in e && e.code === 'ENOENT'
        ? { status: 'gone' }
        : { status: 'unreadable' };
    }
  }
  try {
    const { stdout } = await run('ps', ['-o', 'command=', '-p', String(pid)]);
    const command = stdout.trim();
    return command ? { status: 'ok', argv: [command] } : { status: 'gone' };
  } catch {
    return { status: 'gone' };
  }
}

/** On Linux an exact argument; elsewhere `ps` gives one string, so a substring. */
const hasMarker = (argv: string[], marker: string): boolean =>
  argv.includes(marker) || (!linux && argv.some((a) => a.includes(marker)));

/** `--launch-id <id>` as two arguments (Linux), or inside the one `ps` string. */
const hasLaunchId = (argv: string[], id: string): boolean =>
  linux
    ? argv.some((a, i) => a === LAUNCH_ID_FLAG && argv[i + 1] === id)
    : argv.some((a) => a.includes(`${LAUNCH_ID_FLAG} ${id}`));

/** The fields of /proc/<pid>/stat after the command name (which may contain spaces and parens). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3 (state) is the first after ") ": fields[i] is field i + 3.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

let bootId: Promise<string | undefined> | undefined;

function bootIdentity(): Promise<string | undefined> {
  bootId ??= (async () => {
    try {
      if (linux) return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim() || undefined;
      return (await run('sysctl', ['-n', 'kern.boottime'])).stdout.trim() || undefined;
    } catch {
      return undefined;
    }
  })();
  return bootId;
}

/** The start time and boot id of a live process; undefined when either cannot be read. */
export async function stampOf(pid: number): Promise<ProcessStamp | undefined> {
  const boot = await bootIdentity();
  if (boot === undefined) return undefined;
  if (linux) {
    const startTime = statFields(pid)?.[22 - 3];
    return startTime && /^\d+$/.test(startTime) ? { startTime, bootId: boot } : undefined;
  }
  try {
    const startTime = (await run('ps', ['-o', 'lstart=', '-p', String(pid)])).stdout.trim();
    return startTime ? { startTime, bootId: boot } : undefined;
  } catch {
    return undefined;
  }
}

/** The process group a process is in, as the OS says (never as a record says). */
async function processGroupOf(pid: number): Promise<number | undefined> {
  if (linux) {
    const pgid = Number(statFields(pid)?.[5 - 3]);
    return Number.isInteger(pgid) && pgid > 0 ? pgid : undefined;
  }
  try {
    const pgid = Number((await run('ps', ['-o', 'pgid=', '-p', String(pid)])).stdout.trim());
    return Number.isInteger(pgid) && pgid > 0 ? pgid : undefined;
  } catch {
    return undefined;
  }
}

/** Signal 0: does the pid exist at all (EPERM: it does, someone else's). */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return e instanceof Error && 'code' in e && e.code === 'EPERM';
  }
  return !isZombie(pid);
}

/** A killed child not yet reaped by its parent still answers kill(0); it is not running. */
function isZombie(pid: number): boolean {
  if (!linux) return false;
  return statFields(pid)?.[0] === 'Z';
}

/** Whether the recorded process is the one mlform started (see Verdict). */
export async function identify(tracked: TrackedProcess): Promise<Verdict> {
  const { pid, marker, launch } = tracked;
  if (pid === undefined || !Number.isInteger(pid) || pid < 2 || pid === process.pid) return 'gone';
  if (!pidExists(pid)) return 'gone';
  const line = await commandLineOf(pid);
  if (line.status === 'gone') return 'gone';
  if (line.status === 'ok') {
    if (!hasMarker(line.argv, marker)) return 'gone';
    if (launch && !hasLaunchId(line.argv, launch.id)) return 'gone';
  }
  if (!launch?.startTime || !launch.bootId) return 'unproven';
  const stamp = await stampOf(pid);
  if (!stamp) return 'unproven';
  if (stamp.bootId !== launch.bootId || stamp.startTime !== launch.startTime) return 'gone';
  return line.status === 'ok' ? 'ours' : 'unproven';
}

/** Alive for observation: proven ours, or a process with our marker that cannot be proven. */
export async function isAlive(tracked: TrackedProcess): Promise<boolean> {
  return (await identify(tracked)) !== 'gone';
}

/**
 * Pids whose command line carries each marker: the processes of launches whose pid was never
 * recorded (a crash between spawn and the record update). Scans every process once for all the
 * markers, so callers use it only for such records.
 */
export async function findProcesses(markers: readonly string[]): Promise<Map<string, number[]>> {
  const found = new Map<string, number[]>(markers.map((m) => [m, []]));
  if (markers.length === 0) return found;
  const note = (pid: number, argv: string[]) => {
    if (pid === process.pid) return;
    for (const marker of markers) if (hasMarker(argv, marker)) found.get(marker)?.push(pid);
  };
  if (linux) {
    const pids = (await readdir('/proc')).filter((e) => /^\d+$/.test(e)).map(Number);
    const limit = pLimit(32);
    await Promise.all(
      pids.map((pid) =>
        limit(async () => {
          const line = await commandLineOf(pid);
          if (line.status === 'ok') note(pid, line.argv);
        }),
      ),
    );
    return found;
  }
  try {
    const { stdout } = await run('ps', ['-ax', '-o', 'pid=,command='], { maxBuffer: 64 * 1024 * 1024 });
    for (const line of stdout.split('\n')) {
      const match = /^\s*(\d+)\s+(.*)$/.exec(line);
      if (match) note(Number(match[1]), [match[2]]);
    }
  } catch {
    // no ps: nothing found, the caller treats the launch as interrupted
  }
  return found;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until the process is no longer the one tracked (exited, or a zombie); false on timeout. */
export async function waitForExit(tracked: TrackedProcess, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await identify(tracked)) === 'gone') return true;
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone meanwhile
  }
}

export type StopOutcome = 'not-running' | 'stopped' | 'killed' | 'unproven';

/**
 * SIGTERM (trainings checkpoint, servers drain), then SIGKILL after `timeoutMs`. Only a process
 * proven ours is signalled; an unproven one is left alone and reported (`unproven`).
 */
export async function stopProcess(tracked: TrackedProcess, timeoutMs: number): Promise<StopOutcome> {
  const verdict = await identify(tracked);
  if (verdict === 'gone') return 'not-running';
  if (verdict === 'unproven' || tracked.pid === undefined) return 'unproven';
  const pid = tracked.pid;
  signal(pid, 'SIGTERM');
  if (await waitForExit(tracked, timeoutMs)) return 'stopped';
  // Proven ours again right before the kill. The whole process group only when the OS says this
  // process leads it (a detached child does, and a tuning run's trial workers are in it): a group
  // id never comes from a record.
  if ((await identify(tracked)) !== 'ours') return 'stopped';
  if ((await processGroupOf(pid)) === pid) signal(-pid, 'SIGKILL');
  signal(pid, 'SIGKILL');
  await waitForExit(tracked, 5_000);
  return 'killed';
}

/**
 * Processes found by a scan for a launch whose pid was never recorded (a crash between spawn and
 * the record update): they must carry both the marker and the record's launch id. A record from
 * before launch ids gives nothing to match, so nothing of it is ever signalled.
 */
export async function findLaunched(
  tracked: readonly TrackedProcess[],
): Promise<Map<TrackedProcess, number[]>> {
  const withId = tracked.filter((t) => t.launch !== undefined);
  const found = await findProcesses(withId.map((t) => t.marker));
  const out = new Map<TrackedProcess, number[]>(tracked.map((t) => [t, []]));
  for (const t of withId) {
    const id = t.launch?.id ?? '';
    const pids: number[] = [];
    for (const pid of found.get(t.marker) ?? []) {
      const line = await commandLineOf(pid);
      if (line.status === 'ok' && hasLaunchId(line.argv, id)) pids.push(pid);
    }
    out.set(t, pids);
  }
  return out;
}

/** Stamps a just-spawned process for its record: its own launch id plus what the OS says of it. */
export async function launchStamp(pid: number, id: string): Promise<TrackedProcess['launch']> {
  const stamp = await stampOf(pid);
  return { id, ...stamp };
}

export interface DetachedProcess {
  pid: number;
  /** Settles when the process exits, as long as this process lives to see it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnRequest {
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** stdout and stderr are appended here (JSON lines for train and serve). */
  logFile: string;
  /** A listening server whose socket the child inherits as descriptor 3 (`serve --listen-fd 3`). */
  listenSocket?: Server;
}

/** Descriptor at which the child finds `listenSocket`. */
export const LISTEN_FD = 3;

/**
 * The libuv handle of a listening server. Node's spawn passes a handle (not a net.Server) on to a
 * child as a descriptor, and exposes it only as `_handle`; checked so a Node that changed it fails
 * loudly rather than starting a server without its socket.
 */
function listeningHandle(server: Server): Stream {
  const handle = (server as unknown as { _handle?: unknown })._handle;
  if (typeof handle !== 'object' || handle === null) {
    throw new Error('the listening socket has no handle to pass on (not listening?)');
  }
  return handle as Stream;
}

/**
 * Starts a process in its own process group with its output in a file and nothing tying it to
 * us (no pipes, unref'd): the CLI can exit, or be killed, and the process carries on.
 */
export async function spawnDetached(request: SpawnRequest): Promise<DetachedProcess> {
  // Logs hold the training's output (feature names, error texts): private, like the records.
  const log = await open(request.logFile, 'a', PRIVATE_FILE_MODE);
  let child: ChildProcess;
  let failed: Promise<Error>;
  let exited: DetachedProcess['exited'];
  try {
    child = spawn(request.command, request.args, {
      cwd: request.cwd,
      env: request.env,
      detached: true,
      stdio: [
        'ignore',
        log.fd,
        log.fd,
        ...(request.listenSocket ? [listeningHandle(request.listenSocket)] : []),
      ],
    });
    // Listeners go on before the first await: 'error' is emitted on a later tick.
    failed = new Promise<Error>((resolve) => child.once('error', resolve));
    exited = new Promise((resolve) => {
      child.once('exit', (code, sig) => resolve({ code, signal: sig }));
    });
  } finally {
    // The child has its own copy of the descriptor once spawn returns.
    await log.close();
  }
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${request.command}: ${(await failed).message}`);
  child.unref();
  return { pid, exited };
}
