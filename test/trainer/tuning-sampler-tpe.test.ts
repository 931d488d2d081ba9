/**
 * TPE's behaviour pinned (trainer/tuning/samplers/tpe.ts): the good/bad split, Optuna's bandwidth
 * and weight rules computed by hand, proposals that concentrate where the objective is good,
 * conditional parameters learnt only from the trials that had them, and determinism.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../trainer/data/random.js';
import { createSampler } from '../../trainer/tuning/samplers/index.js';
import { logNormalMass, normalCdf, sampleTruncatedNormal } from '../../trainer/tuning/samplers/normal.js';
import {
  bandwidths,
  buildParzenEstimator,
  trialWeights,
} from '../../trainer/tuning/samplers/parzen-estimator.js';
import { gamma, splitTrials } from '../../trainer/tuning/samplers/tpe.js';
import { sampleParams, type SearchSpace, type TrialParams } from '../../trainer/tuning/search-space.js';
import type { FinishedTrial, Sampler, Tuning } from '../../trainer/tuning/study-types.js';

const tuningOf = (space: SearchSpace, extra: Partial<Tuning> = {}): Tuning => ({
  trials: 100,
  parallel: 1,
  metric: 'val_loss',
  goal: 'minimize',
  algorithm: 'random',
  sampler: { type: 'tpe' },
  space,
  ...extra,
});

const completed = (trial: number, params: TrialParams, score: number | null): FinishedTrial => ({
  trial,
  params,
  state: 'completed',
  score,
  intermediate: [],
});

/** Runs a sequential study of `trials` trials of `objective`; returns the history. */
function study(sampler: Sampler, trials: number, objective: (p: TrialParams) => number): FinishedTrial[] {
  const history: FinishedTrial[] = [];
  for (let t = 1; t <= trials; t++) {
    const params = sampler.ask(t, history, []);
    history.push(completed(t, params, objective(params)));
  }
  return history;
}

describe('the good/bad split', () => {
  it("uses Optuna's gamma(n) = min(ceil(0.1 n), 25)", () => {
    expect([1, 9, 10, 11, 100, 249, 250, 251, 1000].map(gamma)).toEqual([1, 1, 1, 2, 10, 25, 25, 25, 25]);
    const history = Array.from({ length: 30 }, (_, i) => completed(i + 1, {}, 30 - i));
    const { good, bad } = splitTrials(history, 'minimize');
    // The 3 lowest scores are the last three trials; both groups stay in trial order.
    expect(good.map((t) => t.trial)).toEqual([28, 29, 30]);
    expect(bad).toHaveLength(27);
    expect(bad.map((t) => t.trial)).toEqual([...bad.map((t) => t.trial)].sort((a, b) => a - b));
    expect(splitTrials(history, 'maximize').good.map((t) => t.trial)).toEqual([1, 2, 3]);
  });

  it('ranks pruned trials after completed ones, those that got further first; ignores failed and diverged', () => {
    const pruned = (trial: number, epoch: number, value: number): FinishedTrial => ({
      trial,
      params: {},
      state: 'pruned',
      score: null,
      intermediate: [{ epoch, value }],
    });
    const history: FinishedTrial[] = [
      completed(1, {}, 5),
      pruned(2, 3, 0.1),
      pruned(3, 9, 0.9),
      pruned(4, 9, 0.5),
      { trial: 5, params: {}, state: 'failed', score: null, intermediate: [] },
      completed(6, {}, null),
      ...Array.from({ length: 8 }, (_, i) => pruned(7 + i, 1, 0.01)),
    ];
    // A diverged value ranks worst among the trials pruned at its epoch, still before those
    // pruned earlier (11 ended: gamma 2).
    const diverged = [
      pruned(1, 9, NaN),
      pruned(2, 9, 0.5),
      ...Array.from({ length: 9 }, (_, i) => pruned(3 + i, 1, 0)),
    ];
    expect(splitTrials(diverged, 'minimize').good.map((t) => t.trial)).toEqual([1, 2]);
    // 12 ended (completed with a score + pruned): gamma = 2, the completed trial and the pruned
    // one that reached epoch 9 with the better value.
    const { good, bad, ended } = splitTrials(history, 'minimize');
    expect(ended).toBe(12);
    expect(good.map((t) => t.trial)).toEqual([1, 4]);
    expect(bad.map((t) => t.trial)).toEqual([2, 3, 7, 8, 9, 10, 11, 12, 13, 14]);
  });
});

