/**
 * SECURITY.md "Commands from manifests": a command from a commit runs in the sandbox, and every
 * attack below fails while the run itself succeeds. The supervisor (trainer/command/) runs here
 * in-process with the environment the local provider gives it; scripts are tiny (python3 without
 * torch, /bin/sh) so the file takes seconds.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveTraining } from '../../trainer/main.js';
import { superviseCommand, SANDBOX_HIDE_ENV, MANIFEST_DIR_ENV } from '../../trainer/command/supervise.js';
import type { ProgressEvent } from '../../trainer/types.js';
import { DATA_ROOTS_ENV } from '../../artifact/storage.js';
import { hyperparameterArgs } from '../../artifact/contract.js';
import { createLocalProvider } from '../../providers/local/index.js';
import type { ValidateResource } from '../../providers/provider.js';
import { openProject } from '../../controller/cli/project.js';
import { describeWithSandbox } from '../sandbox-available.js';

let root: string;
let tree: string;
let state: string;
let server: Server;
let port: number;
let connections = 0;

/** A valid artifact, so that a run fails only because of what the test is about. */
const WRITE_ARTIFACT = `
import json, os
out = os.environ["AIP_MODEL_DIR"]
open(os.path.join(out, "model.bin"), "wb").write(b"x")
json.dump({"formatVersion": 1, "format": "other", "model": "model.bin", "task": "regression"}, open(os.path.join(out, "artifact.json"), "w"))
json.dump({"formatVersion": 1, "metrics": {"val_mae": 1.0}, "baseline": {"val_mae": 2.0}}, open(os.path.join(out, "metrics.json"), "w"))
`;

const ATTACK = `
import json, os, socket, sys
args = dict(a[2:].split("=", 1) for a in sys.argv[1:])
result = {}
def attempt(name, action):
    try:
        action()
        result[name] = True
    except Exception as e:
        result[name] = False
def read(path):
    with open(path) as f:
        f.read()
def write(path):
    with open(path, "w") as f:
        f.write("pwned")
def connect():
    socket.create_connection(("127.0.0.1", int(args["port"])), timeout=2).close()
attempt("readState", lambda: read(args["stateFile"]))
attempt("readHome", lambda: read(args["homeFile"]))
attempt("readCredentials", lambda: read(args["credentials"]))
attempt("writeTree", lambda: write(args["treeFile"]))
attempt("writeOutside", lambda: write(args["outsideFile"]))
attempt("connect", connect)
result["seeHostProcess"] = os.path.exists("/proc/" + args["hostPid"])
result["unreferencedSecret"] = "MLFORM_SECRET_OTHER_TOKEN" in os.environ
result["operatorEnv"] = [k for k in os.environ if k.startswith("GOOGLE_") or k.startswith("MLFORM_ALLOW")]
result["referencedSecret"] = os.environ.get("TOKEN") == "s3cret-api-token"
result["home"] = os.environ.get("HOME")
print(json.dumps({"attacks": result}))
${WRITE_ARTIFACT}
`;

interface Outcome {
  code: number;
  events: ProgressEvent[];
  out: string[];
  err: string[];
}

async function manifest(name: string, trainer: Record<string, unknown>): Promise<string> {
  const file = join(tree, `${name}.json`);
  await writeFile(
    file,
    JSON.stringify({ apiVersion: 'mlform/v1', kind: 'TrainingRun', metadata: { name }, spec: { trainer } }),
  );
  return file;
}

/** `mlform train --spec-file <manifest> --out <state>/runs/<name>/artifact` with the provider's environment. */
async function train(
  file: string,
  env: Record<string, string | undefined>,
  options: { signal?: AbortSignal; onLine?: (line: string) => void } = {},
): Promise<Outcome & { out: string[]; outDir: string }> {
  const name = file.split('/').pop()?.replace('.json', '') ?? 'run';
  const outDir = join(state, 'runs', name, 'artifact');
  const fullEnv = {
    PATH: process.env.PATH,
    [DATA_ROOTS_ENV]: JSON.stringify([tree]),
    [SANDBOX_HIDE_ENV]: JSON.stringify([state]),
    [MANIFEST_DIR_ENV]: tree,
    MLFORM_ALLOW_COMMANDS: '1',
    ...env,
  };
  const resolved = await resolveTraining({ specJsonFile: file, out: outDir }, fullEnv);
  if (!resolved.ok) throw new Error(resolved.diagnostics.map((d) => d.message).join('; '));
  const outcome: Outcome & { outDir: string } = { code: -1, events: [], out: [], err: [], outDir };
  outcome.code = await superviseCommand(resolved.value, {
    emit: (e) => outcome.events.push(e),
    print: (line) => {
      outcome.out.push(line);
      options.onLine?.(line);
    },
    printErr: (line) => outcome.err.push(line),
    signal: options.signal ?? new AbortController().signal,
    env: fullEnv,
    mlformVersion: 'test',
  });
  return outcome;
}

