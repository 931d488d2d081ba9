/**
 * Crash safety of apply: SIGKILL `mlform apply` at 20 seeded moments (during planning, while the
 * training runs, during registration and rollout), then apply again. The result must converge with
 * exactly one run, one version and one serving process: every step is idempotent.
 *
 * Kills are timed from the moment the apply holds its lock (`.mlform/lock.json` names its pid), not
 * from the spawn: on a busy machine Node's start-up alone can outlast a spawn-timed kill, which would
 * then test nothing. A kill that finds the apply still running counts as an interruption, and the
 * test requires a minimum of them (as test/e2e/gcp-crash.test.ts does).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '../../trainer/data/random.js';

let root: string;
let project: string;
const env = { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, CI: 'true', MLFORM_BACKEND: 'wasm' };

const mlform = (...args: string[]) => {
  const r = spawnSync(process.execPath, ['bin/mlform.js', ...args], {
    encoding: 'utf8',
    env,
    timeout: 180_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
};

/** The pid in the apply lock, when one is held (written whole: see providers/local/lease.ts). */
async function lockHolderPid(dir: string): Promise<number | undefined> {
  const text = await readFile(join(dir, '.mlform', 'lock.json'), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const pid = (JSON.parse(text) as { pid?: unknown }).pid;
    return typeof pid === 'number' ? pid : undefined;
  } catch {
    return undefined;
  }
}

interface KilledApply {
  /** The apply was still running when the kill came. */
  interrupted: boolean;
  /** It took the lock (a no-op apply may finish between two polls). */
  locked: boolean;
  /** Its last line of output. */
  last: string;
  /** From the moment the lock was seen to the exit, in ms (when it was seen). */
  activeMs?: number;
}

/**
 * Starts an apply of `dir` and SIGKILLs it `ms` after it took the apply lock (never, without `ms`);
 * resolves when it has exited.
 */
function applyKilledAfterLock(dir: string, ms?: number): Promise<KilledApply> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/mlform.js', 'apply', '-y', dir], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    let locked = false;
    let lockedAt = 0;
    let timer: NodeJS.Timeout | undefined;
    let polling = false;
    const poll = setInterval(() => {
      if (polling) return;
      polling = true;
      void lockHolderPid(dir).then((pid) => {
        polling = false;
        if (locked || pid !== child.pid) return;
        locked = true;
        lockedAt = Date.now();
        clearInterval(poll);
        if (ms !== undefined) timer = setTimeout(() => child.kill('SIGKILL'), ms);
      });
    }, 3);
    child.on('close', (_code, signal) => {
      clearInterval(poll);
      clearTimeout(timer);
      resolve({
        interrupted: signal === 'SIGKILL',
        locked,
        last: out.trim().split('\n').at(-1) ?? '',
        ...(locked && { activeMs: Date.now() - lockedAt }),
      });
    });
  });
}

const servingProcesses = (): string[] =>
  execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(join(project, '.mlform', 'endpoints')) && !line.includes(' ps '));

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-crash-'));
  project = join(root, 'quickstart');
  await cp('examples/quickstart', project, { recursive: true, filter: (src) => !src.includes('.mlform') });
  await cp('examples/data/cars.json', join(root, 'data', 'cars.json'));
  // A clone, as in the README: the quickstart's ../data is inside the repository (its tree root).
  execFileSync('git', ['init', '-q', root]);
});

afterAll(async () => {
  mlform('destroy', '-y', project);
  for (const line of servingProcesses()) {
    try {
      process.kill(Number.parseInt(line.trim(), 10), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

const KILLS = 20;

describe('apply killed with SIGKILL at 20 points', () => {
  it('converges afterwards with no duplicate run, version or endpoint', async () => {
    // One full apply of another copy: how long it holds the lock, i.e. the span of its work.
    const calibration = join(root, 'calibration');
    await cp('examples/quickstart', calibration, {
      recursive: true,
      filter: (src) => !src.includes('.mlform'),
    });
    const full = await applyKilledAfterLock(calibration);
    expect(mlform('destroy', '-y', calibration).code).toBe(0);
    expect(full.interrupted).toBe(false);
    expect(full.activeMs, 'the lock of a full apply was seen').toBeGreaterThan(0);
    const activeMs = full.activeMs!;

    const random = mulberry32(20261122);
    // Stratified over that span, from taking the lock: kill i lands at a seeded point of the i-th
    // twentieth. Each apply goes on from where the killed ones left off (the training is detached
    // and keeps running), so early kills hit planning and launching, later ones the wait for the
    // training, registration, the alias move and the endpoint start; once an apply gets to the end,
    // the remaining ones are no-ops that finish first.
    const kills: string[] = [];
    let interrupted = 0;
    for (let i = 0; i < KILLS; i++) {
      const at = Math.floor(((i + random()) / KILLS) * activeMs);
      const r = await applyKilledAfterLock(project, at);
      if (r.interrupted) interrupted++;
      kills.push(
        `#${i + 1} at lock + ${at} ms: ${r.interrupted ? 'killed' : r.locked ? 'finished' : 'finished, lock not seen'} (${r.last.slice(0, 80)})`,
      );
    }
    console.log(
      `full apply: ${activeMs} ms holding the lock; ${interrupted} of ${KILLS} applies killed while running:\n  ${kills.join('\n  ')}`,
    );
    // 5 to 7 here: the training goes on between applies, so the apply converges after a few kills.
    expect(interrupted, `kills that hit a running apply:\n${kills.join('\n')}`).toBeGreaterThanOrEqual(3);

    const final = mlform('apply', '-y', project);
    expect(final.code, final.out).toBe(0);
    expect(mlform('plan', '--detailed-exitcode', project).code).toBe(0);

    expect(await readdir(join(project, '.mlform', 'runs', 'mpg-mlp'))).toEqual(['1']);
    expect(await readdir(join(project, '.mlform', 'registry', 'mpg', 'versions'))).toEqual(['1']);
    expect(servingProcesses()).toHaveLength(1);
  }, 300_000);
});
