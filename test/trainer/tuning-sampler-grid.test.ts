/**
 * The grid sampler and conditional parameters of the random sampler: every combination exactly
 * once in a seeded order, `points` spacing, conditional parameters absent where their condition
 * fails, `layers` lists, and the random sampler's draws unchanged for plain dimensions.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32, seedFor } from '../../trainer/data/random.js';
import { createSampler, SamplerError } from '../../trainer/tuning/samplers/index.js';
import {
  assembleParams,
  flattenParams,
  flattenSpace,
  type SearchSpace,
  type TrialParams,
} from '../../trainer/tuning/search-space.js';
import type { Tuning } from '../../trainer/tuning/study-types.js';

const tuningOf = (space: SearchSpace, type: 'grid' | 'random' | 'bayesian', trials = 100): Tuning => ({
  trials,
  parallel: 1,
  metric: 'val_loss',
  goal: 'minimize',
  algorithm: 'random',
  sampler: { type },
  space,
});

const askAll = (tuning: Tuning, seed: number, count: number): TrialParams[] => {
  const sampler = createSampler(tuning, seed);
  return Array.from({ length: count }, (_, i) => sampler.ask(i + 1, [], []));
};

describe('the grid sampler', () => {
  const space: SearchSpace = {
    optimizer: { choice: ['adam', 'sgd'] },
    batchSize: { int: [16, 18] },
    learningRate: { logUniform: [1e-4, 1e-2], points: 3 },
  };

  it('proposes every combination once, size = their number, in a seeded order', () => {
    const sampler = createSampler(tuningOf(space, 'grid'), 7);
    expect(sampler.size).toBe(2 * 3 * 3);
    const trials = askAll(tuningOf(space, 'grid'), 7, 18);
    expect(new Set(trials.map((t) => JSON.stringify(t))).size).toBe(18);
    for (const optimizer of ['adam', 'sgd'])
      for (const batchSize of [16, 17, 18])
        for (const learningRate of [1e-4, 1e-3, 1e-2])
          expect(
            trials.some(
              (t) =>
                t.optimizer === optimizer &&
                t.batchSize === batchSize &&
                Math.abs((t.learningRate as number) / learningRate - 1) < 1e-12,
            ),
          ).toBe(true);
    // The ends of a range are exact; the same seed gives the same order, another a different one.
    expect(trials.some((t) => t.learningRate === 1e-4) && trials.some((t) => t.learningRate === 1e-2)).toBe(
      true,
    );
    expect(askAll(tuningOf(space, 'grid'), 7, 18)).toEqual(trials);
    expect(askAll(tuningOf(space, 'grid'), 8, 18)).not.toEqual(trials);
    // Shuffled: the first six trials do not all share the first key's value, as an ordered grid would.
    expect(new Set(trials.slice(0, 6).map((t) => t.batchSize)).size).toBeGreaterThan(1);
    // Beyond the grid it wraps around (the engine stops at `size`).
    expect(sampler.ask(19, [], [])).toEqual(sampler.ask(1, [], []));
  });

  it('spaces uniform points evenly, both ends included', () => {
    const trials = askAll(tuningOf({ dropout: { uniform: [0, 0.5], points: 6 } }, 'grid'), 1, 6);
    const values = trials.map((t) => t.dropout as number).sort((a, b) => a - b);
    [0, 0.1, 0.2, 0.3, 0.4, 0.5].forEach((v, i) => expect(values[i]).toBeCloseTo(v, 12));
    expect([values[0], values[5]]).toEqual([0, 0.5]);
  });

  it('multiplies a conditional parameter only where it exists', () => {
    const conditional: SearchSpace = {
      optimizer: { choice: ['adam', 'sgd'] },
      // Only sgd has a momentum-like extra knob here: the patience of early stopping.
      'hyperparameters.earlyStopping.patience': { int: [2, 4], when: { key: 'optimizer', in: ['sgd'] } },
    };
    const sampler = createSampler(tuningOf(conditional, 'grid'), 3);
    expect(sampler.size).toBe(1 + 3);
    const trials = askAll(tuningOf(conditional, 'grid'), 3, 4);
    const adam = trials.filter((t) => t.optimizer === 'adam');
    expect(adam).toEqual([{ optimizer: 'adam' }]);
    expect(
      trials
        .filter((t) => t.optimizer === 'sgd')
        .map((t) => t['hyperparameters.earlyStopping.patience'])
        .sort(),
    ).toEqual([2, 3, 4]);
  });

  it('enumerates layers: each depth with every width of its layers', () => {
    const layers: SearchSpace = { 'network.layers': { layers: { count: [1, 2], units: [8, 9] } } };
    const trials = askAll(tuningOf(layers, 'grid'), 1, 6);
    expect(createSampler(tuningOf(layers, 'grid'), 1).size).toBe(2 + 4);
    expect(trials.map((t) => JSON.stringify(t['network.layers'])).sort()).toEqual(
      ['[8]', '[9]', '[8,8]', '[8,9]', '[9,8]', '[9,9]'].sort(),
    );
  });

  it('refuses a space it cannot enumerate, and bayesian locally', () => {
    expect(() => createSampler(tuningOf({ dropout: { uniform: [0, 0.5] } }, 'grid'), 1)).toThrow(/points/);
    expect(() => createSampler(tuningOf(space, 'bayesian'), 1)).toThrow(SamplerError);
    expect(() => createSampler(tuningOf(space, 'bayesian'), 1)).toThrow(/use tpe locally/);
  });
});

describe('conditional parameters in the random sampler', () => {
  it('keeps the first version draws for plain dimensions (random is the default)', () => {
    const plain: SearchSpace = { learningRate: { logUniform: [1e-4, 1e-1] }, batchSize: { int: [8, 64] } };
    const noSampler: Tuning = { ...tuningOf(plain, 'random'), sampler: undefined };
    const sampler = createSampler(noSampler, 42);
    // The first version's stream: one generator per (trial, key), seeded `tuning/<trial>/<key>`.
    for (const trial of [1, 2, 3]) {
      const u = (key: string) => mulberry32(seedFor(42, `tuning/${trial}/${key}`))();
      expect(sampler.ask(trial, [], [])).toEqual({
        batchSize: 8 + Math.floor(u('batchSize') * 57),
        learningRate: Math.exp(Math.log(1e-4) + u('learningRate') * (Math.log(1e-1) - Math.log(1e-4))),
      });
    }
  });

  it('leaves a parameter out where its condition fails, so the spec keeps its own value', () => {
    const space: SearchSpace = {
      optimizer: { choice: ['adam', 'sgd'] },
      learningRate: { logUniform: [1e-3, 1e-1], when: { key: 'optimizer', in: ['sgd'] } },
    };
    const trials = askAll(tuningOf(space, 'random'), 5, 60);
    for (const t of trials) expect('learningRate' in t).toBe(t.optimizer === 'sgd');
    expect(trials.filter((t) => t.optimizer === 'sgd').length).toBeGreaterThan(15);
    // Adding the condition did not change the optimizer draws.
    const unconditional = askAll(tuningOf({ optimizer: space.optimizer }, 'random'), 5, 60);
    expect(trials.map((t) => t.optimizer)).toEqual(unconditional.map((t) => t.optimizer));
  });

  it('samples layers as a list: depth in range, units log-uniform per existing layer', () => {
    const space: SearchSpace = { 'network.layers': { layers: { count: [1, 3], units: [4, 256] } } };
    const lists = askAll(tuningOf(space, 'random'), 2, 400).map((t) => t['network.layers'] as number[]);
    expect(new Set(lists.map((l) => l.length))).toEqual(new Set([1, 2, 3]));
    const units = lists.flat();
    for (const u of units) expect(Number.isInteger(u) && u >= 4 && u <= 256).toBe(true);
    // Log scale: [4, 16) and [64, 256] cover the same share of log-space (the two outer thirds).
    const low = units.filter((u) => u < 16).length / units.length;
    const high = units.filter((u) => u >= 64).length / units.length;
    expect(Math.abs(low - high)).toBeLessThan(0.08);
  });

  it('round-trips params through flat values; values outside the space are dropped', () => {
    const space: SearchSpace = {
      'network.layers': { layers: { count: [1, 3], units: [4, 256] } },
      'network.activation': { choice: ['relu', 'tanh'] },
    };
    const flat = flattenSpace(space);
    const params = { 'network.layers': [32, 8], 'network.activation': 'tanh' };
    const values = flattenParams(flat, params);
    expect(values).toEqual({
      'network.layers/count': 2,
      'network.layers/units1': 32,
      'network.layers/units2': 8,
      'network.activation': 1,
    });
    expect(assembleParams(space, flat, values)).toEqual(params);
    expect(flattenParams(flat, { 'network.layers': [1000], 'network.activation': 'gelu' })).toEqual({
      'network.layers/count': 1,
    });
  });
});
