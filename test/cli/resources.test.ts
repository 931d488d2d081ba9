/**
 * The resource commands end to end through the built CLI (get, describe, logs, cancel, trigger) on
 * one applied quickstart: the tests share its state, so they run in order and build on each other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync, execFileSync } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let root: string;
let project: string;

function mlform(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/mlform.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, CI: 'true', MLFORM_BACKEND: 'wasm' },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, out: `${r.stdout}${r.stderr}` };
}

/** Every resource command takes the project with -f (logs with --file: its -f follows). */
const inProject = (...args: string[]) => mlform(...args, '-f', project);

async function pidsOf(dir: string, file: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const text = await readFile(join(dir, name, file), 'utf8').catch(() => undefined);
    const pid = text ? (JSON.parse(text) as { pid?: number }).pid : undefined;
    if (pid) pids.push(pid);
  }
  return pids;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-resources-'));
  project = join(root, 'quickstart');
  await cp('examples/quickstart', project, { recursive: true, filter: (src) => !src.includes('.mlform') });
  await cp('examples/data/cars.json', join(root, 'data', 'cars.json'));
  // A clone, as in the README: the quickstart's ../data is inside the repository (its tree root).
  execFileSync('git', ['init', '-q', root]);
  const applied = mlform('apply', '-y', project);
  expect(applied.code, applied.out).toBe(0);
}, 150_000);

afterAll(async () => {
  // Whatever happened, leave no serving or training process behind.
  mlform('destroy', '-y', project);
  const state = join(project, '.mlform');
  const pids = [
    ...(await pidsOf(join(state, 'endpoints'), 'endpoint.json')),
    ...(
      await Promise.all(
        (await readdir(join(state, 'runs')).catch(() => [] as string[])).map((name) =>
          pidsOf(join(state, 'runs', name), 'run.json'),
        ),
      )
    ).flat(),
  ];
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}, 60_000);