const errorOf = (o: Outcome): string | undefined =>
  o.events.flatMap((e) => (e.type === 'error' ? [e.message] : [])).at(-1);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-sandbox-'));
  tree = join(root, 'project');
  state = join(tree, '.mlform');
  await mkdir(join(state, 'runs'), { recursive: true });
  await mkdir(join(root, 'home'), { recursive: true });
  await mkdir(join(root, 'outside'), { recursive: true });
  await writeFile(join(state, 'secret.json'), 'state');
  await writeFile(join(root, 'home', '.netrc'), 'machine x password y');
  await writeFile(join(root, 'credentials.json'), '{"private_key": "k"}');
  await writeFile(join(tree, 'attack.py'), ATTACK);
  await writeFile(join(tree, 'fine.py'), WRITE_ARTIFACT);
  server = createServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  server.close();
  await rm(root, { recursive: true, force: true });
});

describeWithSandbox('a command from a commit, in the sandbox', () => {
  it('cannot read the state folder, $HOME or credentials, write outside its output, connect, or see host processes', async () => {
    const hp = {
      stateFile: join(state, 'secret.json'),
      homeFile: join(root, 'home', '.netrc'),
      credentials: join(root, 'credentials.json'),
      treeFile: join(tree, 'pwned'),
      outsideFile: join(root, 'outside', 'pwned'),
      port,
      hostPid: process.pid,
    };
    const file = await manifest('attack', {
      command: ['python3', 'attack.py'],
      hyperparameters: hp,
      env: { TOKEN: { secretRef: { name: 'api', key: 'token' } } },
    });
    const outcome = await train(file, {
      HOME: join(root, 'home'),
      GOOGLE_APPLICATION_CREDENTIALS: join(root, 'credentials.json'),
      MLFORM_SECRET_API_TOKEN: 's3cret-api-token',
      MLFORM_SECRET_OTHER_TOKEN: 'not-for-this-run',
    });
    expect(errorOf(outcome)).toBeUndefined();
    expect(outcome.code).toBe(0);
    const line = outcome.out.find((l) => l.startsWith('{"attacks"'));
    expect(line).toBeDefined();
    const { attacks } = JSON.parse(line ?? '{}') as { attacks: Record<string, unknown> };
    expect(attacks).toEqual({
      readState: false,
      readHome: false,
      readCredentials: false,
      writeTree: false,
      writeOutside: false,
      connect: false,
      seeHostProcess: false,
      unreferencedSecret: false,
      operatorEnv: [],
      referencedSecret: true,
      home: '/tmp',
    });
    expect(connections).toBe(0);
    expect(existsSync(hp.treeFile)).toBe(false);
    expect(existsSync(hp.outsideFile)).toBe(false);
    // The legitimate part: the artifact, and run.json written by mlform last.
    const run = JSON.parse(await readFile(join(outcome.outDir, 'run.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(run.trainer).toEqual({
      // Hyperparameters follow the command as `--name=value`, names sorted (artifact/contract.ts).
      command: ['python3', 'attack.py', ...hyperparameterArgs(hp)],
    });
    expect(JSON.stringify(run)).not.toContain('s3cret-api-token');
  });

  it('gets the network only when the manifest asks and the operator allows it', async () => {
    const script = `import socket, sys\nsocket.create_connection(("127.0.0.1", ${port}), timeout=2).close()\n${WRITE_ARTIFACT}`;
    await writeFile(join(tree, 'net.py'), script);
    const file = await manifest('net', { command: ['python3', 'net.py'], network: true });
    const refused = await train(file, {});
    expect(refused.code).toBe(1);
    expect(errorOf(refused)).toMatch(/asks for the network, and this operator has not allowed it/);
    expect(connections).toBe(0);
    const allowed = await train(file, { MLFORM_ALLOW_COMMAND_NETWORK: '1' });
    expect(errorOf(allowed)).toBeUndefined();
    expect(connections).toBe(1);
  });

  it('does not start without the operator policy, and plan says why', async () => {
    await writeFile(join(tree, 'ran.py'), `open("${join(root, 'outside', 'ran')}", "w")\n`);
    const file = await manifest('nopolicy', { command: ['python3', 'ran.py'] });
    const outcome = await train(file, { MLFORM_ALLOW_COMMANDS: undefined, MLFORM_ALLOW_UNSANDBOXED: '1' });
    expect(outcome.code).toBe(1);
    expect(errorOf(outcome)).toMatch(/has not allowed commands/);
    expect(existsSync(join(root, 'outside', 'ran'))).toBe(false);

    const provider = createLocalProvider({
      commands: { allowCommands: false, allowNetwork: false, allowUnsandboxed: true },
    });
    const resource: ValidateResource = {
      kind: 'TrainingRun',
      name: 'nopolicy',
      address: 'TrainingRun/nopolicy',
      manifest: JSON.parse(await readFile(file, 'utf8')) as unknown,
      source: { file, line: 1, col: 1 },
    };
    const found = await provider.validate?.({ projectDir: tree, stack: 't' } as never, [resource]);
    expect(found).toEqual([
      expect.objectContaining({
        code: 'command-not-allowed',
        path: ['spec', 'trainer', 'command'],
        hint: expect.stringContaining('MLFORM_ALLOW_COMMANDS=1') as unknown,
      }),
    ]);
  });

  it("takes the operator's switches from the controller (operator settings), never from the tree", async () => {
    const dir = join(root, 'operated');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'mlform.yaml'), 'stack: op\nprovider: local\n');
    await writeFile(
      join(dir, 'training.yaml'),
      'apiVersion: mlform/v1\nkind: TrainingRun\nmetadata: { name: own }\nspec:\n  trainer:\n    command: [python3, fine.py]\n',
    );
    const operator = (allowCommands: boolean) => ({
      dataRoots: [],
      treeRoot: dir,
      commands: { allowCommands, allowNetwork: false, allowUnsandboxed: false },
    });
    const refused = await openProject([dir], { operator: operator(false) });
    expect(refused.project).toBeUndefined();
    expect(refused.diagnostics).toEqual([
      expect.objectContaining({ code: 'command-not-allowed', line: 6, col: 5 }),
    ]);
    const allowed = await openProject([dir], { operator: operator(true) });
    expect(allowed.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(allowed.project).toBeDefined();
  });

  it('is refused without bubblewrap, unless the operator accepts unconfined commands', async () => {
    const file = await manifest('nobwrap', { command: ['python3', 'fine.py'] });
    const missing = join(root, 'no-bwrap');
    const refused = await train(file, { MLFORM_BWRAP: missing });
    expect(refused.code).toBe(1);
    expect(errorOf(refused)).toMatch(/bubblewrap \(bwrap\) is not installed/);
    const provider = createLocalProvider({
      commands: { allowCommands: true, allowNetwork: false, allowUnsandboxed: false, bwrapPath: missing },
    });
    const manifestValue = JSON.parse(await readFile(file, 'utf8')) as unknown;
    const resource = {
      kind: 'TrainingRun',
      name: 'nobwrap',
      address: 'TrainingRun/nobwrap',
      manifest: manifestValue,
      source: { file, line: 1, col: 1 },
    } as const;
    const found = await provider.validate?.({ projectDir: tree, stack: 't' } as never, [resource]);
    expect(found?.map((d) => d.code)).toEqual(['sandbox-missing']);

    await rm(join(state, 'runs', 'nobwrap'), { recursive: true, force: true });
    const unconfined = await train(file, { MLFORM_BWRAP: missing, MLFORM_ALLOW_UNSANDBOXED: '1' });
    expect(errorOf(unconfined)).toBeUndefined();
    expect(unconfined.code).toBe(0);
  });

  it('refuses a workingDir that leads outside the tree, and env names mlform sets', async () => {
    const outside = await manifest('escape', { command: ['python3', 'fine.py'], workingDir: '../outside' });
    expect(errorOf(await train(outside, {}))).toMatch(/leads outside the manifest tree/);
    const reserved = await manifest('reserved', {
      command: ['python3', 'fine.py'],
      env: { AIP_MODEL_DIR: '/tmp/x' },
    });
    const refused = await train(reserved, {}).catch((e: unknown) => e);
    // Refused by the loader at plan time already, or by the supervisor: never run.
    expect(String(refused instanceof Error ? refused.message : errorOf(refused as Outcome))).toMatch(
      /AIP_MODEL_DIR/,
    );
  });

  it('a stop reaches the command inside the sandbox, and its whole process tree dies', async () => {
    const marker = `mlform-stop-${process.pid}-${Date.now()}`;
    await writeFile(
      join(tree, 'stop.sh'),
      [
        "trap 'echo got-term >&2; exit 0' TERM",
        `python3 -c 'import time; time.sleep(600)' ${marker} &`,
        'echo ready',
        'while true; do sleep 0.05; done',
      ].join('\n'),
    );
    const file = await manifest('stop', { command: ['/bin/sh', 'stop.sh'] });
    const abort = new AbortController();
    const outcome = await train(
      file,
      {},
      { signal: abort.signal, onLine: (l) => l === 'ready' && abort.abort() },
    );
    expect(outcome.code).toBe(143);
    expect(outcome.err).toContain('got-term');
    const left: string[] = [];
    for (const pid of await readdir('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmdline.includes(marker)) left.push(pid);
    }
    expect(left).toEqual([]);
  });
});
