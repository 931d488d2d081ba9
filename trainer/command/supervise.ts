/**
 * `mlform train` for a TrainingRun with `trainer.command`: the supervisor. It prepares the
 * command's folders and environment, runs it through the operator's sandbox policy
 * (providers/local/sandbox.ts), relays its output to train.log with progress lines turned into
 * events, forwards a stop, and on exit 0 checks the artifact before writing run.json, the mark of
 * a finished training, itself. The command writes into `<out>.partial`, which becomes `<out>`
 * only then: a command cannot make its run look finished by writing files.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, realpath, rename, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { CONTRACT_FILES } from '../../artifact/contract.js';
import { readJsonFile, writeJsonFile } from '../../artifact/files.js';
import { isGcsUri, PRIVATE_DIR_MODE } from '../../artifact/storage.js';
import { findTreeRoot } from '../../manifests/tree-root.js';
import { commandPolicyFromEnv, sandboxLaunch } from '../../providers/local/sandbox.js';
import { errorMessage } from '../../resources/error-message.js';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { gitCommitAt } from '../git-commit.js';
import type { ResolvedTraining } from '../main.js';
import { resolveLocalEnv } from '../secrets.js';
import type { ProgressEvent } from '../types.js';
import { hyperparameterArgs } from '../../artifact/contract.js';
import { commandEnv, RESERVED_ENV_NAMES } from './env.js';
import { validateOwnArtifact } from './own-artifact.js';
import { descendants } from './process-tree.js';
import { progressReader } from './progress.js';

/** Set by the local provider: the folder of the manifest (the spec file it passes lives in the state folder). */
export const MANIFEST_DIR_ENV = 'MLFORM_MANIFEST_DIR';
/** Set by the local provider: folders no command may see (JSON array; its state folder). */
export const SANDBOX_HIDE_ENV = 'MLFORM_SANDBOX_HIDE';
/** SIGTERM -> SIGKILL grace for the command (the provider's own grace is longer). */
const STOP_GRACE_MS = 10_000;

export interface SuperviseIo {
  emit(event: ProgressEvent): void;
  /** The command's other stdout lines. */
  print(line: string): void;
  printErr(line: string): void;
  signal: AbortSignal;
  env: Record<string, string | undefined>;
  mlformVersion: string;
}

/** Whether `mlform train` hands this training to the supervisor. */
export const isCommandTraining = (resolved: ResolvedTraining): boolean =>
  (resolved.resource.manifest as { spec: TrainingRunSpec }).spec.trainer.command !== undefined;

async function isInside(path: string, roots: readonly string[]): Promise<boolean> {
  for (const root of roots) {
    const real = await realpath(root).catch(() => resolve(root));
    const rel = relative(real, path);
    if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) return true;
  }
  return false;
}

function parseHidden(value: string | undefined): string[] {
  if (!value) return [];
  try {
    const parsed = JSON.parse(value) as unknown;
    return Array.isArray(parsed)
      ? parsed.filter((p): p is string => typeof p === 'string' && isAbsolute(p))
      : [];
  } catch {
    return [];
  }
}

class Refused extends Error {}

/** `workingDir` against the manifest's folder; its real path must stay inside the data roots (the tree). */
async function workingDirOf(spec: TrainingRunSpec, manifestDir: string, roots: readonly string[]) {
  const wanted = resolve(manifestDir, spec.trainer.workingDir ?? '.');
  const real = await realpath(wanted).catch(() => undefined);
  if (real === undefined) throw new Refused(`spec.trainer.workingDir: ${wanted} does not exist`);
  if (!(await isInside(real, roots)))
    throw new Refused(
      `spec.trainer.workingDir: ${wanted} leads outside the manifest tree (${roots.join(', ')})`,
    );
  return real;
}

/** Runs the command to its artifact. Returns the exit status of `mlform train`. */
export async function superviseCommand(resolved: ResolvedTraining, io: SuperviseIo): Promise<number> {
  const fail = (message: string): number => {
    io.emit({ type: 'error', message });
    return 1;
  };
  try {
    return await supervise(resolved, io);
  } catch (e) {
    return fail(e instanceof Refused ? e.message : errorMessage(e));
  }
}