describe('mlform get / describe / logs / cancel / trigger', () => {
  it('get lists the four resources Synced and Healthy, with the run metric and the endpoint URL', () => {
    const r = inProject('get');
    expect(r.code, r.out).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^KIND\s+NAME\s+SYNC\s+HEALTH\s+DETAILS$/);
    expect(lines).toHaveLength(5);
    expect(lines[1]).toMatch(/^TrainingRun\s+mpg-mlp\s+Synced\s+Healthy\s+run #1 succeeded val_mae \d/);
    expect(lines[2]).toMatch(/^RegisteredModel\s+mpg\s+Synced\s+Healthy\s+1 version; champion=v1$/);
    expect(lines[3]).toMatch(
      /^DeployedEndpoint\s+mpg-api\s+Synced\s+Healthy\s+http:\/\/127\.0\.0\.1:\d+ v1 100%$/,
    );
    expect(lines[4]).toMatch(
      /^Schedule\s+mpg-weekly\s+Synced\s+Healthy\s+cron "0 6 \* \* 1" Europe\/Warsaw; next \d{4}-/,
    );
    // Columns line up: every row's SYNC starts where the header's does.
    const syncColumn = lines[0].indexOf('SYNC');
    for (const line of lines.slice(1)) expect(line.slice(syncColumn, syncColumn + 6)).toBe('Synced');
    expect(r.stdout.includes('\u001b[')).toBe(false);
  });

  it('get filters by kind in any spelling, and -o json parses', () => {
    for (const kind of ['trainingrun', 'trainingruns', 'TrainingRun']) {
      const r = inProject('get', kind);
      expect(r.code, r.out).toBe(0);
      expect(r.stdout.trimEnd().split('\n')).toHaveLength(2);
      expect(r.stdout).toContain('mpg-mlp');
    }
    const json = inProject('get', '-o', 'json');
    expect(json.code, json.out).toBe(0);
    const doc = JSON.parse(json.stdout) as {
      formatVersion: number;
      stack: string;
      resources: { address: string; sync: string; health: string }[];
    };
    expect(doc.formatVersion).toBe(1);
    expect(doc.stack).toBe('quickstart');
    expect(doc.resources.map((s) => `${s.address} ${s.sync} ${s.health}`)).toEqual([
      'TrainingRun/mpg-mlp Synced Healthy',
      'RegisteredModel/mpg Synced Healthy',
      'DeployedEndpoint/mpg-api Synced Healthy',
      'Schedule/mpg-weekly Synced Healthy',
    ]);
  });

  it('get -o wide and describe show what the run and each version cost: CPU-hours, priced when set', async () => {
    const wide = inProject('get', 'trainingruns', '-o', 'wide');
    expect(wide.code, wide.out).toBe(0);
    expect(wide.stdout).toMatch(/^KIND +NAME +SYNC +HEALTH +COST +DETAILS\n/);
    // Locally without a price: the CPU-hours of run #1 only.
    const cpuHours = /mpg-mlp +Synced +Healthy +([0-9.]+) CPU-h +/.exec(wide.stdout)?.[1];
    expect(Number(cpuHours)).toBeGreaterThan(0);
    const json = JSON.parse(inProject('get', 'trainingrun/mpg-mlp', '-o', 'json').stdout) as {
      resources: { cost?: { run: number; cpuHours: number; amount: null } }[];
    };
    expect(json.resources[0].cost).toMatchObject({ run: 1, cpuHours: Number(cpuHours), amount: null });
    const describe = inProject('describe', 'registeredmodel/mpg');
    expect(describe.stdout).toMatch(
      new RegExp(`CREATED +COST +CPU-HOURS +METRICS\n +v1 +mpg-mlp#1 .+Z +- +${cpuHours} `),
    );

    // With a price per CPU-hour the same figures are priced; nothing else changes.
    const file = join(project, 'mlform.yaml');
    const original = await readFile(file, 'utf8');
    await writeFile(file, `${original}  cpuHourPrice: 360\n`);
    try {
      const priced = JSON.parse(inProject('describe', 'registeredmodel/mpg', '-o', 'json').stdout) as {
        versionCosts: { version: number; cpuHours: number; amount: { low: number } }[];
      };
      const [v1] = priced.versionCosts;
      expect(v1.version).toBe(1);
      // $360 an hour is a cent a second: the figure follows the CPU-hours to the rounding.
      expect(Math.abs(v1.amount.low - v1.cpuHours * 360)).toBeLessThan(0.05);
      expect(inProject('get', 'trainingruns', '-o', 'wide').stdout).toMatch(
        /mpg-mlp +Synced +Healthy +\$[0-9.]+ \([0-9.]+ CPU-h\)/,
      );
    } finally {
      await writeFile(file, original);
    }
  });

  it('describe shows an endpoint with its url, traffic, conditions and plan', () => {
    const r = inProject('describe', 'deployedendpoint/mpg-api');
    expect(r.code, r.out).toBe(0);
    expect(r.stdout).toMatch(/URL:\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(r.stdout).toMatch(/Traffic:\n\s+VERSION\s+PERCENT\n\s+v1\s+100%/);
    expect(r.stdout).toContain('preset: development');
    expect(r.stdout).toMatch(/Healthy\s+True\s+Healthy/);
    expect(r.stdout).toMatch(/Plan:\n\s+nothing to do/);
    const model = inProject('describe', 'registeredmodel/mpg');
    expect(model.stdout).toMatch(/v1\s+mpg-mlp#1\s+[0-9a-f]{12}\s+[0-9a-f]{12}/);
    expect(model.stdout).toContain('champion=v1');
  });

  it('unknown kinds and names fail with a suggestion', () => {
    const kind = inProject('get', 'trainingrn');
    expect(kind.code).toBe(1);
    expect(kind.stderr).toContain('unknown kind "trainingrn"; did you mean "trainingrun"?');
    const name = inProject('describe', 'trainingrun/mpg-mpl');
    expect(name.code).toBe(1);
    expect(name.stderr).toContain(
      'TrainingRun "mpg-mpl" is neither in the manifests nor in the actual state',
    );
    expect(name.stderr).toContain('did you mean "trainingrun/mpg-mlp"?');
    const missingName = inProject('describe', 'schedule');
    expect(missingName.code).toBe(1);
    expect(missingName.stderr).toContain('write schedule/NAME');
  });

  it('logs renders the progress events of the latest run as epoch lines', () => {
    const r = mlform('logs', 'trainingrun/mpg-mlp', '--file', project);
    expect(r.code, r.out).toBe(0);
    expect(r.stdout).toMatch(/^training on \w+: 150 epochs/m);
    expect(r.stdout).toMatch(/^epoch +1\/150 {2}loss \d/m);
    expect(r.stdout).toMatch(/^done in /m);
    expect(r.stdout).not.toContain('{"type"');
  });

  it('cancel with nothing running exits 1 and says why', () => {
    const r = inProject('cancel', 'trainingrun/mpg-mlp');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nothing to cancel: no run of TrainingRun "mpg-mlp" is queued or running');
    expect(r.stderr).toContain('its latest run, #1, is succeeded');
  });

  it('trigger starts run #2 under the schedule; get shows it; logs --follow follows it to the end', () => {
    const fired = inProject('trigger', 'schedule/mpg-weekly');
    expect(fired.code, fired.out).toBe(0);
    expect(fired.stdout).toContain('Schedule mpg-weekly fired: started mpg-mlp#2');

    const listed = inProject('get', 'trainingrun/mpg-mlp');
    expect(listed.code, listed.out).toBe(0);
    expect(listed.stdout).toMatch(/run #2 \(schedule mpg-weekly\) (queued|running|succeeded)/);

    const followed = mlform('logs', 'trainingrun/mpg-mlp', '#2', '--follow', '--from-start', '-f', project);
    expect(followed.code, followed.out).toBe(0);
    expect(followed.stdout).toMatch(/^epoch +1\/150/m);
    expect(followed.stdout).toMatch(/^done in /m);
    expect(followed.stderr).toContain('mpg-mlp#2 succeeded');

    const after = inProject('describe', 'schedule/mpg-weekly');
    expect(after.stdout).toMatch(/#2\s+succeeded\s+1\s+[0-9a-f]{12}\s+mpg-weekly/);
    expect(after.stdout).toMatch(/Last fire:\s+\d{4}-/);
  });

  it('trigger refuses a schedule that is only in the manifests, or does not exist', async () => {
    const file = join(project, 'schedule-daily.yaml');
    await writeFile(
      file,
      (await readFile(join(project, 'schedule.yaml'), 'utf8')).replace('name: mpg-weekly', 'name: mpg-daily'),
    );
    try {
      const notApplied = inProject('trigger', 'schedule/mpg-daily');
      expect(notApplied.code).toBe(1);
      expect(notApplied.stderr).toContain('Schedule "mpg-daily" is in the manifests but not applied yet');
      expect(notApplied.stderr).toContain('run `mlform apply` first');
    } finally {
      await rm(file);
    }
    const typo = inProject('trigger', 'schedule/mpg-weekyl');
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('Schedule "mpg-weekyl" does not exist');
    expect(typo.stderr).toContain('did you mean "schedule/mpg-weekly"?');
    const wrongKind = inProject('trigger', 'trainingrun/mpg-mlp');
    expect(wrongKind.code).toBe(1);
    expect(wrongKind.stderr).toContain('only Schedules can be triggered');
  });

  it('every resource command has complete help', () => {
    for (const command of ['get', 'describe', 'logs', 'cancel', 'trigger']) {
      const r = mlform(command, '--help');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('Examples:');
      expect(r.stdout).toContain('Exit status:');
    }
  });
});
