/**
 * The processes behind upstream versions, when the launcher hands them over: the local provider
 * prepares each version's command (already confined by its sandbox, environment included) and
 * passes the list in MLFORM_SERVE_UPSTREAMS; `mlform serve` starts them as its own children. So
 * they live exactly as long as this server: bubblewrap's `--die-with-parent` ends a sandbox
 * when its parent ends, and a detached sandbox started by the CLI would end with the CLI. A
 * child that exits is fatal to the server (the provider sees it down and the next apply
 * restarts it), never left half-serving.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { PRIVATE_FILE_MODE } from '../artifact/storage.js';

/** The variable the launcher passes the list in; read once, then deleted. */
export const UPSTREAMS_ENV = 'MLFORM_SERVE_UPSTREAMS';

export interface UpstreamLaunch {
  version: number;
  command: string;
  args: string[];
  /** The whole environment of the process (nothing is inherited). */
  env: Record<string, string>;
  cwd: string;
  /** stdout and stderr are appended here. */
  logFile: string;
}

const isStringMap = (v: unknown): v is Record<string, string> =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  Object.values(v).every((x) => typeof x === 'string');

function isLaunch(v: unknown): v is UpstreamLaunch {
  if (typeof v !== 'object' || v === null) return false;
  const l = v as Record<string, unknown>;
  return (
    Number.isInteger(l.version) &&
    typeof l.command === 'string' &&
    Array.isArray(l.args) &&
    l.args.every((a) => typeof a === 'string') &&
    isStringMap(l.env) &&
    typeof l.cwd === 'string' &&
    typeof l.logFile === 'string'
  );
}

/**
 * The launches in `env` (removed from it and from this process's environment, so nothing this
 * server starts or logs sees them: they may hold secret values). Throws on a malformed list.
 */
export function takeUpstreamLaunches(env: Record<string, string | undefined>): UpstreamLaunch[] {
  const text = env[UPSTREAMS_ENV];
  delete env[UPSTREAMS_ENV];
  delete process.env[UPSTREAMS_ENV];
  if (text === undefined || text === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`$${UPSTREAMS_ENV} is not JSON`);
  }
  if (!Array.isArray(parsed) || !parsed.every(isLaunch)) {
    throw new Error(`$${UPSTREAMS_ENV} must be a list of {version, command, args, env, cwd, logFile}`);
  }
  return parsed;
}

/** The last line a process wrote to its log (its error, as a rule), at most 300 characters. */
function lastLine(file: string): string | undefined {
  try {
    const fd = openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(4096);
      const start = Math.max(0, fstatSync(fd).size - buffer.length);
      const n = readSync(fd, buffer, 0, buffer.length, start);
      const lines = buffer.subarray(0, n).toString('utf8').split('\n');
      return lines
        .map((l) => l.trim())
        .filter(Boolean)
        .at(-1)
        ?.slice(0, 300);
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

export interface RunningUpstream {
  version: number;
  /** Why it is not running, once it exited (undefined while it runs). */
  exitReason(): string | undefined;
  /** Settles when it exits. */
  exited: Promise<string>;
}

export class UpstreamProcesses {
  private readonly children: { launch: UpstreamLaunch; child: ChildProcess; exited: Promise<string> }[] = [];

  /** Starts every launch now; a launch that cannot start at all has exited at once. */
  start(launches: readonly UpstreamLaunch[]): RunningUpstream[] {
    return launches.map((launch) => {
      const log = openSync(launch.logFile, 'a', PRIVATE_FILE_MODE);
      let reason: string | undefined;
      let child: ChildProcess;
      try {
        child = spawn(launch.command, launch.args, {
          cwd: launch.cwd,
          env: launch.env,
          stdio: ['ignore', log, log],
        });
      } finally {
        closeSync(log);
      }
      const exited = new Promise<string>((resolve) => {
        child.once('error', (e) => resolve((reason = `cannot start ${launch.command}: ${e.message}`)));
        child.once('exit', (code, signal) => {
          const last = lastLine(launch.logFile);
          resolve(
            (reason ??= `its process exited with ${signal ?? code}${last ? `: ${last}` : ''} (see ${launch.logFile})`),
          );
        });
      });
      this.children.push({ launch, child, exited });
      return { version: launch.version, exitReason: () => reason, exited };
    });
  }

  /** SIGTERM to every child, SIGKILL to those still running after `timeoutMs`. */
  async stop(timeoutMs: number): Promise<void> {
    const running = this.children.filter((c) => c.child.exitCode === null && c.child.signalCode === null);
    for (const c of running) c.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const all = Promise.all(running.map((c) => c.exited));
    if ((await Promise.race([all, deadline])) === 'timeout') {
      for (const c of running) c.child.kill('SIGKILL');
      await all;
    }
    clearTimeout(timer);
  }
}
