/**
 * The local provider with `trainer.command`: createRun launches the supervisor with the
 * operator's policy (never the manifest's), the run is observed with progress and metrics like a
 * builtin one, `cancel` stops the sandboxed process tree, and what the launch passes on.
 */
import { afterEach, expect, it } from 'vitest';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TrainingRunSpec } from '../../../resources/training-run.js';
import { commandLaunchEnv } from '../../../providers/local/command-runs.js';
import { NO_COMMANDS, type CommandPolicy } from '../../../providers/local/sandbox.js';
import { tempProject, waitFor, type Project } from './helpers.js';
import { describeWithSandbox } from '../../sandbox-available.js';

const ALLOWED: CommandPolicy = { allowCommands: true, allowNetwork: false, allowUnsandboxed: false };
let project: Project | undefined;
afterEach(async () => {
  await project?.cleanup();
  project = undefined;
});

const spec = (command: string[]): TrainingRunSpec =>
  ({
    trainer: { command },
    resources: { machineType: 'n1-standard-4', spot: false },
    retry: { limit: 0 },
    tensorboard: { histograms: false, images: false, stepInterval: 50 },
  }) as TrainingRunSpec;

const request = (p: Project, name: string, s: TrainingRunSpec) => ({
  name,
  number: 1,
  spec: s,
  specHash: `hash-${name}`,
  attempt: 1,
  manifestPath: join(p.dir, 'training.yaml'),
  labels: {},
  annotations: {},
});

const SCRIPT = `
import json, os, sys, time
print(json.dumps({"type": "start", "epochs": 2}))
print(json.dumps({"type": "epoch", "epoch": 1, "loss": 0.5, "metrics": {"val_mae": 0.7}}), flush=True)
if sys.argv[1:] == ["--wait=true"]:
    print("waiting", flush=True)
    time.sleep(600)
out = os.environ["AIP_MODEL_DIR"]
open(os.path.join(out, "model.bin"), "wb").write(b"x")
json.dump({"formatVersion": 1, "format": "other", "model": "model.bin", "task": "regression"}, open(os.path.join(out, "artifact.json"), "w"))
json.dump({"formatVersion": 1, "metrics": {"val_mae": 0.4}, "baseline": {"val_mae": 1.0}}, open(os.path.join(out, "metrics.json"), "w"))
`;

describeWithSandbox('local TrainingRuns with trainer.command', () => {
  it('runs to succeeded with metrics, and a container-only spec says to add command', async () => {
    project = await tempProject({ commands: ALLOWED });
    const { provider, ctx, dir } = project;
    await writeFile(join(dir, 'train.py'), SCRIPT);
    const created = await provider.trainingRuns.create(
      ctx,
      request(project, 'own', spec(['python3', 'train.py'])),
    );
    expect(created.diagnostics).toEqual([]);
    const run = await waitFor(
      async () => (await provider.trainingRuns.observe(ctx, { name: 'own', number: 1 })).run,
      (r) => r?.state === 'succeeded' || r?.state === 'failed',
      { timeoutMs: 30_000 },
    );
    expect(run).toMatchObject({ state: 'succeeded', metrics: { val_mae: 0.4 }, baseline: { val_mae: 1 } });

    const container = {
      ...spec([]),
      trainer: { container: { image: 'example/trainer:1' } },
    } as TrainingRunSpec;
    const refused = await provider.trainingRuns.create(ctx, request(project, 'image', container));
    expect(refused.diagnostics).toEqual([
      expect.objectContaining({
        code: 'local-container-trainer',
        hint: expect.stringContaining('add `command`') as unknown,
      }),
    ]);
  });

  it('cancel stops the command in its sandbox, and nothing of it is left', async () => {
    project = await tempProject({ commands: ALLOWED });
    const { provider, ctx, dir } = project;
    await writeFile(join(dir, 'train.py'), SCRIPT);
    const s = {
      ...spec(['python3', 'train.py']),
      trainer: { command: ['python3', 'train.py'], hyperparameters: { wait: true } },
    };
    await provider.trainingRuns.create(ctx, request(project, 'long', s as TrainingRunSpec));
    const log = join(project.stateDir, 'runs', 'long', '1', 'train.log');
    await waitFor(
      () => readFile(log, 'utf8').catch(() => ''),
      (text) => text.includes('waiting'),
    );
    const running = (await provider.trainingRuns.observe(ctx, { name: 'long', number: 1 })).run;
    expect(running).toMatchObject({
      state: 'running',
      progress: { epoch: 1, epochs: 2, metrics: { val_mae: 0.7 } },
    });
    expect((await provider.trainingRuns.cancel(ctx, { name: 'long', number: 1 })).diagnostics).toEqual([]);
    await waitFor(
      async () => (await provider.trainingRuns.observe(ctx, { name: 'long', number: 1 })).run?.state,
      (state) => state === 'cancelled',
    );
    // The sandboxed python saw its script path relative; its argv holds --wait=true.
    const left: string[] = [];
    for (const pid of await readdir('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.includes('--wait=true') || cmdline.includes(join(project.stateDir, 'runs', 'long')))
        left.push(cmdline);
    }
    expect(left).toEqual([]);
  });

  it('passes the policy, the state folder to hide and only the referenced secrets', () => {
    const s = {
      ...spec(['python3', 'train.py']),
      trainer: {
        command: ['python3', 'train.py'],
        env: { T: { secretRef: { name: 'api', key: 'token' } }, L: 'x' },
      },
    } as TrainingRunSpec;
    const policy = { ...ALLOWED, hidden: ['/srv/controller'] };
    const env = commandLaunchEnv(policy, s, '/p/sub/training.yaml', '/p/.mlform', {
      HOME: '/home/op',
      KUBECONFIG: '/etc/kube/config',
      MLFORM_SECRET_API_TOKEN: 'v',
      MLFORM_SECRET_OTHER_TOKEN: 'w',
      MLFORM_ALLOW_COMMAND_NETWORK: '1',
    });
    const { MLFORM_SANDBOX_HIDE: hide, ...rest } = env;
    expect(rest).toEqual({
      MLFORM_ALLOW_COMMANDS: '1',
      MLFORM_ALLOW_COMMAND_NETWORK: '0',
      MLFORM_ALLOW_UNSANDBOXED: '0',
      MLFORM_MANIFEST_DIR: '/p/sub',
      MLFORM_SECRET_API_TOKEN: 'v',
    });
    // The host's secrets are named here, where the whole environment is: the supervisor's is allow-listed.
    const hidden = JSON.parse(hide ?? '[]') as string[];
    expect(hidden.slice(0, 2)).toEqual(['/p/.mlform', '/srv/controller']);
    expect(hidden).toEqual(expect.arrayContaining(['/home', '/home/op', '/etc/kube/config']));
    expect(commandLaunchEnv(NO_COMMANDS, spec([]), '/p/t.yaml', '/p/.mlform')).toMatchObject({
      MLFORM_ALLOW_COMMANDS: '0',
      MLFORM_MANIFEST_DIR: '/p',
    });
    expect(
      commandLaunchEnv(ALLOWED, { ...spec([]), trainer: {} } as TrainingRunSpec, '/p/t.yaml', '/p/s'),
    ).toEqual({});
  });
});
