/**
 * Crash and resume across processes: a training is SIGKILLed right after its second checkpoint,
 * a new process resumes it from the checkpoint, and the outcome is the one of a training that was
 * never interrupted (same backend, wasm: deterministic single-threaded kernels).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';

const CHILD = fileURLToPath(new URL('./training-child.ts', import.meta.url));
const EPOCHS = 6; // CHILD_EPOCHS in training-child.ts

interface Line {
  type: string;
  epoch?: number;
  resumedFromEpoch?: number;
  history?: unknown[];
  steps?: number;
  weights?: string;
}

interface ChildRun {
  lines: Line[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the child; `killAfter` decides from each stdout line whether to SIGKILL it there. */
function runChild(outDir: string, killAfter?: (line: Line, lines: Line[]) => boolean): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, outDir], {
      env: { ...process.env, MLFORM_BACKEND: 'wasm' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: Line[] = [];
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    createInterface({ input: child.stdout }).on('line', (text) => {
      const line = JSON.parse(text) as Line;
      lines.push(line);
      if (killAfter?.(line, lines)) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ lines, code, signal, stderr }));
  });
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mlform-resume-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

it('resumes a SIGKILLed training from its checkpoint to the same result as an uninterrupted run', async () => {
  const interrupted = join(root, 'interrupted');
  const killed = await runChild(
    interrupted,
    (line, lines) => line.type === 'checkpoint' && lines.filter((l) => l.type === 'checkpoint').length === 2,
  );
  expect(killed.signal, killed.stderr).toBe('SIGKILL');
  expect(killed.lines.some((l) => l.type === 'result')).toBe(false);
  const epochsBeforeKill = killed.lines.filter((l) => l.type === 'epoch').length;
  expect(epochsBeforeKill).toBeGreaterThanOrEqual(2);
  expect(epochsBeforeKill).toBeLessThan(EPOCHS);

  const [resumed, uninterrupted] = await Promise.all([
    runChild(interrupted),
    runChild(join(root, 'uninterrupted')),
  ]);
  expect(resumed.code, resumed.stderr).toBe(0);
  expect(uninterrupted.code, uninterrupted.stderr).toBe(0);

  const start = resumed.lines[0];
  expect(start.type).toBe('start');
  const from = start.resumedFromEpoch ?? 0;
  expect(from).toBeGreaterThanOrEqual(2);
  // Every epoch is trained exactly once across the two processes (the kill may land after a
  // checkpoint the first process did not get to report).
  const resumedEpochs = resumed.lines.flatMap((l) => (l.type === 'epoch' ? [l.epoch] : []));
  expect(resumedEpochs).toEqual(Array.from({ length: EPOCHS - from }, (_, i) => from + 1 + i));
  expect(from).toBeGreaterThanOrEqual(epochsBeforeKill);

  const a = resumed.lines.at(-1);
  const b = uninterrupted.lines.at(-1);
  expect(a?.type).toBe('result');
  expect(a?.history).toHaveLength(EPOCHS);
  expect(a?.steps).toBe(b?.steps);
  expect(a?.history).toEqual(b?.history);
  expect(a?.weights).toBe(b?.weights);
});
