/**
 * SECURITY.md promise 24 with the controller: commands from a followed tree run only with
 * `--allow-commands`, and then cannot read the controller's own folder (its state) or its secret
 * files (`--auth-token-file`).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killQuietly, startController, waitFor, type RunningController } from '../controller/helpers.js';
import { describeWithSandbox } from '../sandbox-available.js';

let root: string;
let tree: string;
const controllers: RunningController[] = [];

const TRAIN = `
import json, os, sys
args = dict(a[2:].split("=", 1) for a in sys.argv[1:])
seen = {}
for name in ("token", "state"):
    try:
        path = args[name]
        if os.path.isdir(path):
            seen[name] = os.listdir(path)
        else:
            seen[name] = open(path).read()
    except Exception:
        seen[name] = None
print(json.dumps({"seen": seen}))
out = os.environ["AIP_MODEL_DIR"]
open(os.path.join(out, "model.bin"), "wb").write(b"x")
json.dump({"formatVersion": 1, "format": "other", "model": "model.bin", "task": "regression"}, open(os.path.join(out, "artifact.json"), "w"))
json.dump({"formatVersion": 1, "metrics": {"val_mae": 1.0}, "baseline": {"val_mae": 2.0}}, open(os.path.join(out, "metrics.json"), "w"))
`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-command-ctl-'));
  tree = join(root, 'tree');
  await mkdir(tree);
  await writeFile(join(root, 'token'), 'controller-status-token-0123456789abcdef', { mode: 0o600 });
  await writeFile(join(tree, 'mlform.yaml'), 'stack: cmd\nprovider: local\n');
  await writeFile(join(tree, 'train.py'), TRAIN);
});

afterAll(async () => {
  for (const c of controllers) killQuietly(c.pid);
  await rm(root, { recursive: true, force: true });
});

async function follow(workdir: string, extra: string[]): Promise<RunningController> {
  const state = join(workdir, 'state');
  await writeFile(
    join(tree, 'training.yaml'),
    [
      'apiVersion: mlform/v1',
      'kind: TrainingRun',
      'metadata: { name: own }',
      'spec:',
      '  trainer:',
      '    command: [python3, train.py]',
      // The token file, and the run's own record in the controller's state folder.
      `    hyperparameters: { token: "${join(root, 'token')}", state: "${join(state, 'runs', 'own', '1', 'run.json')}" }`,
      '',
    ].join('\n'),
  );
  const controller = await startController(
    [
      '--dir',
      tree,
      '--listen',
      '127.0.0.1:0',
      '--workdir',
      workdir,
      '--auth-token-file',
      join(root, 'token'),
      ...extra,
    ],
    { MLFORM_ALLOW_COMMANDS: '' },
  );
  controllers.push(controller);
  return controller;
}

/** The status API with the operator's token. */
async function status(url: string): Promise<{ controller: { badCommit?: { diagnostics: unknown[] } } }> {
  const response = await fetch(`${url}/api/status`, {
    headers: { authorization: 'Bearer controller-status-token-0123456789abcdef' },
    signal: AbortSignal.timeout(5_000),
  });
  return (await response.json()) as { controller: { badCommit?: { diagnostics: unknown[] } } };
}

describeWithSandbox('the controller and commands from the tree', () => {
  it('refuses them without --allow-commands: the commit is refused at its line, nothing runs', async () => {
    const workdir = join(root, 'refused');
    const controller = await follow(workdir, []);
    const bad = await waitFor(
      'the commit refused',
      async () => (await status(controller.url)).controller.badCommit?.diagnostics,
      20_000,
    );
    expect(bad).toEqual([
      expect.objectContaining({ code: 'command-not-allowed', path: ['spec', 'trainer', 'command'], line: 6 }),
    ]);
    await expect(readFile(join(workdir, 'state', 'runs', 'own', '1', 'run.json'))).rejects.toThrow();
    controller.child.kill('SIGTERM');
    expect(await controller.exited).toBe(0);
  }, 30_000);

  it('runs them with --allow-commands, blind to its state folder and its token file', async () => {
    const workdir = join(root, 'allowed');
    // The token sits in a data root the operator allowed, visible to the command but for the hiding.
    const controller = await follow(workdir, ['--allow-commands', '--allow-data-root', root]);
    const log = join(workdir, 'state', 'runs', 'own', '1', 'train.log');
    const text = await waitFor(
      'the run to finish',
      async () => {
        const t = await readFile(log, 'utf8').catch(() => '');
        return t.includes('"type":"done"') || t.includes('"type":"error"') ? t : undefined;
      },
      30_000,
    );
    expect(text).toContain('{"seen": {"token": null, "state": null}}');
    expect(text).not.toContain('controller-status-token');
    expect(text).toContain('"type":"done"');
    expect((await status(controller.url)).controller.badCommit ?? undefined).toBeUndefined();
    controller.child.kill('SIGTERM');
    expect(await controller.exited).toBe(0);
  }, 40_000);
});
