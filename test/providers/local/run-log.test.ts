/**
 * Reading a training's log: progress from the last events (tuning: trials done of all), the
 * failure reason, and `logs -f` paging that never hands out half a line.
 */
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLogLines, readLogTail, summarizeLog } from '../../../providers/local/run-log.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-runlog-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

const line = (event: Record<string, unknown>) => JSON.stringify(event);

describe('summarizeLog', () => {
  it('reports the last epoch as progress', () => {
    const summary = summarizeLog([
      line({ type: 'start', epochs: 50, stepsPerEpoch: 3, backend: 'wasm' }),
      line({
        type: 'epoch',
        epoch: 1,
        epochs: 50,
        loss: 2,
        metrics: { val_loss: 2.5 },
        etaSeconds: 9,
        elapsedSeconds: 1,
      }),
      line({ type: 'checkpoint', epoch: 1 }),
      line({
        type: 'epoch',
        epoch: 2,
        epochs: 50,
        loss: 1,
        metrics: { val_loss: 1.5 },
        etaSeconds: 8,
        elapsedSeconds: 2,
      }),
    ]);
    expect(summary.progress).toEqual({
      epoch: 2,
      epochs: 50,
      loss: 1,
      metrics: { val_loss: 1.5 },
      etaSeconds: 8,
    });
  });

  it('counts finished trials of a tuning run', () => {
    const trial = (n: number, state: string) =>
      line({ type: 'trial', trial: n, trials: 4, params: {}, state });
    const summary = summarizeLog([
      line({ type: 'start', epochs: 20, stepsPerEpoch: 3, backend: 'wasm' }),
      trial(1, 'started'),
      trial(2, 'started'),
      trial(1, 'finished'),
      trial(2, 'failed'),
      trial(3, 'started'),
    ]);
    expect(summary.progress?.trial).toEqual({ done: 2, of: 4 });
  });

  it('keeps the last error event, and the last plain line of a crash', () => {
    expect(
      summarizeLog([line({ type: 'error', message: 'no GPU visible' }), 'error: no GPU visible']).error,
    ).toBe('no GPU visible');
    expect(summarizeLog(['TypeError: x is undefined', '    at main (main.js:1:1)']).lastText).toBe(
      'at main (main.js:1:1)',
    );
  });
});

describe('log files', () => {
  it('pages complete lines and continues where it stopped', async () => {
    const path = join(dir, 'train.log');
    await writeFile(path, 'one\ntwo\nthr');
    const first = await readLogLines(path);
    expect(first).toEqual({ lines: ['one', 'two'], next: 8 });
    await appendFile(path, 'ee\n');
    expect(await readLogLines(path, first.next)).toEqual({ lines: ['three'], next: 14 });
    expect(await readLogLines(join(dir, 'missing.log'))).toEqual({ lines: [], next: 0 });
  });

  it('reads only the tail of a long log, without a broken first line', async () => {
    const path = join(dir, 'long.log');
    await writeFile(path, Array.from({ length: 1000 }, (_, i) => `line ${i}`).join('\n') + '\n');
    const tail = await readLogTail(path, 100);
    expect(tail.at(-1)).toBe('line 999');
    expect(tail.every((l) => /^line \d+$/.test(l))).toBe(true);
    expect(tail.length).toBeLessThan(20);
  });
});
