/**
 * `describe` of a tuned run (its study from tuning.json: trials, pruning reasons, best so far)
 * and the trial lines of `logs` (pruning decisions with their reason).
 */
import { describe, expect, it } from 'vitest';
import { renderStudy, studySummary } from '../../controller/ui/study-describe.js';
import { progressLine } from '../../controller/ui/training-progress.js';
import { createStyle } from '../../controller/ui/style.js';
import type { TrialRecord, TuningFile } from '../../trainer/tuning/tuning-file.js';

const plain = createStyle(false);

const trial = (n: number, fields: Partial<TrialRecord>): TrialRecord => ({
  trial: n,
  dir: `trials/${n}`,
  params: { learningRate: 0.01 * n, 'network.layers': [8 * n] },
  state: 'completed',
  rung: null,
  budget: 9,
  epochs: 9,
  metric: null,
  seconds: 1,
  runs: [],
  ...fields,
});

const running: TuningFile = {
  formatVersion: 1,
  state: 'running',
  algorithm: 'halving',
  metric: 'val_loss',
  goal: 'minimize',
  parallel: 2,
  workers: 2,
  schedule: [{ rung: 0, trials: 6, epochs: 9 }],
  space: {},
  startedAt: '2026-12-05T10:00:00.000Z',
  sampler: { type: 'tpe' },
  pruner: { type: 'asha' },
  trials: [
    trial(1, { metric: 0.5, score: 0.5 }),
    trial(2, {
      state: 'pruned',
      epochs: 3,
      metric: 0.2,
      score: 0.2,
      prunedAt: { epoch: 3, reason: 'val_loss 0.9 is worse than the median 0.4\x1b[2J' },
    }),
    trial(3, { metric: 0.3, score: 0.3 }),
    trial(4, { state: 'failed', epochs: 2, error: 'out of memory' }),
    trial(5, { state: 'running', epochs: 4 }),
  ],
};

describe('describe of a tuned run', () => {
  it('lists every trial with its state, epochs, metric, params and reason, and the best so far', () => {
    const study = studySummary(running, 'iris#2');
    // A pruned trial is never the best while a completed one exists, even with a better metric.
    expect(study.best).toEqual({ trial: 3, metric: 0.3, final: false });
    expect(study.trials[1].reason).toBe('epoch 3: val_loss 0.9 is worse than the median 0.4\x1b[2J');
    const text = renderStudy(study, plain).join('\n');
    expect(text).toContain(
      'Study (iris#2, running: 4 of 6 trials ended; sampler tpe, pruner asha; val_loss, minimize):',
    );
    const rows = text.split('\n').filter((l) => /^ {2}\d/.test(l));
    expect(rows).toHaveLength(5);
    expect(rows[1]).toMatch(
      /^ {2}2 +pruned +3 +0\.2 +0\.2 +learningRate=0\.02 network\.layers=\[16\] +epoch 3: val_loss 0\.9/,
    );
    expect(rows[3]).toMatch(/failed +2 +- +- .*out of memory$/);
    expect(rows[4]).toMatch(/running +4 +- +-/);
    // Written by the training: terminal sequences are shown escaped, never sent.
    expect(text).not.toContain('\x1b');
    expect(text).toContain('Best so far: trial 3, val_loss 0.3  learningRate=0.03 network.layers=[24]');
  });

  it("shows the study's own pick once it succeeded", () => {
    const done: TuningFile = {
      ...running,
      state: 'succeeded',
      trials: running.trials.map((t) =>
        t.state === 'running' ? { ...t, state: 'completed', metric: 0.1 } : t,
      ),
      best: { trial: 5, dir: 'trials/5', params: {}, metric: 0.1, epochs: 9 },
    };
    const text = renderStudy(studySummary(done, 'iris#2'), plain).join('\n');
    expect(text).toContain('5 of 6 trials ended');
    expect(text).toMatch(/ {2}Best: trial 5, val_loss 0\.1 /);
  });

  it('says when no trial has ended yet', () => {
    const text = renderStudy(
      studySummary({ ...running, trials: [trial(1, { state: 'running' })] }, 'r#1'),
      plain,
    );
    expect(text.at(-1)).toBe('  Best so far: (no trial has ended yet)');
  });
});

describe('logs of a tuned run', () => {
  it('shows a pruning decision with its reason, escaped', () => {
    const line = progressLine(
      {
        type: 'trial',
        trial: 2,
        trials: 6,
        params: { learningRate: 0.02 },
        metric: 0.9,
        state: 'pruned',
        reason: 'val_loss 0.9 is worse than the median 0.4 at epoch 3\x1b[31m',
      },
      plain,
    );
    expect(line).toBe(
      'trial 2/6 pruned 0.9000: val_loss 0.9 is worse than the median 0.4 at epoch 3\\x1b[31m {"learningRate":0.02}',
    );
  });
});
