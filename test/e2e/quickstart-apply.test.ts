/**
 * The main job end to end through the CLI, as a user runs it: apply the quickstart on the local
 * provider (train, register, serve), converge, change a hyperparameter, heal a killed endpoint,
 * refuse a protected destroy, destroy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync, execFileSync } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive, killProcessesUnder, waitFor } from '../providers/local/helpers.js';

let root: string;
let project: string;
/** Every test of the file passed (the cleanup then knows which runs it must find). */
let completed = false;

function mlform(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/mlform.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, CI: 'true', MLFORM_BACKEND: 'wasm' },
    timeout: 180_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

async function endpointRecord(): Promise<{ pid?: number; url?: string }> {
  const dir = join(project, '.mlform', 'endpoints', 'mpg-api');
  return JSON.parse(await readFile(join(dir, 'endpoint.json'), 'utf8')) as { pid?: number; url?: string };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-e2e-'));
  project = join(root, 'quickstart');
  await cp('examples/quickstart', project, { recursive: true, filter: (src) => !src.includes('.mlform') });
  await cp('examples/data/cars.json', join(root, 'data', 'cars.json'));
  // A clone, as in the README: the quickstart's ../data is inside the repository (its tree root).
  execFileSync('git', ['init', '-q', root]);
});

/** The pid in a record (`pid` of run.json and endpoint.json), when the file is there. */
async function recordedPid(file: string): Promise<number | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  const pid = text === undefined ? undefined : (JSON.parse(text) as { pid?: unknown }).pid;
  return typeof pid === 'number' ? pid : undefined;
}

/** Every pid the state records: trainings (`runs/<name>/<number>/run.json`) and servers. */
async function recordedPids(): Promise<{ runs: string[]; pids: number[] }> {
  const state = join(project, '.mlform');
  const runs: string[] = [];
  const pids: number[] = [];
  for (const name of await readdir(join(state, 'runs')).catch(() => [] as string[])) {
    for (const number of await readdir(join(state, 'runs', name)).catch(() => [] as string[])) {
      const pid = await recordedPid(join(state, 'runs', name, number, 'run.json'));
      if (pid === undefined) continue;
      runs.push(`${name}#${number}`);
      pids.push(pid);
    }
  }
  for (const name of await readdir(join(state, 'endpoints')).catch(() => [] as string[])) {
    const pid = await recordedPid(join(state, 'endpoints', name, 'endpoint.json'));
    if (pid !== undefined) pids.push(pid);
  }
  return { runs, pids };
}

afterAll(async () => {
  // Whatever happened, leave no serving or training process behind: first what the state records,
  // then anything else started with a path inside the project (a training whose record was lost).
  mlform('destroy', '-y', project);
  const { runs, pids } = await recordedPids();
  for (const pid of pids.filter(isAlive)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await killProcessesUnder(root);
  await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  // Runs are history (destroy keeps them): the two trainings of this file, when it ran through.
  if (completed) expect(runs.sort()).toEqual(['mpg-mlp#1', 'mpg-mlp#2']);
});

describe('mlform apply on the quickstart (local provider)', () => {
  it('trains, registers and serves on a fresh apply, then reports no changes', async () => {
    const first = mlform('apply', '-y', project);
    expect(first.out).toContain('+ TrainingRun/mpg-mlp (mpg-mlp#1)');
    expect(first.out).toContain('Apply complete');
    expect(first.code).toBe(0);
    const { url } = await endpointRecord();
    const response = await fetch(`${url}/v1/models/mpg:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        instances: [
          {
            Cylinders: 4,
            Displacement: 120,
            Horsepower: 95,
            Weight_in_lbs: 2400,
            Acceleration: 15,
            Year: '1980-01-01',
            Origin: 'Japan',
          },
        ],
      }),
    });
    const body = (await response.json()) as { predictions: number[] };
    expect(response.status).toBe(200);
    expect(body.predictions[0]).toBeGreaterThan(15);
    expect(body.predictions[0]).toBeLessThan(45);

    const again = mlform('plan', '--detailed-exitcode', project);
    expect(again.out).toContain('No changes');
    expect(again.code).toBe(0);
  });

  it('a hyperparameter change plans -/+ for the run and the register, promote and rollout it causes', async () => {
    const file = join(project, 'training.yaml');
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace('learningRate: 0.003', 'learningRate: 0.002'),
    );
    const p = mlform('plan', '--detailed-exitcode', project);
    expect(p.code).toBe(2);
    const order = [
      '-/+ TrainingRun/mpg-mlp (mpg-mlp#2)',
      '+ register mpg from mpg-mlp#2',
      '~ alias mpg/champion v1 -> (known after training)',
      '~ DeployedEndpoint/mpg-api',
    ].map((line) => p.out.indexOf(line));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);

    const applied = mlform('apply', '-y', project);
    expect(applied.code).toBe(0);
    expect(mlform('plan', '--detailed-exitcode', project).code).toBe(0);
  });

  it('a killed endpoint process is drift in plan and is restarted by apply', async () => {
    const { pid } = await endpointRecord();
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, 'SIGKILL');
    await waitFor(
      async () => isAlive(pid!),
      (alive) => !alive,
      { timeoutMs: 10_000, everyMs: 20 },
    );
    const p = mlform('plan', '--detailed-exitcode', project);
    expect(p.code).toBe(2);
    expect(p.out).toContain('~ DeployedEndpoint/mpg-api (drift)');
    expect(p.out).toContain(`process ${pid} not running`);
    expect(mlform('apply', '-y', project).code).toBe(0);
    const { pid: restarted, url } = await endpointRecord();
    expect(restarted).not.toBe(pid);
    expect((await fetch(`${url}/v2/health/ready`)).status).toBe(200);
  });

  it('removing a manifest prunes its resource', async () => {
    const manifest = join(project, 'schedule.yaml');
    const text = await readFile(manifest, 'utf8');
    await rm(manifest);
    const p = mlform('plan', '--detailed-exitcode', project);
    expect(p.code).toBe(2);
    expect(p.out).toContain('- Schedule/mpg-weekly');
    expect(mlform('apply', '-y', project).code).toBe(0);
    expect(await readdir(join(project, '.mlform', 'schedules')).catch(() => [])).toEqual([]);
    await writeFile(manifest, text);
  });

  it('refuses to destroy a prevent-destroy resource, then destroys everything else', async () => {
    const file = join(project, 'model.yaml');
    const original = await readFile(file, 'utf8');
    const protectedModel = original.replace(
      /^( {2}name: mpg)$/m,
      '$1\n  annotations: {mlform/prevent-destroy: "true"}',
    );
    expect(protectedModel).not.toBe(original);
    await writeFile(file, protectedModel);
    expect(mlform('apply', '-y', project).code).toBe(0);
    const refused = mlform('destroy', '-y', project);
    expect(refused.code).toBe(1);
    expect(refused.out).toContain('mlform/prevent-destroy');

    await writeFile(file, original);
    expect(mlform('apply', '-y', project).code).toBe(0);
    const { url } = await endpointRecord();
    const destroyed = mlform('destroy', '-y', project);
    expect(destroyed.code).toBe(0);
    // The serving process is gone: nothing answers on its port any more.
    await expect(fetch(`${url}/v2/health/live`, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    expect(mlform('plan', '--detailed-exitcode', '--destroy', project).code).toBe(0);
    completed = true;
  });
});
