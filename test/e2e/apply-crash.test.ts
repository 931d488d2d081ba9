/**
 * Crash safety of apply: SIGKILL `mlform apply` at 20 seeded moments (during planning, while the
 * training runs, during registration and rollout), then apply again. The result must converge with
 * exactly one run, one version and one serving process: every step is idempotent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
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

/** Starts an apply and SIGKILLs it after `ms`; resolves when it is dead. */
function applyKilledAfter(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['bin/mlform.js', 'apply', '-y', project], {
      env,
      stdio: 'ignore',
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', () => {
      clearTimeout(timer);
      resolve();
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
  await rm(root, { recursive: true, force: true });
});

describe('apply killed with SIGKILL at 20 points', () => {
  it('converges afterwards with no duplicate run, version or endpoint', async () => {
    const random = mulberry32(20261122);
    // Spread over a whole apply (~1-10 s here): early kills hit planning and launching, later ones
    // the wait for the training, registration, the alias move and the endpoint start.
    for (let i = 0; i < 20; i++) await applyKilledAfter(Math.floor(150 + random() * 6000));

    const final = mlform('apply', '-y', project);
    expect(final.code, final.out).toBe(0);
    expect(mlform('plan', '--detailed-exitcode', project).code).toBe(0);

    expect(await readdir(join(project, '.mlform', 'runs', 'mpg-mlp'))).toEqual(['1']);
    expect(await readdir(join(project, '.mlform', 'registry', 'mpg', 'versions'))).toEqual(['1']);
    expect(servingProcesses()).toHaveLength(1);
  }, 300_000);
});
