/**
 * Stopping a command that bubblewrap runs. bwrap does not pass signals on, and the command is in
 * a pid namespace and a session of its own, so neither bwrap's pid nor a process group reaches
 * it: the supervisor signals bwrap's descendants by their host pids (a namespace's init ignores
 * SIGTERM, the command gets it and may write its checkpoint). When bwrap itself dies, its
 * `--die-with-parent` child takes the whole namespace with it.
 */
import { readdir, readFile } from 'node:fs/promises';

/** pid -> parent pid of every process we can see (Linux /proc). */
async function parents(): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
    // `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = stat ? Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) : Number.NaN;
    if (Number.isInteger(ppid)) out.set(Number(entry), ppid);
  }
  return out;
}

/** Every process below `pid`, nearest first. */
export async function descendants(pid: number): Promise<number[]> {
  const tree = await parents();
  const out: number[] = [];
  let frontier = [pid];
  while (frontier.length > 0) {
    const next = [...tree].filter(([, parent]) => frontier.includes(parent)).map(([child]) => child);
    out.push(...next);
    frontier = next;
  }
  return out;
}

/** Sends `signal` to `pid` and everything below it; processes gone meanwhile are skipped. */
export async function signalTree(pid: number, signal: NodeJS.Signals): Promise<void> {
  for (const target of [pid, ...(await descendants(pid))]) {
    try {
      process.kill(target, signal);
    } catch {
      // exited meanwhile
    }
  }
}
