/**
 * Issue 11, the local provider's state and processes, played by an attacker through the CLI
 * (`node bin/mlform.js`, built): a manifest that points the state outside the project, a forged run
 * record whose pid is a live foreign process with a copied command line, a training whose spec an
 * onlooker reads in `ps`, and a truncated record that `apply -y` must not recreate.
 * Needs `npm run build`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
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

function mlform(...args: string[]): { code: number | null; out: string } {
  const r = runCli(args, { env, timeoutMs: 120_000 });
  return { code: r.code, out: r.all };
}

let root: string;
const sleepers: ChildProcess[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-sec-state-'));
});

afterAll(async () => {
  for (const s of sleepers) s.kill('SIGKILL');
  await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A process of someone else's that happens to carry whatever argv the attacker copies. */
function foreignProcess(args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)', ...args], { stdio: 'ignore' });
  sleepers.push(child);
  return child;
}

const model = (name: string, description: string) =>
  `apiVersion: mlform/v1\nkind: RegisteredModel\nmetadata:\n  name: ${name}\nspec:\n  description: ${description}\n`;

async function project(name: string, config: string, files: Record<string, string> = {}): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'mlform.yaml'), config);
  for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text);
  return dir;
}

describe('local.stateDir from the manifests stays inside the project', () => {
  it('refuses an absolute path, a .. escape and a symlink pointing out, at mlform.yaml line:col', async () => {
    const outside = join(root, 'elsewhere');
    const cases: {
      name: string;
      stateDir: string;
      line: number;
      col: number;
      setup?: (dir: string) => Promise<void>;
    }[] = [
      { name: 'absolute', stateDir: outside, line: 4, col: 13 },
      { name: 'parent', stateDir: '../x', line: 4, col: 13 },
      {
        name: 'symlink',
        stateDir: 'state/inner',
        line: 4,
        col: 13,
        setup: async (dir) => {
          await mkdir(outside, { recursive: true });
          await symlink(outside, join(dir, 'state'));
        },
      },
    ];
    for (const c of cases) {
      const dir = await project(
        `escape-${c.name}`,
        `stack: sec\nprovider: local\nlocal:\n  stateDir: ${c.stateDir}\n`,
        {
          'm.yaml': model('m', 'a model'),
        },
      );
      await c.setup?.(dir);
      const applied = mlform('apply', '-y', dir);
      expect(applied.code, applied.out).toBe(1);
      expect(applied.out).toContain(`mlform.yaml:${c.line}:${c.col} error [state-dir-outside-project]`);
      expect(applied.out).toContain('--state-dir');
    }
    // Nothing was written where the manifests pointed.
    await expect(readdir(outside)).resolves.toEqual([]);
    await expect(stat(join(root, 'x'))).rejects.toThrow();
  });

  it('lets the operator put the state anywhere with --state-dir or MLFORM_STATE_DIR', async () => {
    const dir = join(root, 'escape-absolute');
    const chosen = join(root, 'operator-state');
    const applied = mlform('apply', '-y', '--state-dir', chosen, dir);
    expect(applied.code, applied.out).toBe(0);
    await expect(stat(join(chosen, 'registry', 'm', 'model.json'))).resolves.toBeDefined();
    const r = spawnSync(process.execPath, ['bin/mlform.js', 'plan', '--detailed-exitcode', dir], {
      encoding: 'utf8',
      env: { ...env, MLFORM_STATE_DIR: chosen },
    });
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
  });

  it('writes a .gitignore of * into a state directory it creates', async () => {
    const dir = await project('gitignore', 'stack: sec\nprovider: local\n', {
      'm.yaml': model('m', 'a model'),
    });
    expect(mlform('apply', '-y', dir).code).toBe(0);
    expect((await readFile(join(dir, '.mlform', '.gitignore'), 'utf8')).split('\n')).toContain('*');
  });
});