async function supervise(resolved: ResolvedTraining, io: SuperviseIo): Promise<number> {
  const { resource, outDir, dataRoots } = resolved;
  const spec = (resource.manifest as { spec: TrainingRunSpec }).spec;
  const argv = [...(spec.trainer.command ?? []), ...hyperparameterArgs(spec.trainer.hyperparameters)];
  if (isGcsUri(outDir)) throw new Refused(`--out ${outDir}: your own trainer writes a local folder`);
  if ((await readdir(outDir).catch(() => [])).length > 0)
    throw new Refused(`--out ${outDir} is not empty: choose a new folder for the artifact`);
  const manifestDir = io.env[MANIFEST_DIR_ENV] || resolved.baseDir;
  const cwd = await workingDirOf(spec, manifestDir, dataRoots);

  const sources = { env: io.env, treeRoot: dataRoots[0], reserved: RESERVED_ENV_NAMES };
  const secrets = await resolveLocalEnv(spec.trainer.env, sources, ['spec', 'trainer', 'env']);
  if (!secrets.env) throw new Refused(secrets.diagnostics.map((d) => d.message).join('; '));

  const staging = join(dirname(outDir), `${basename(outDir)}.partial`);
  const checkpointDir = join(dirname(outDir), 'checkpoints');
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true, mode: PRIVATE_DIR_MODE });
  await mkdir(checkpointDir, { recursive: true, mode: PRIVATE_DIR_MODE });

  const launch = sandboxLaunch(
    commandPolicyFromEnv(io.env),
    {
      argv,
      cwd,
      readOnly: dataRoots,
      writable: [staging, checkpointDir],
      hidden: parseHidden(io.env[SANDBOX_HIDE_ENV]),
      env: commandEnv({
        modelDir: staging,
        checkpointDir,
        hyperparameters: spec.trainer.hyperparameters,
        run: resource.address,
        resolvedEnv: secrets.env,
      }),
      network: spec.trainer.network ?? false,
      what: resource.address,
    },
    io.env,
  );
  if (!launch.ok) throw new Refused(`${launch.message} (${launch.hint})`);

  const startedAt = new Date();
  const exit = await run(launch, cwd, io);
  if (io.signal.aborted) {
    io.printErr(`interrupted: the command was stopped; its checkpoints are in ${checkpointDir}`);
    return 143;
  }
  if (exit.code !== 0) {
    const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    throw new Refused(`the trainer ${how}${exit.lastErr ? `: ${exit.lastErr}` : ''}`);
  }
  const problems = await validateOwnArtifact(staging);
  if (problems.length > 0) throw new Refused(`the trainer's artifact is incomplete: ${problems.join('; ')}`);
  await rmdir(outDir).catch(() => undefined);
  await rename(staging, outDir);
  const finishedAt = new Date();
  const seconds = (finishedAt.getTime() - startedAt.getTime()) / 1000;
  const gitCommit = resolved.manifestFile
    ? await gitCommitAt(await findTreeRoot(dirname(resolved.manifestFile)), resolved.manifestFile)
    : undefined;
  // Last: its presence is what makes the run succeeded.
  await writeJsonFile(outDir, CONTRACT_FILES.run, {
    formatVersion: 1,
    name: resource.name,
    specHash: resource.specHash,
    spec,
    trainer: { command: argv },
    ...(gitCommit !== undefined && { gitCommit }),
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    seconds,
    backend: 'command',
    mlformVersion: io.mlformVersion,
  });
  const metrics = (await readJsonFile(outDir, CONTRACT_FILES.metrics)) as {
    metrics: Record<string, number | null>;
  };
  io.emit({
    type: 'done',
    metrics: Object.fromEntries(
      Object.entries(metrics.metrics).filter((e): e is [string, number] => typeof e[1] === 'number'),
    ),
    seconds,
  });
  return 0;
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  lastErr?: string;
}

type Launch = Extract<ReturnType<typeof sandboxLaunch>, { ok: true }>;

/** Starts the launch, relays its output, forwards a stop; resolves when it has exited. */
function run(launch: Launch, cwd: string, io: SuperviseIo): Promise<Exit> {
  const child = spawn(launch.command, launch.args, {
    // bwrap sets the command's environment and folder itself; unconfined, the child gets them here.
    env: launch.env,
    cwd: launch.sandboxed ? '/' : cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Unconfined, its own process group, so a stop reaches what it started too.
    detached: !launch.sandboxed,
  });
  const read = progressReader();
  let lastErr: string | undefined;
  createInterface({ input: child.stdout }).on('line', (line) => {
    const event = read(line);
    if (event) io.emit(event);
    else io.print(line);
  });
  const stderrDone = new Promise<void>((done) => {
    createInterface({ input: child.stderr })
      .on('line', (line) => {
        if (line.trim() !== '') lastErr = line.trim().slice(0, 500);
        io.printErr(line);
      })
      .on('close', done);
  });
  let killTimer: NodeJS.Timeout | undefined;
  const stop = (): void => {
    const pid = child.pid;
    if (pid === undefined) return;
    const send = async (signal: NodeJS.Signals): Promise<void> => {
      if (!launch.sandboxed) {
        try {
          process.kill(-pid, signal);
        } catch {
          // gone
        }
        return;
      }
      // SIGTERM to the command inside (bwrap would die of it and take the namespace down at
      // once); SIGKILL to bwrap, whose death kills everything in the namespace.
      const targets = signal === 'SIGKILL' ? [pid] : await descendants(pid);
      for (const target of targets) {
        try {
          process.kill(target, signal);
        } catch {
          // gone
        }
      }
    };
    void send('SIGTERM');
    killTimer = setTimeout(() => void send('SIGKILL'), STOP_GRACE_MS);
    killTimer.unref();
  };
  if (io.signal.aborted) stop();
  else io.signal.addEventListener('abort', stop, { once: true });
  return new Promise((resolveExit, rejectExit) => {
    child.on('error', rejectExit);
    child.on('close', (code, signal) => {
      clearTimeout(killTimer);
      io.signal.removeEventListener('abort', stop);
      void stderrDone.then(() => resolveExit({ code, signal, ...(lastErr !== undefined && { lastErr }) }));
    });
  });
}
