/** Tuning without training: sampling the search space, trial specs, the halving schedule. */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { resolveTraining } from '../../trainer/main.js';
import { halvingSchedule, randomSchedule, trialBudget } from '../../trainer/tuning/schedule.js';
import {
  sampleDimension,
  sampleParams,
  sampleTrials,
  type SearchSpace,
} from '../../trainer/tuning/search-space.js';
import { setAtPath, trialSpec, withEpochs } from '../../trainer/tuning/trial-spec.js';

let base: TrainingRunSpec;
beforeAll(async () => {
  const resolved = await resolveTraining(
    { specFile: 'examples/trainer/iris-tuning.yaml', out: '/tmp/x' },
    {},
  );
  if (!resolved.ok) throw new Error(JSON.stringify(resolved.diagnostics));
  base = resolved.value.resource.manifest.spec as TrainingRunSpec;
});

const space: SearchSpace = {
  learningRate: { logUniform: [1e-4, 1e-1] },
  dropout: { uniform: [0, 0.5] },
  'network.layers': { choice: [[8], [16, 8], [32, 16, 8]] },
  batchSize: { int: [1, 3] },
};

describe('sampling the search space', () => {
  it('is deterministic for a seed and differs between seeds and trials', () => {
    expect(sampleTrials(space, 7, 5)).toEqual(sampleTrials(space, 7, 5));
    expect(sampleTrials(space, 8, 5)).not.toEqual(sampleTrials(space, 7, 5));
    const [a, b] = sampleTrials(space, 7, 2);
    expect(a).not.toEqual(b);
  });

  it('keeps earlier trials when trials grow, and ignores the key order of the space', () => {
    expect(sampleTrials(space, 7, 8).slice(0, 3)).toEqual(sampleTrials(space, 7, 3));
    const reordered = Object.fromEntries(Object.entries(space).reverse());
    expect(sampleParams(reordered, 7, 4)).toEqual(sampleParams(space, 7, 4));
    // Adding a dimension does not change the values the others get.
    const more = { ...space, optimizer: { choice: ['adam', 'sgd'] } };
    const { optimizer: _added, ...rest } = sampleParams(more, 7, 4);
    expect(rest).toEqual(sampleParams(space, 7, 4));
  });

  it('stays within bounds for any seed and range', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.double({ min: -1e3, max: 1e3, noNaN: true }),
        fc.double({ min: 1e-6, max: 1e3, noNaN: true }),
        fc.integer({ min: -50, max: 50 }),
        fc.integer({ min: 0, max: 20 }),
        (seed, low, width, intLow, intWidth) => {
          const params = sampleParams(
            {
              u: { uniform: [low, low + width] },
              l: { logUniform: [width, width * 10] },
              i: { int: [intLow, intLow + intWidth] },
            },
            seed,
            1,
          );
          const [u, l, i] = [params.u, params.l, params.i] as number[];
          expect(u).toBeGreaterThanOrEqual(low);
          expect(u).toBeLessThanOrEqual(low + width);
          expect(l).toBeGreaterThanOrEqual(width);
          expect(l).toBeLessThanOrEqual(width * 10);
          expect(Number.isInteger(i)).toBe(true);
          expect(i).toBeGreaterThanOrEqual(intLow);
          expect(i).toBeLessThanOrEqual(intLow + intWidth);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('draws logUniform evenly per decade (log space), uniform evenly per unit', () => {
    const draws = sampleTrials(space, 1, 3000);
    const decades = [0, 0, 0];
    for (const d of draws) decades[Math.floor(Math.log10(d.learningRate as number) + 4)] += 1;
    for (const count of decades) expect(count / draws.length).toBeCloseTo(1 / 3, 1);
    const lowHalf = draws.filter((d) => (d.dropout as number) < 0.25).length;
    expect(lowHalf / draws.length).toBeCloseTo(0.5, 1);
    // The ends of the ranges map exactly.
    expect(sampleDimension({ logUniform: [1e-4, 1e-1] }, 0)).toBeCloseTo(1e-4, 12);
    expect(sampleDimension({ uniform: [2, 4] }, 0.5)).toBe(3);
  });

  it('draws int inclusive of both ends, and every choice value as a copy', () => {
    const draws = sampleTrials(space, 3, 300);
    expect(new Set(draws.map((d) => d.batchSize))).toEqual(new Set([1, 2, 3]));
    expect(sampleDimension({ int: [1, 3] }, 0.999999)).toBe(3);
    const layers = draws.map((d) => JSON.stringify(d['network.layers']));
    expect(new Set(layers)).toEqual(new Set(['[8]', '[16,8]', '[32,16,8]']));
    const choice = { choice: [[8]] };
    const picked = sampleDimension(choice, 0.3) as number[];
    picked.push(99);
    expect(choice.choice[0]).toEqual([8]);
  });
});

describe('trial specs', () => {
  it('puts sampled values at their paths in trainer.builtin and drops tuning', () => {
    const result = trialSpec(base, {
      learningRate: 0.003,
      'network.layers': [32, 16],
      'network.dropout': 0.2,
      'hyperparameters.earlyStopping.patience': 4,
      seed: 11,
    });
    if (!result.ok) throw new Error(result.message);
    const b = result.spec.trainer.builtin!;
    expect(b.hyperparameters.learningRate).toBe(0.003);
    expect(b.network.layers).toEqual([32, 16]);
    expect(b.network.dropout).toBe(0.2);
    expect(b.seed).toBe(11);
    // A path through a missing object creates it, with the schema's defaults.
    expect(b.hyperparameters.earlyStopping).toEqual({ patience: 4, metric: 'val_loss', minDelta: 0 });
    expect(result.spec.tuning).toBeUndefined();
    // The run's spec is untouched.
    expect(base.trainer.builtin!.network.layers).toEqual([16]);
    expect(base.tuning).toBeDefined();
  });

  it('fails a trial whose values make an invalid spec, naming the field', () => {
    const result = trialSpec(base, { 'network.layers': [0] });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.message).toContain('network.layers=[0]');
      expect(result.message).toContain('spec.trainer.builtin.network.layers[0]');
    }
    const recurrent = trialSpec(base, { 'network.type': 'lstm' });
    expect(recurrent.ok).toBe(false);
    if (!recurrent.ok) expect(recurrent.message).toContain('data.window');
  });

  it('allows rungs shorter than the early-stopping patience', () => {
    const result = trialSpec(base, { 'hyperparameters.earlyStopping.patience': 40 });
    if (!result.ok) throw new Error(result.message);
    expect(withEpochs(result.spec, 3).trainer.builtin!.hyperparameters.epochs).toBe(3);
    expect(result.spec.trainer.builtin!.hyperparameters.epochs).toBe(30);
  });

  it('setAtPath replaces non-objects on the way', () => {
    const target: Record<string, unknown> = { a: 1 };
    setAtPath(target, 'a.b.c', 2);
    expect(target).toEqual({ a: { b: { c: 2 } } });
  });
});

