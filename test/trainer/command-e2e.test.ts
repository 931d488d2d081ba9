/**
 * Your own trainer end to end through the CLI (issue 13 item 2, local): `mlform apply -y` on a
 * project whose TrainingRun runs a small python script in the sandbox. The run succeeds, its
 * version registers through the gate, get/describe show its metrics and logs its output; a
 * failing script fails with its reason and is retried per retry.limit; without the operator's
 * MLFORM_ALLOW_COMMANDS, plan refuses it and nothing runs.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { spawnSync, execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killProcessesUnder } from '../providers/local/helpers.js';
import { describeWithSandbox } from '../sandbox-available.js';

let root: string;

function mlform(args: string[], env: Record<string, string | undefined> = {}) {
  const r = spawnSync(process.execPath, ['bin/mlform.js', ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, CI: 'true', ...env },
    timeout: 120_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}
const allowed = { MLFORM_ALLOW_COMMANDS: '1' };

const TRAIN_PY = `
import json, os, sys
args = dict(a[2:].split("=", 1) for a in sys.argv[1:])
out = os.environ["AIP_MODEL_DIR"]
epochs = int(args["epochs"])
print("hello from train.py, lr", args["lr"], "run", os.environ["MLFORM_RUN"])
print(json.dumps({"type": "start", "epochs": epochs}))
for e in range(1, epochs + 1):
    print(json.dumps({"type": "epoch", "epoch": e, "loss": 1.0 / e, "metrics": {"val_mae": 1.0 / e}}))
if args.get("fail") == "true":
    print("boom: the data has no rows", file=sys.stderr)
    sys.exit(3)
open(os.path.join(out, "model.bin"), "wb").write(b"onnx")
json.dump({"formatVersion": 1, "format": "other", "model": "model.bin", "task": "regression", "target": "y",
           "features": [{"name": "x", "type": "numeric"}], "input": {"kind": "stacked"}, "output": {"kind": "value"}},
          open(os.path.join(out, "artifact.json"), "w"))
json.dump({"formatVersion": 1, "metrics": {"val_mae": 0.5}, "baseline": {"val_mae": 1.5}},
          open(os.path.join(out, "metrics.json"), "w"))
`;

async function project(name: string, fail: boolean): Promise<string> {
  const dir = join(root, name);
  await mkdir(join(dir, 'trainer'), { recursive: true });
  execFileSync('git', ['init', '-q', dir]);
  await writeFile(join(dir, 'mlform.yaml'), `stack: ${name}\nprovider: local\nlocal:\n  stateDir: .mlform\n`);
  await writeFile(join(dir, 'trainer', 'train.py'), TRAIN_PY);
  await writeFile(
    join(dir, 'training.yaml'),
    [
      'apiVersion: mlform/v1',
      'kind: TrainingRun',
      'metadata: { name: own }',
      'spec:',
      '  model: own',
      '  trainer:',
      '    command: [python3, train.py]',
      '    workingDir: trainer',
      `    hyperparameters: { epochs: 3, lr: 0.1, fail: ${fail} }`,
      '  retry: { limit: 1 }',
      '---',
      'apiVersion: mlform/v1',
      'kind: RegisteredModel',
      'metadata: { name: own }',
      'spec:',
      '  gate: { metric: val_mae, max: 2.0, beatBaseline: true }',
      '',
    ].join('\n'),
  );
  return dir;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-command-e2e-'));
});

afterAll(async () => {
  await killProcessesUnder(root);
  await rm(root, { recursive: true, force: true });
});

describeWithSandbox('trainer.command through the CLI', () => {
  it('plan refuses it until the operator allows commands, and nothing runs', async () => {
    const dir = await project('refused', false);
    const plan = mlform(['plan', dir]);
    expect(plan.code).not.toBe(0);
    expect(plan.out).toMatch(/training\.yaml:7:5 error \[command-not-allowed\]/);
    expect(plan.out).toContain('MLFORM_ALLOW_COMMANDS=1');
    expect(mlform(['apply', '-y', dir]).code).not.toBe(0);
    expect(await readdir(join(dir, '.mlform', 'runs')).catch(() => [])).toEqual([]);
  });

  it('trains, registers through the gate, and shows metrics and logs', async () => {
    const dir = await project('good', false);
    const applied = mlform(['apply', '-y', dir], allowed);
    expect(applied.out).toContain('own#1 passed the gate (val_mae 0.5 <= 2, beats the baseline 1.5)');
    expect(applied.code).toBe(0);
    const get = mlform(['get', 'trainingrun/own', '--file', dir]);
    expect(get.out).toMatch(/own\s+Synced\s+Healthy\s+run #1 succeeded val_mae 0\.5/);
    const describe = mlform(['describe', 'registeredmodel/own', '--file', dir]);
    expect(describe.out).toContain('val_mae');
    const logs = mlform(['logs', 'trainingrun/own', '--file', dir]);
    expect(logs.out).toContain('hello from train.py, lr 0.1 run TrainingRun/own');
    expect(logs.out).toMatch(/epoch 3\/3 +loss 0\.3333 +val_mae 0\.3333/);
    // Converged: a second apply has nothing to do.
    expect(mlform(['plan', dir], allowed).out).toMatch(/No changes/i);
  });

  it('a failing script fails with its reason and is retried per retry.limit', async () => {
    const dir = await project('bad', true);
    const applied = mlform(['apply', '-y', dir], allowed);
    expect(applied.out).toContain(
      'own#1 failed (the trainer exited with code 3: boom: the data has no rows); retry 1 of 1 as own#2',
    );
    expect(applied.out).toContain('TrainingRun/own#2: failed');
    const get = mlform(['get', 'trainingrun/own', '--file', dir, '-o', 'json']);
    expect(get.out).toContain('the trainer exited with code 3: boom: the data has no rows');
    expect(await readdir(join(dir, '.mlform', 'runs', 'own'))).toEqual(['1', '2']);
  });
});
