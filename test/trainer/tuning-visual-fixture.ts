/**
 * A TuningFile of `n` trials for the study visualisations' tests and bench: parameters drawn with a
 * seeded generator from SPACE, a score decided by the learning rate; trial 3 failed, 5 and 7 pruned.
 */
import { mulberry32 } from '../../trainer/data/random.js';
import type { TrialRecord, TuningFile } from '../../trainer/tuning/tuning-file.js';

export const SPACE = {
  learningRate: { logUniform: [1e-4, 1e-1] },
  'network.layers': { choice: [[8], [16], [32, 16]] },
  'network.dropout': { uniform: [0, 0.5] },
};

export const LAYERS = [[8], [16], [32, 16]];

/** The score a trial gets: decided by the learning rate (best near 10^-2.5); dropout adds noise. */
export const scoreOf = (lr: number, dropout: number): number => (Math.log10(lr) + 2.5) ** 2 + 0.002 * dropout;

function trial(
  k: number,
  params: Record<string, unknown>,
  state: TrialRecord['state'],
  metric: number | null,
) {
  return {
    trial: k,
    dir: `trials/${k}`,
    params,
    state,
    rung: 0,
    budget: 10,
    epochs: state === 'failed' ? null : 10,
    metric,
    seconds: 1,
    runs: [
      {
        rung: 0,
        budget: 10,
        resumed: false,
        state: state === 'failed' ? ('failed' as const) : ('succeeded' as const),
        metric,
        epochs: 10,
        startedAt: `2026-01-01T00:0${k % 10}:00.000Z`,
        finishedAt: '2026-01-01T00:10:00.000Z',
        seconds: 1,
      },
    ],
    ...(metric !== null && { score: metric, values: [metric] }),
  } satisfies TrialRecord;
}

/** `n` trials drawn from SPACE with a seeded generator; trial 3 failed, trials 5 and 7 pruned. */
export function studyFixture(n: number): TuningFile {
  const random = mulberry32(42);
  const trials = Array.from({ length: n }, (_, i) => {
    const k = i + 1;
    const lr = 10 ** (-4 + 3 * random());
    const dropout = 0.5 * random();
    const layers = LAYERS[Math.floor(random() * 3)];
    const state = k === 3 ? 'failed' : k === 5 || k === 7 ? 'pruned' : 'completed';
    return trial(
      k,
      { learningRate: lr, 'network.dropout': dropout, 'network.layers': layers },
      state,
      state === 'failed' ? null : scoreOf(lr, dropout),
    );
  });
  return {
    formatVersion: 1,
    state: 'succeeded',
    algorithm: 'random',
    metric: 'val_loss',
    goal: 'minimize',
    parallel: 2,
    schedule: [{ rung: 0, trials: n, epochs: 10 }],
    space: SPACE,
    startedAt: '2026-01-01T00:00:00.000Z',
    trials,
  };
}
