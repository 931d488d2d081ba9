/**
 * Detached child processes and how to recognise them later. Trainings and serving processes
 * outlive the CLI that started them, so a later CLI knows them only by a recorded pid; pids are
 * recycled, so a pid counts as ours only when its command line holds our marker argument (the
 * run's artifact directory, the endpoint's config path).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { open, readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import pLimit from 'p-limit';

const run = promisify(execFile);
const linux = process.platform === 'linux';

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
  if (process.platform !== 'linux') return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z';
  } catch {
    return false;
  }
}

/**
 * Whether `pid` is the process that carries `marker`. When the pid exists but its command line
 * cannot be read, it is given the benefit of the doubt: calling a live training dead would cache
 * a false failure.
 */
export async function isOurs(pid: number | undefined, marker: string): Promise<boolean> {
  if (pid === undefined || !pidExists(pid)) return false;
  const line = await commandLineOf(pid);
  if (line.status === 'unreadable') return true;
  return line.status === 'ok' && hasMarker(line.argv, marker);
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

/** Polls until the process is no longer ours (exited, or a zombie); false on timeout. */
export async function waitForExit(pid: number, marker: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await isOurs(pid, marker))) return true;
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

/**
 * SIGTERM (trainings checkpoint, servers drain), then SIGKILL after `timeoutMs`. Only a process
 * that is provably ours is signalled: a recycled pid belongs to someone else.
 */
export async function stopProcess(
  pid: number | undefined,
  marker: string,
  timeoutMs: number,
): Promise<'not-running' | 'stopped' | 'killed'> {
  if (pid === undefined || !(await isOurs(pid, marker))) return 'not-running';
  signal(pid, 'SIGTERM');
  if (await waitForExit(pid, marker, timeoutMs)) return 'stopped';
  // The whole process group: a detached child leads its own, and a tuning run's trial workers
  // are in it. Killed without warning, the leader could not stop them itself.
  signal(-pid, 'SIGKILL');
  signal(pid, 'SIGKILL');
  await waitForExit(pid, marker, 5_000);
  return 'killed';
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
}

/**
 * Starts a process in its own process group with its output in a file and nothing tying it to
 * us (no pipes, unref'd): the CLI can exit, or be killed, and the process carries on.
 */
export async function spawnDetached(request: SpawnRequest): Promise<DetachedProcess> {
  const log = await open(request.logFile, 'a');
  let child: ChildProcess;
  let failed: Promise<Error>;
  let exited: DetachedProcess['exited'];
  try {
    child = spawn(request.command, request.args, {
      cwd: request.cwd,
      env: request.env,
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
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