describe('a forged run record with a live foreign pid', () => {
  let dir: string;
  const runDir = () => join(dir, '.mlform', 'runs', 'tiny', '1');

  beforeAll(async () => {
    const rows = Array.from({ length: 40 }, (_, i) => ({ x: i / 10, z: (i % 7) / 7, y: 3 * (i / 10) + 1 }));
    dir = await project('forged', 'stack: sec\nprovider: local\n', {
      'data.json': JSON.stringify(rows),
      'training.yaml': [
        'apiVersion: mlform/v1',
        'kind: TrainingRun',
        'metadata: {name: tiny}',
        'spec:',
        '  trainer:',
        '    builtin:',
        '      task: regression',
        '      data: {uri: "file://data.json", target: y, features: [x, z], validationSplit: 0.25}',
        '      network: {type: mlp, layers: [4]}',
        '      hyperparameters: {epochs: 100000, batchSize: 8}',
        '',
      ].join('\n'),
    });
  });

  afterAll(() => {
    mlform('destroy', '-y', dir);
  });

  /** The record an attacker writes: another spec, "running" as the foreign process. */
  async function forge(pid: number, extra: Record<string, unknown>): Promise<void> {
    await mkdir(runDir(), { recursive: true });
    await writeFile(
      join(runDir(), 'run.json'),
      JSON.stringify({
        formatVersion: 1,
        name: 'tiny',
        number: 1,
        specHash: 'f'.repeat(64),
        labels: {
          'mlform-stack': 'sec',
          'mlform-kind': 'TrainingRun',
          'mlform-name': 'tiny',
          'mlform-spec': 'ffffffffffff',
        },
        annotations: {},
        attempt: 1,
        createdAt: new Date().toISOString(),
        manifestPath: join(dir, 'training.yaml'),
        spec: {},
        marker: join(runDir(), 'artifact'),
        pid,
        startedAt: new Date().toISOString(),
        ...extra,
      }),
    );
  }

  it('is signalled neither by `mlform cancel` nor by `apply` replacing it', async () => {
    const launchId = '0123456789abcdef0123456789abcdef';
    // The foreign process carries the exact arguments mlform would give its own training.
    const victim = foreignProcess([
      'train',
      '--spec-file',
      join(runDir(), 'spec.json'),
      '--out',
      join(runDir(), 'artifact'),
      '--json',
      '--launch-id',
      launchId,
    ]);
    const pid = victim.pid as number;
    await new Promise((resolve) => setTimeout(resolve, 200));

    // A record as mlform wrote them before launch stamps (no start time): never signalled.
    await forge(pid, {});
    const cancelled = mlform('cancel', 'trainingrun/tiny', '-f', dir);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(alive(pid)).toBe(true);
    expect(cancelled.out).toContain('local-process-unproven');

    // Forged again, fresh: `apply` replaces the "running" run of another spec (cancel, then a new
    // run) and must not signal it either.
    await rm(runDir(), { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    await forge(pid, {});
    const applied = mlform('apply', '-y', '--no-wait', dir);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(alive(pid)).toBe(true);
    expect(applied.code, applied.out).toBe(0);
    expect(applied.out).toContain('local-process-unproven');

    const launched = await readdir(join(dir, '.mlform', 'runs', 'tiny'));
    expect(launched).toContain('2');
    expect(alive(pid)).toBe(true);
  }, 90_000);

  it("keeps the spec off the training's command line (a 0600 file instead); a proven process is cancelled", async () => {
    // Whatever the test above left: apply starts (or finds) the run of the manifest's spec.
    const applied = mlform('apply', '-y', '--no-wait', dir);
    expect(applied.code, applied.out).toBe(0);
    const runs = join(dir, '.mlform', 'runs', 'tiny');
    const numbers = (await readdir(runs)).map(Number).sort((a, b) => b - a);
    const runFolder = join(runs, String(numbers[0]));
    const record = JSON.parse(await readFile(join(runFolder, 'run.json'), 'utf8')) as {
      pid: number;
      launch?: { bootId?: string };
    };
    expect(alive(record.pid)).toBe(true);
    const cmdline = (await readFile(`/proc/${record.pid}/cmdline`, 'utf8')).split('\0');
    expect(cmdline.join(' ')).not.toContain('regression');
    expect(cmdline.join(' ')).not.toContain('data.json');
    expect(cmdline).toContain('--spec-file');
    const ps = spawnSync('ps', ['-o', 'args=', '-p', String(record.pid)], { encoding: 'utf8' }).stdout;
    expect(ps).not.toContain('regression');
    expect(ps).toContain('--launch-id');
    const specFile = join(runFolder, 'spec.json');
    expect((await stat(specFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(specFile, 'utf8')).toContain('regression');
    const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    expect(record.launch?.bootId).toBe(bootId);

    // Positive control: the process mlform started is proven ours and does get cancelled.
    const stop = mlform('cancel', 'trainingrun/tiny', '-f', dir);
    expect(stop.code, stop.out).toBe(0);
    const deadline = Date.now() + 20_000;
    while (alive(record.pid) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(alive(record.pid)).toBe(false);
  }, 60_000);
});

describe('damaged state fails closed', () => {
  it('a truncated record stops apply -y with exit 1 and the same error as plan; it is not recreated, unrelated changes proceed', async () => {
    const dir = await project('damaged', 'stack: sec\nprovider: local\n', {
      'a.yaml': model('alpha', 'first'),
      'b.yaml': model('beta', 'second'),
    });
    expect(mlform('apply', '-y', dir).code).toBe(0);
    const record = join(dir, '.mlform', 'registry', 'alpha', 'model.json');
    const whole = await readFile(record, 'utf8');
    const torn = whole.slice(0, Math.floor(whole.length / 2));
    await writeFile(record, torn);
    await writeFile(join(dir, 'b.yaml'), model('beta', 'second, edited'));

    const planned = mlform('plan', dir);
    expect(planned.code).toBe(1);
    const errorLine = planned.out.split('\n').find((l) => l.includes('[local-corrupt-record]'));
    expect(errorLine).toContain(record);

    const applied = mlform('apply', '-y', dir);
    expect(applied.code, applied.out).toBe(1);
    expect(applied.out).toContain(errorLine);
    expect(applied.out).toContain(`delete the folder ${join(dir, '.mlform', 'registry', 'alpha')}`);
    expect(await readFile(record, 'utf8')).toBe(torn);
    const beta = JSON.parse(
      await readFile(join(dir, '.mlform', 'registry', 'beta', 'model.json'), 'utf8'),
    ) as {
      spec: { description: string };
    };
    expect(beta.spec.description).toBe('second, edited');

    // A record that still parses but was altered (a torn write that happens to be JSON, a hand
    // edit) fails its checksum the same way.
    await writeFile(record, whole.replace('"first"', '"forged"'));
    const edited = mlform('apply', '-y', dir);
    expect(edited.code).toBe(1);
    expect(edited.out).toContain('checksum does not match');
    expect(await readFile(record, 'utf8')).toContain('"forged"');

    // Repaired as the hint says (the folder deleted): apply creates it again.
    await rm(join(dir, '.mlform', 'registry', 'alpha'), { recursive: true });
    expect(mlform('apply', '-y', dir).code).toBe(0);
  }, 60_000);
});