describe("the Parzen estimators (Optuna's rules, by hand)", () => {
  it('bandwidths: the larger gap to a sorted neighbour (prior mean included), outermost looking inwards, clipped', () => {
    // Sorted with the prior mean 0.5 and the ends: 0 | 0.2 0.5 0.5(prior) 0.9 | 1.
    // 0.2: inner neighbour only -> 0.3; 0.5: max(0.3, 0) = 0.3; 0.9: inner only -> 0.4.
    // min sigma = range / min(100, 1 + 4 kernels) = 0.2, max = range = 1.
    const sigmas = bandwidths([0.2, 0.5, 0.9], 0, 1);
    expect(sigmas.map((s) => Number(s.toFixed(12)))).toEqual([0.3, 0.3, 0.4]);
    // Close observations are widened to the minimum bandwidth.
    expect(bandwidths([0.5, 0.51], 0, 1)).toEqual([0.25, 0.25]);
  });

  it('weights: 1 for the newest 25 observations, a ramp from 1/n before them', () => {
    expect(trialWeights(3)).toEqual([1, 1, 1]);
    expect(trialWeights(25)).toEqual(Array.from({ length: 25 }, () => 1));
    const w = trialWeights(30);
    expect(w).toHaveLength(30);
    expect(w[0]).toBeCloseTo(1 / 30, 12);
    expect(w[4]).toBeCloseTo(1, 12);
    expect(w.slice(5)).toEqual(Array.from({ length: 25 }, () => 1));
  });

  it('is a proper density: a truncated mixture integrates to 1, a discrete one sums to 1', () => {
    const continuous = buildParzenEstimator({ kind: 'float', low: -2, high: 3, log: false }, [0, 2.5, 2.9]);
    let integral = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) integral += Math.exp(continuous.logPdf(-2 + (5 * (i + 0.5)) / n)) * (5 / n);
    expect(integral).toBeCloseTo(1, 3);
    const discrete = buildParzenEstimator({ kind: 'int', low: 1, high: 6, log: false }, [2, 2, 5]);
    const masses = [1, 2, 3, 4, 5, 6].map((x) => Math.exp(discrete.logPdf(x)));
    expect(masses.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(masses[1]).toBeGreaterThan(masses[0]);
    // Log-scaled integers (layer widths): each integer's mass is its log-space cell's.
    const widths = buildParzenEstimator({ kind: 'int', low: 4, high: 256, log: true }, [8, 128, 130]);
    let total = 0;
    for (let n = 4; n <= 256; n++) total += Math.exp(widths.logPdf(n));
    expect(total).toBeCloseTo(1, 6);
    // Per unit of log width, the cells next to the observations at 128 and 130 weigh more.
    const perLogWidth = (n: number) => Math.exp(widths.logPdf(n)) / Math.log((n + 0.5) / (n - 0.5));
    expect(perLogWidth(129)).toBeGreaterThan(perLogWidth(60));
    // Categorical: observed 0 twice, 2 once, 3 choices, prior weight 1 -> smoothed counts.
    const categorical = buildParzenEstimator({ kind: 'choice', values: ['a', 'b', 'c'] }, [0, 0, 2]);
    const p = [0, 1, 2].map((c) => Math.exp(categorical.logPdf(c)));
    // Each of the 3 observation kernels: 1/4 on every choice plus 1 on its own, normalised by 1.75;
    // the prior kernel is uniform; mixture weights 1/4 each.
    const own = (1 + 0.25) / 1.75;
    const other = 0.25 / 1.75;
    expect(p[0]).toBeCloseTo((2 * own + other + 1 / 3) / 4, 12);
    expect(p[1]).toBeCloseTo((3 * other + 1 / 3) / 4, 12);
    expect(p[2]).toBeCloseTo((own + 2 * other + 1 / 3) / 4, 12);
  });

  it('samples a truncated normal with the right distribution, also from the tail', () => {
    const random = mulberry32(3);
    const draws = Array.from({ length: 4000 }, () => sampleTruncatedNormal(0, 1, 1, 3, random));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...draws)).toBeLessThanOrEqual(3);
    // P(X < 1.5 | 1 <= X <= 3) for a standard normal.
    const expected = (normalCdf(1.5) - normalCdf(1)) / (normalCdf(3) - normalCdf(1));
    expect(draws.filter((x) => x < 1.5).length / draws.length).toBeCloseTo(expected, 1);
    // An interval around the mean: P(X < 0 | -1 <= X <= 2).
    const around = Array.from({ length: 4000 }, () => sampleTruncatedNormal(0, 1, -1, 2, random));
    const below = (normalCdf(0) - normalCdf(-1)) / (normalCdf(2) - normalCdf(-1));
    expect(around.filter((x) => x < 0).length / around.length).toBeCloseTo(below, 1);
    expect(Math.exp(logNormalMass(-1, 1))).toBeCloseTo(0.682689492, 6);
    // Far in the tail the mass stays finite (no 1 - 1 cancellation).
    expect(logNormalMass(30, 31)).toBeCloseTo(-454.32, 1);
  });
});