describe('successive halving schedule', () => {
  const shape = (trials: number, epochs: number) =>
    halvingSchedule(trials, epochs).map((r) => [r.trials, r.epochs]);

  it('keeps a third per rung and triples the budget up to the full epochs', () => {
    expect(shape(27, 27)).toEqual([
      [27, 1],
      [9, 3],
      [3, 9],
      [1, 27],
    ]);
    expect(shape(20, 100)).toEqual([
      [20, 11],
      [6, 33],
      [2, 100],
    ]);
    expect(shape(4, 30)).toEqual([
      [4, 10],
      [1, 30],
    ]);
    expect(shape(10, 100)).toEqual([
      [10, 11],
      [3, 33],
      [1, 100],
    ]);
  });

  it('has fewer rungs when trials or epochs are few (one rung is random search)', () => {
    expect(shape(2, 100)).toEqual([[2, 100]]);
    expect(shape(100, 2)).toEqual([[100, 2]]);
    expect(shape(30, 9)).toEqual([
      [30, 1],
      [10, 3],
      [3, 9],
    ]);
    expect(halvingSchedule(9, 9, 2).map((r) => [r.trials, r.epochs])).toEqual([
      [9, 1],
      [4, 2],
      [2, 5],
      [1, 9],
    ]);
    expect(randomSchedule(5, 40)).toEqual([{ rung: 0, trials: 5, epochs: 40 }]);
  });

  it('scales the budget of a trial whose epochs are tuned', () => {
    const schedule = halvingSchedule(9, 90);
    expect(schedule.map((r) => trialBudget(r, schedule, 90))).toEqual([10, 30, 90]);
    expect(schedule.map((r) => trialBudget(r, schedule, 45))).toEqual([5, 15, 45]);
    expect(schedule.map((r) => trialBudget(r, schedule, 2))).toEqual([1, 1, 2]);
  });
});
