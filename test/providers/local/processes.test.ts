/**
 * Process identity (processes.ts): a recorded pid is ours only when its command line carries the
 * marker and launch id and its start time and boot id are the ones recorded at spawn. Anything
 * else is never signalled.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { identify, LAUNCH_ID_FLAG, stampOf, stopProcess } from '../../../providers/local/processes.js';

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

const MARKER = '/state/runs/x/1/artifact';
const ID = 'a1b2c3d4e5f6a7b8c9d0';

async function child(args: string[], detached = false): Promise<number> {
  const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)', ...args], {
    stdio: 'ignore',
    detached,
  });
  children.push(c);
  await new Promise((resolve) => setTimeout(resolve, 150));
  return c.pid as number;
}

/** Running: exists and is not a zombie waiting for its parent. */
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

describe.runIf(process.platform === 'linux')('identify', () => {
  it('proves a process by marker, launch id, start time and boot id; anything else is not ours', async () => {
    const pid = await child([MARKER, LAUNCH_ID_FLAG, ID]);
    const stamp = await stampOf(pid);
    expect(stamp?.startTime).toMatch(/^\d+$/);
    const launch = { id: ID, ...stamp };
    expect(await identify({ pid, marker: MARKER, launch })).toBe('ours');
    expect(await identify({ pid, marker: MARKER, launch: { ...launch, startTime: '1' } })).toBe('gone');
    expect(await identify({ pid, marker: MARKER, launch: { ...launch, bootId: 'another-boot' } })).toBe(
      'gone',
    );
    expect(await identify({ pid, marker: MARKER, launch: { ...launch, id: 'f'.repeat(20) } })).toBe('gone');
    expect(await identify({ pid, marker: '/elsewhere', launch })).toBe('gone');
    // A record from before stamps: alive for observation, never signalled.
    expect(await identify({ pid, marker: MARKER })).toBe('unproven');
    expect(await stopProcess({ pid, marker: MARKER }, 100)).toBe('unproven');
    expect(await stopProcess({ pid, marker: MARKER, launch: { ...launch, startTime: '1' } }, 100)).toBe(
      'not-running',
    );
    expect(alive(pid)).toBe(true);
    // Our own pid and pid 1 are never anyone's training.
    expect(await identify({ pid: process.pid, marker: process.argv[1] })).toBe('gone');
    expect(await identify({ pid: 1, marker: MARKER })).toBe('gone');
  });

  it('stops a proven process, and kills its group only when it leads one', async () => {
    // A leader of its own group that ignores SIGTERM, with a worker in its group (a tuning run's
    // trial): the stop escalates to SIGKILL of the whole group.
    const code = [
      "process.on('SIGTERM', () => {});",
      "const w = require('node:child_process').spawn(process.execPath, ['-e', \"process.on('SIGTERM', () => {}); setInterval(() => {}, 1e6)\"], {stdio: 'ignore'});",
      'console.log(w.pid);',
      'setInterval(() => {}, 1e6);',
    ].join('\n');
    const leader = spawn(process.execPath, ['-e', code, MARKER, LAUNCH_ID_FLAG, ID], {
      stdio: ['ignore', 'pipe', 'ignore'],
      detached: true,
    });
    children.push(leader);
    const worker = await new Promise<number>((resolve) =>
      leader.stdout?.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim()))),
    );
    const exited = new Promise((resolve) => leader.once('exit', resolve));
    const pid = leader.pid as number;
    const launch = { id: ID, ...(await stampOf(pid)) };
    expect(await stopProcess({ pid, marker: MARKER, launch }, 300)).toBe('killed');
    await exited;
    const deadline = Date.now() + 5_000;
    while (alive(worker) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(alive(worker)).toBe(false);
  });
});
