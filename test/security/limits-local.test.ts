/**
 * Issue 18, items 9 and 11b, through the CLI (`node bin/mlform.js`, built: needs `npm run build`):
 * a commit with more TrainingRuns than the machine's training slots, and what other users of the
 * machine can read of the state afterwards.
 *
 * Before: every TrainingRun of a commit started its trainer at once (eight runs, 877 MB after 3 s),
 * and the state directory, artifacts and logs were created 0755/0644.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { copyFile, lstat, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

const env: NodeJS.ProcessEnv = {
  ...process.env,
  NO_COLOR: '1',
  FORCE_COLOR: undefined,
  CI: 'true',
  MLFORM_BACKEND: 'wasm',
};
delete env.MLFORM_STATE_DIR;
delete env.MLFORM_MAX_LOCAL_TRAININGS;
delete env.MLFORM_POLICY;

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-sec-limits-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

const trainingRun = (name: string, epochs: number) =>
  [
    'apiVersion: mlform/v1',
    'kind: TrainingRun',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  trainer:',
    '    builtin:',
    '      task: classification',
    '      data: {uri: file://iris.csv, target: species}',
    '      network: {type: mlp, layers: [4]}',
    `      hyperparameters: {epochs: ${epochs}}`,
    '',
  ].join('\n');

async function project(name: string, runs: number, epochs: number): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'mlform.yaml'), 'stack: limits\nprovider: local\n');
  await copyFile('examples/data/iris.csv', join(dir, 'iris.csv'));
  for (let i = 1; i <= runs; i++)
    await writeFile(join(dir, `run-${i}.yaml`), trainingRun(`run-${i}`, epochs));
  return dir;
}

/** Live `mlform train` processes whose output goes under `stateDir` (read from /proc). */
function trainers(stateDir: string): number {
  let count = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.startsWith('Z')) continue;
    } catch {
      continue;
    }
    if (args.includes('train') && args.some((a) => a.startsWith(stateDir))) count++;
  }
  return count;
}

function mlform(...args: string[]): { code: number | null; out: string } {
  const r = runCli(args, { env, timeoutMs: 120_000 });
  return { code: r.code, out: r.all };
}

describe.runIf(process.platform === 'linux')('local training slots (item 9)', () => {
  it('a commit with 4 TrainingRuns and maxLocalTrainings 2: two trainers at most, the rest queued, all finish', async () => {
    const dir = await project('queue', 4, 80);
    const stateDir = join(dir, '.mlform');
    const policy = join(root, 'policy.yaml');
    await writeFile(policy, 'maxLocalTrainings: 2\n');

    // apply waits for the runs it started, observing them (and so starting queued ones) each pass.
    const applying = spawn(process.execPath, ['bin/mlform.js', 'apply', '-y', '--policy', policy, dir], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    applying.stdout.on('data', (d: Buffer) => (output += d.toString()));
    applying.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => applying.once('exit', resolve));
    let most = 0;
    let sawQueued = false;
    let done = false;
    void exited.then(() => (done = true));
    while (!done) {
      const now = trainers(stateDir);
      most = Math.max(most, now);
      if (!sawQueued && now === 2) {
        // Two are training: `get` shows the other two as queued.
        const got = mlform('get', 'trainingruns', '--policy', policy, '-o', 'json', '-f', dir);
        const details = (JSON.parse(got.out) as { resources: { details: string }[] }).resources.map(
          (r) => r.details,
        );
        sawQueued = details.filter((d) => /queued/.test(d)).length === 2;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await exited, output).toBe(0);
    expect(most).toBe(2);
    expect(sawQueued).toBe(true);
    const got = mlform('get', 'trainingruns', '--policy', policy, '-o', 'json', '-f', dir);
    const details = (JSON.parse(got.out) as { resources: { details: string }[] }).resources.map(
      (r) => r.details,
    );
    expect(details).toHaveLength(4);
    for (const d of details) expect(d).toMatch(/^run #1 succeeded/);
  }, 180_000);
});

describe.runIf(process.platform !== 'win32')('private state (item 11b)', () => {
  it('after an apply with a training, nothing under the state dir is group- or world-accessible', async () => {
    const dir = await project('modes', 1, 2);
    const stateDir = join(dir, '.mlform');
    // A registered model too: its version is a copy of the artifact, in the registry.
    await writeFile(
      join(dir, 'run-1.yaml'),
      trainingRun('run-1', 2).replace('spec:\n', 'spec:\n  model: iris\n  tensorboard: {histograms: true}\n'),
    );
    await writeFile(
      join(dir, 'model.yaml'),
      'apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata:\n  name: iris\nspec:\n  description: iris\n',
    );
    const applied = mlform('apply', '-y', dir);
    expect(applied.code, applied.out).toBe(0);
    const loose: string[] = [];
    let files = 0;
    const walk = async (path: string): Promise<void> => {
      const info = await lstat(path);
      if (info.isDirectory()) {
        if ((info.mode & 0o777) !== 0o700) loose.push(`${path} ${(info.mode & 0o777).toString(8)}`);
        for (const entry of await readdir(path)) await walk(join(path, entry));
      } else {
        files++;
        if ((info.mode & 0o077) !== 0) loose.push(`${path} ${(info.mode & 0o777).toString(8)}`);
      }
    };
    await walk(stateDir);
    expect(loose).toEqual([]);
    // The walk saw the records, the log and the artifact (preprocess.json holds raw categories).
    expect(files).toBeGreaterThan(8);
    const versions = await readdir(join(stateDir, 'registry', 'iris', 'versions'));
    expect(versions).toContain('1');
  }, 120_000);
});
