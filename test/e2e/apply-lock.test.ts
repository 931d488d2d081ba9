/** Two applies at once, and a saved plan that went stale: both refused with a clear message. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../controller/helpers.js';

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

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-lock-'));
  project = join(root, 'quickstart');
  await cp('examples/quickstart', project, { recursive: true, filter: (src) => !src.includes('.mlform') });
  await cp('examples/data/cars.json', join(root, 'data', 'cars.json'));
  // A clone, as in the README: the quickstart's ../data is inside the repository (its tree root).
  execFileSync('git', ['init', '-q', root]);
});

afterAll(async () => {
  mlform('destroy', '-y', project);
  await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

describe('apply lock and saved plans', () => {
  it('a second apply while one runs fails naming the holder', async () => {
    const first = spawn(process.execPath, ['bin/mlform.js', 'apply', '-y', project], { env, stdio: 'pipe' });
    let firstOut = '';
    first.stdout.on('data', (chunk: Buffer) => (firstOut += chunk.toString()));
    let firstExit: number | null | undefined;
    const firstDone = new Promise<number | null>((resolve) =>
      first.on('exit', (code) => resolve((firstExit = code))),
    );
    // Wait until the first apply is past planning (it holds the lock while it trains); fail, not
    // carry on, when it never gets there.
    await waitFor(
      'the first apply to start the training',
      async () => firstOut.includes('TrainingRun/mpg-mlp: create complete'),
      60_000,
      50,
    ).catch((e: unknown) => {
      throw new Error(
        `${String(e)}; first apply ${firstExit === undefined ? 'running' : `exited ${firstExit}`}:\n${firstOut}`,
      );
    });
    expect(firstExit, 'the first apply must still hold the lock').toBeUndefined();
    const second = mlform('apply', '-y', project);
    expect(second.code).toBe(1);
    expect(second.out).toMatch(
      /apply lock held by \S+@\S+ \(pid \d+\) until \d\d:\d\d:\d\d; retry later or wait/,
    );
    expect(await firstDone).toBe(0);
  });

  it('refuses a saved plan once the actual state has moved on', async () => {
    const planFile = join(root, 'plan.json');
    const file = join(project, 'training.yaml');
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace('learningRate: 0.003', 'learningRate: 0.002'),
    );
    const saved = mlform('plan', '--out', planFile, project);
    expect(saved.code).toBe(0);
    // Someone else applies first: the saved plan no longer describes the state.
    expect(mlform('apply', '-y', project).code).toBe(0);
    const stale = mlform('apply', planFile, project);
    expect(stale.code).toBe(1);
    expect(stale.out).toMatch(/stale|changed since/i);
  });
});
