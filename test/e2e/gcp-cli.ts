/**
 * The built CLI against test/fakes/gcp, asynchronously (the fake runs in this process and must
 * keep answering while the CLI waits on it), and the trainer Vertex AI would run.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { startFakeGcp, type FakeContainerRun, type FakeGcp } from '../fakes/gcp/index.js';
import { CLI_ENV } from './cli.js';

const REPO = resolve('.');

export function runCliAsync(
  args: readonly string[],
  env: Record<string, string | undefined>,
  signal?: AbortSignal,
): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(REPO, 'bin/mlform.js'), ...args], {
      cwd: REPO,
      env: { ...process.env, ...CLI_ENV, ...env },
      signal,
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', () => undefined);
    child.on('close', (code) => done({ code, out }));
  });
}

/** What Vertex AI would run: the trainer image's entrypoint `mlform train` with the job's args and env. */
export async function vertexTrainer(
  job: FakeContainerRun,
  signal: AbortSignal,
): Promise<{ exitCode: number; message?: string }> {
  const r = await runCliAsync(['train', ...job.containerSpec.args], job.env, signal);
  return r.code === 0 ? { exitCode: 0 } : { exitCode: r.code ?? 1, message: r.out.slice(-500) };
}

/** The CLI talking to the fake (MLFORM_GCP_API_ENDPOINT), with short retry waits. */
export const mlformOn =
  (fake: Pick<FakeGcp, 'url'>) =>
  (...args: string[]) =>
    runCliAsync(args, { MLFORM_GCP_API_ENDPOINT: fake.url, MLFORM_GCP_RETRY_BASE_MS: '20' });

/** The fake with the real trainer as its container runner and short job phases. */
export const startFakeWithTrainer = (): Promise<FakeGcp> =>
  startFakeGcp({ runContainer: vertexTrainer, jobTiming: { queuedMs: 10, pendingMs: 10, runningMs: 10 } });
