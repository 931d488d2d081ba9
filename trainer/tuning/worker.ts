/**
 * The process a tuning trial trains in (see trial-launcher.ts): one WorkerRequest JSON line on
 * stdin, the progress events as JSON lines on stdout, exit 0 once the artifact is written. After
 * each epoch (its checkpoint written) it waits for the parent's WorkerVerdict line: `stop` ends
 * the training there as an early stop (the study pruned it), so the artifact is complete.
 * It calls runTraining directly rather than `mlform train`: a trial's spec may break manifest
 * rules on purpose (a halving rung shorter than the early-stopping patience), its data URIs
 * resolve against the manifest's folder given in the request, and the spec does not have to fit
 * on a command line.
 */
import { errorMessage } from '../../resources/error-message.js';
import { createInterface } from 'node:readline';
import { runTraining } from '../run-training.js';
import type { ProgressEvent } from '../types.js';
import type { WorkerRequest, WorkerVerdict } from './trial-launcher.js';

const emit = (event: ProgressEvent): void => {
  process.stdout.write(`${JSON.stringify(event)}\n`);
};

const abort = new AbortController();
let finished = false;
const stop = (): void => {
  if (!finished) abort.abort();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

const input = createInterface({ input: process.stdin });
const request = await new Promise<WorkerRequest | undefined>((resolve) => {
  input.once('line', (line) => resolve(JSON.parse(line) as WorkerRequest));
  input.once('close', () => resolve(undefined));
});

// Verdict lines that came before they were awaited, and the epoch waiting for one.
const verdicts: string[] = [];
let waiting: ((line: string | undefined) => void) | undefined;
input.on('line', (line) => {
  if (waiting) waiting(line);
  else verdicts.push(line);
});
// The parent keeps stdin open while it lives: end of input means it is gone, so stop.
input.on('close', () => {
  stop();
  waiting?.(undefined);
});

/** The parent's verdict on the epoch just reported: true stops the training there. */
async function stopAfterEpoch(): Promise<boolean> {
  const line =
    verdicts.shift() ??
    (await new Promise<string | undefined>((resolve) => {
      waiting = (l) => {
        waiting = undefined;
        resolve(l);
      };
    }));
  // No answer (the parent is gone): the abort that follows stops it with a checkpoint.
  if (line === undefined) return false;
  return (JSON.parse(line) as WorkerVerdict).stop === true;
}

if (!request) {
  process.stderr.write('trial worker: no request on stdin\n');
  process.exitCode = 1;
} else {
  try {
    await runTraining({
      spec: request.spec,
      baseDir: request.baseDir,
      outDir: request.outDir,
      name: request.name,
      manifestFile: request.manifestFile,
      mlformVersion: request.mlformVersion,
      onEvent: emit,
      signal: abort.signal,
      env: process.env,
      stopAfterEpoch,
    });
    process.exitCode = 0;
  } catch (error) {
    emit({ type: 'error', message: errorMessage(error) });
    process.exitCode = abort.signal.aborted ? 143 : 1;
  } finally {
    finished = true;
    input.close();
    process.stdin.destroy();
    // Nothing should keep the process alive now; if a library left a handle open, do not hang.
    setTimeout(() => process.exit(), 1000).unref();
  }
}