describe('TPE proposals', () => {
  const quadratic = (p: TrialParams) => ((p.x as number) - 3) ** 2;
  const line: SearchSpace = { x: { uniform: [-10, 10] } };

  it('are the random sampler until startupTrials trials ended', () => {
    const sampler = createSampler(tuningOf(line, { sampler: { type: 'tpe', startupTrials: 5 } }), 11);
    const history = study(sampler, 4, quadratic);
    history.forEach((t) => expect(t.params).toEqual(sampleParams(line, 11, t.trial)));
    expect(sampler.ask(5, history, [])).toEqual(sampleParams(line, 11, 5));
    const after = [...history, completed(5, sampleParams(line, 11, 5), 1)];
    expect(sampler.ask(6, after, [])).not.toEqual(sampleParams(line, 11, 6));
  });

  it('concentrate near the minimum of a 1-D quadratic', () => {
    const sampler = createSampler(tuningOf(line), 1);
    const history = study(sampler, 60, quadratic);
    // After the 10 random start-up trials. Random search puts 4/20 = 20% of its draws within 2 of
    // the minimum; TPE keeps exploring where g(x) is thin, yet proposes there over twice as often.
    const modelled = history.slice(10).map((t) => t.params.x as number);
    const near = modelled.filter((x) => Math.abs(x - 3) < 2).length / modelled.length;
    expect(near).toBeGreaterThan(0.4);
    expect(Math.min(...history.map((t) => t.score as number))).toBeLessThan(1e-3);
  });

  it('prefer the best category', () => {
    const space: SearchSpace = {
      optimizer: { choice: ['adam', 'sgd', 'rmsprop', 'adagrad'] },
      x: { uniform: [0, 1] },
    };
    const sampler = createSampler(tuningOf(space, { goal: 'maximize' }), 5);
    const history = study(sampler, 40, (p) => (p.optimizer === 'rmsprop' ? 1 : 0) + 0.1 * (p.x as number));
    const picks = Array.from({ length: 40 }, (_, i) => sampler.ask(41 + i, history, []).optimizer);
    expect(picks.filter((o) => o === 'rmsprop').length).toBeGreaterThan(25);
  });

  it('are deterministic: same seed, trial and history (in any order); another seed differs', () => {
    const space: SearchSpace = {
      learningRate: { logUniform: [1e-4, 1e-1] },
      batchSize: { int: [8, 64] },
      'network.activation': { choice: ['relu', 'tanh'] },
    };
    const objective = (p: TrialParams) =>
      Math.abs(Math.log10(p.learningRate as number) + 2) + (p.batchSize as number) / 64;
    const a = createSampler(tuningOf(space), 9);
    const history = study(a, 25, objective);
    const b = createSampler(tuningOf(space), 9);
    expect(b.ask(26, [...history].reverse(), [])).toEqual(a.ask(26, history, []));
    expect(createSampler(tuningOf(space), 10).ask(26, history, [])).not.toEqual(a.ask(26, history, []));
    // Integers stay integers in range; log-scaled values stay in range.
    for (let t = 26; t < 60; t++) {
      const p = a.ask(t, history, []);
      expect(Number.isInteger(p.batchSize)).toBe(true);
      expect(p.batchSize).toBeGreaterThanOrEqual(8);
      expect(p.batchSize).toBeLessThanOrEqual(64);
      expect(p.learningRate).toBeGreaterThanOrEqual(1e-4);
      expect(p.learningRate).toBeLessThanOrEqual(1e-1);
    }
  });

  it('count running trials as bad (constant liar): parallel workers spread out', () => {
    const sampler = createSampler(tuningOf(line), 2);
    const history = study(sampler, 30, quadratic);
    const alone = sampler.ask(31, history, []).x as number;
    // Workers already training at the proposal's spot push the next one elsewhere.
    const crowded = Array.from({ length: 10 }, () => ({ x: alone }));
    const next = sampler.ask(31, history, crowded).x as number;
    expect(next).not.toBe(alone);
    expect(sampler.ask(31, history, crowded)).toEqual({ x: next });
  });

  it('learn the units of a layer only from trials that had that layer', () => {
    const space: SearchSpace = { 'network.layers': { layers: { count: [1, 3], units: [4, 256] } } };
    const sampler = createSampler(tuningOf(space), 4);
    // Best: two layers, the first wide; the second layer's width does not matter.
    const objective = (p: TrialParams) => {
      const layers = p['network.layers'] as number[];
      return Math.abs(layers.length - 2) + Math.abs(Math.log2(layers[0]) - 7);
    };
    const history = study(sampler, 60, objective);
    for (const t of history) {
      const layers = t.params['network.layers'] as number[];
      expect(layers.length).toBeGreaterThanOrEqual(1);
      expect(layers.length).toBeLessThanOrEqual(3);
      for (const u of layers) expect(Number.isInteger(u) && u >= 4 && u <= 256).toBe(true);
    }
    const late = history.slice(30).map((t) => t.params['network.layers'] as number[]);
    expect(late.filter((l) => l.length === 2).length).toBeGreaterThan(late.length / 2);
    expect(late.filter((l) => l[0] >= 64 && l[0] <= 256).length).toBeGreaterThan(late.length / 2);
  });
});
