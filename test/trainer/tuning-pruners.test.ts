/**
 * Pruners (trainer/tuning/pruners/) on synthetic curves: no training, every decision derived by
 * hand or by an independent statement of the rule.
 */
import { describe, expect, it } from 'vitest';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { mulberry32 } from '../../trainer/data/random.js';
import { createPruner } from '../../trainer/tuning/pruners/index.js';
import { assignBrackets, bracketBudgets, bracketCount } from '../../trainer/tuning/pruners/hyperband.js';
import type { Goal, IntermediateValue, PrunerTrialView } from '../../trainer/tuning/study-types.js';

type Tuning = NonNullable<TrainingRunSpec['tuning']>;
type PrunerSpec = NonNullable<Tuning['pruner']>;
const tuning = (pruner?: PrunerSpec, algorithm: Tuning['algorithm'] = 'random'): Tuning => ({
  trials: 30,
  parallel: 1,
  metric: 'val_loss',
  goal: 'minimize',
  algorithm,
  space: {},
  ...(pruner && { pruner }),
});
const pruner = (spec: PrunerSpec, maxEpochs: number, goal: Goal = 'minimize') =>
  createPruner(tuning(spec), maxEpochs, goal);

const curve = (f: (epoch: number) => number, epochs: number): IntermediateValue[] =>
  Array.from({ length: epochs }, (_, i) => ({ epoch: i + 1, value: f(i + 1) }));
const view = (
  trial: number,
  intermediate: IntermediateValue[],
  state: PrunerTrialView['state'] = 'running',
): PrunerTrialView => ({ trial, state, intermediate });

/** A trial whose metric is `value` at every epoch 1..epochs. */
const flat = (trial: number, value: number, epochs: number, state?: PrunerTrialView['state']) =>
  view(
    trial,
    curve(() => value, epochs),
    state,
  );

describe('median', () => {
  // Completed trials i = 1..5 follow i + 1/epoch: the median at each epoch is 3 + 1/epoch.
  const completed = [1, 2, 3, 4, 5].map((i) =>
    view(
      i,
      curve((e) => i + 1 / e, 10),
      'completed',
    ),
  );

  it('prunes exactly the curves above the median, from the first epoch after warm-up', () => {
    const median = pruner({ type: 'median', warmupEpochs: 2 }, 10);
    const offsets = [2.5, 3, 3.5, 4];
    for (let epoch = 1; epoch <= 10; epoch++) {
      const pruned = offsets.filter((c, k) => {
        const self = view(
          6 + k,
          curve((e) => c + 1 / e, epoch),
        );
        return median.report(self.trial, epoch, [...completed, self]).prune;
      });
      // Equal to the median is not worse; warm-up protects epochs 1 and 2.
      expect(pruned).toEqual(epoch <= 2 ? [] : [3.5, 4]);
    }
  });

  it('judges the best value so far, says why with the numbers', () => {
    const median = pruner({ type: 'median' }, 10);
    // Good at epoch 1 (2 < 4), bad since: its best so far stays 2, below the median 3 + 1/3.
    const recovering = view(
      6,
      [2, 9, 9].map((value, i) => ({ epoch: i + 1, value })),
    );
    expect(median.report(6, 3, [...completed, recovering]).prune).toBe(false);
    const bad = view(
      7,
      curve((e) => 4 + 1 / e, 3),
    );
    expect(median.report(7, 3, [...completed, bad])).toEqual({
      prune: true,
      reason: 'val_loss 4.333 (best so far) is above the median 3.333 of 5 completed trials at epoch 3',
    });
  });

  it('waits for startupTrials completed trials; pruned and running ones do not count', () => {
    const bad = flat(9, 100, 2);
    const fewer = [...completed.slice(0, 4), flat(7, 0, 2, 'pruned'), flat(8, 0, 2, 'running')];
    expect(pruner({ type: 'median' }, 10).report(9, 2, [...fewer, bad]).prune).toBe(false);
    expect(pruner({ type: 'median', startupTrials: 4 }, 10).report(9, 2, [...fewer, bad]).prune).toBe(true);
    // The median is the completed trials' alone: 2.5 + 1/2 with four of them (mean of the middle two).
    expect(pruner({ type: 'median', startupTrials: 4 }, 10).report(9, 2, [...fewer, bad]).reason).toContain(
      'the median 3 of 4 completed trials at epoch 2',
    );
  });

  it('cannot prune at an epoch no completed trial reached', () => {
    const short = [1, 2, 3, 4, 5].map((i) => flat(i, i, 4, 'completed'));
    const self = flat(6, 100, 5);
    const median = pruner({ type: 'median' }, 10);
    expect(median.report(6, 4, [...short, flat(6, 100, 4)]).prune).toBe(true);
    expect(median.report(6, 5, [...short, self]).prune).toBe(false);
  });

  it('maximises when asked, and prunes a curve that is NaN throughout', () => {
    const median = pruner({ type: 'median' }, 10, 'maximize');
    // The completed curves' median at epoch 3 is 3.333; a rising 3 - 1/e is best at its last epoch.
    expect(
      median.report(6, 3, [
        ...completed,
        view(
          6,
          curve((e) => 3 - 1 / e, 3),
        ),
      ]).reason,
    ).toBe('val_loss 2.667 (best so far) is below the median 3.333 of 5 completed trials at epoch 3');
    // Falling from 4 to 3.2: its best (epoch 1) is above the median.
    expect(
      median.report(6, 3, [
        ...completed,
        view(
          6,
          [4, 3.5, 3.2].map((value, i) => ({ epoch: i + 1, value })),
        ),
      ]).prune,
    ).toBe(false);
    expect(median.report(6, 2, [...completed, flat(6, Number.NaN, 2)]).prune).toBe(true);
    expect(median.describe()).toEqual({ type: 'median' });
  });
});

describe('asha', () => {
  it('places rungs at minEpochs x eta^k below the epochs', () => {
    expect(pruner({ type: 'asha' }, 27).describe()).toEqual({ type: 'asha', rungs: [[1, 3, 9]] });
    expect(pruner({ type: 'asha', minEpochs: 2, eta: 2 }, 20).describe()).toEqual({
      type: 'asha',
      rungs: [[2, 4, 8, 16]],
    });
    expect(pruner({ type: 'asha', minEpochs: 5 }, 5).describe().rungs).toEqual([[]]);
  });

  /** Trials 1..n report `values` at epoch `epoch` one after another; returns who was pruned. */
  function arrive(values: number[], eta: number, goal: Goal = 'minimize'): boolean[] {
    const asha = pruner({ type: 'asha', eta }, 27, goal);
    const seen: PrunerTrialView[] = [];
    return values.map((value, i) => {
      const self = view(i + 1, [{ epoch: 1, value }]);
      const decision = asha.report(self.trial, 1, [...seen, self]);
      expect(decision.rung).toBe(0);
      seen.push({ ...self, state: decision.prune ? 'pruned' : 'running' });
      return decision.prune;
    });
  }

  it('keeps a trial only in the top 1/eta of those at its rung so far; the first arrivals only when best', () => {
    // n=1: 5 best; n=2: 4 best; n=3: top 1 is 4, 6 out; n=4: 1 best; n=5: 7 out; n=6: top 2 are
    // 1, 4, 8 out; n=7: top 2 are 1, 2, 2 in; n=8: 9 out; n=9: top 3 are 1, 2, 3, 3 in.
    expect(arrive([5, 4, 6, 1, 7, 8, 2, 9, 3], 3)).toEqual([
      false,
      false,
      true,
      false,
      true,
      true,
      false,
      true,
      false,
    ]);
    expect(
      arrive(
        [5, 4, 6, 1, 7, 8, 2, 9, 3].map((v) => -v),
        3,
        'maximize',
      ),
    ).toEqual([false, false, true, false, true, true, false, true, false]);
  });

  it('follows the rule for any arrival order (rank among arrivals <= max(1, floor(n / eta)))', () => {
    const random = mulberry32(17);
    for (const eta of [2, 3, 4]) {
      const values = Array.from({ length: 40 }, () => Math.round(random() * 1000) / 10);
      const expected = values.map((v, i) => {
        const arrived = values.slice(0, i + 1);
        const rank = arrived.filter((w) => w < v).length + 1;
        return rank > Math.max(1, Math.floor(arrived.length / eta));
      });
      expect(arrive(values, eta)).toEqual(expected);
    }
  });

  it('lets about 1/eta of a long random stream of trials go on at a rung', () => {
    // Trial n goes on with probability max(1, floor(n/eta)) / n: the first arrivals a little
    // more often, then 1/eta. Over 600 random values the share is 1/eta within a few points.
    const random = mulberry32(5);
    for (const eta of [2, 3, 4]) {
      const values = Array.from({ length: 600 }, () => random());
      const kept = arrive(values, eta).filter((pruned) => !pruned).length / values.length;
      expect(kept).toBeGreaterThan(1 / eta - 0.04);
      expect(kept).toBeLessThan(1 / eta + 0.04);
    }
  });

  it('judges each rung against the trials that reached it, and no epoch between rungs', () => {
    const asha = pruner({ type: 'asha' }, 27);
    // Three trials reached rung 1 (epoch 3) with 1, 2, 3; a fourth reaches it with 2.5: top 1 of 4 is 1.
    const others = [1, 2, 3].map((v, i) => flat(i + 1, v, 3));
    const early = flat(9, 0, 1, 'pruned'); // at rung 0 only: not a rival at rung 1
    const self = view(4, [...curve(() => 0.5, 2), { epoch: 3, value: 2.5 }]);
    expect(asha.report(4, 2, [...others, early, flat(4, 0.5, 2)])).toEqual({ prune: false });
    expect(asha.report(4, 3, [...others, early, self])).toEqual({
      prune: true,
      rung: 1,
      reason:
        'val_loss 2.5 at epoch 3 (rung 1, 3 epochs) is not in the top 1/3 (1 of 4 trials); the cut is 1',
    });
    // Five there: still the top one; with 0.9 it is the best and goes on.
    const better = view(4, [...curve(() => 0.5, 2), { epoch: 3, value: 0.9 }]);
    expect(asha.report(4, 3, [...others, early, better])).toEqual({ prune: false, rung: 1 });
  });

  it('judges every rung a report passes (a resumed trial), with its value at that report', () => {
    const asha = pruner({ type: 'asha' }, 27);
    const others = [0.1, 0.2, 0.3].map((v, i) => view(i + 1, [{ epoch: 1, value: v }]));
    // First report at epoch 3: rung 0 (3 rivals with 0.1..0.3, top 1 of 4 is 0.1): 0.5 is out there.
    const decision = asha.report(4, 3, [...others, view(4, [{ epoch: 3, value: 0.5 }])]);
    expect(decision).toMatchObject({ prune: true, rung: 0 });
    // A peer's rung value is at the first epoch it reported at or past the rung.
    const resumed = [view(1, [{ epoch: 4, value: 0.2 }]), view(2, [{ epoch: 4, value: 0.3 }])];
    expect(asha.report(3, 3, [...resumed, flat(3, 0.25, 3)])).toMatchObject({ prune: true, rung: 1 });
  });

  it('prunes NaN at a rung, and decides the same from the same views (pure, resumable)', () => {
    const views = [flat(1, 1, 3, 'completed'), flat(2, Number.NaN, 1)];
    expect(pruner({ type: 'asha' }, 27).report(2, 1, views)).toMatchObject({ prune: true, rung: 0 });
    const third = view(
      3,
      curve((e) => 2 / e, 3),
    );
    const a = pruner({ type: 'asha' }, 27).report(3, 3, [...views, third]);
    const b = pruner({ type: 'asha' }, 27).report(3, 3, [...views, third]);
    expect(a).toEqual(b);
  });
});

describe('hyperband', () => {
  it('has Optuna brackets: their count, rungs and trial budgets', () => {
    expect(bracketCount(1, 3, 27)).toBe(4);
    expect(bracketCount(2, 3, 20)).toBe(3);
    // ceil(n * eta^s / (s + 1)), s = n - 1 - i: 27, 12, 6, 4.
    expect(bracketBudgets(4, 3)).toEqual([27, 12, 6, 4]);
    expect(pruner({ type: 'hyperband' }, 27).describe()).toEqual({
      type: 'hyperband',
      rungs: [[1, 3, 9], [3, 9], [9], []],
    });
  });

  it('assigns trials to brackets by their budgets, interleaved and deterministic', () => {
    const brackets = assignBrackets([27, 12, 6, 4], 49);
    expect([0, 1, 2, 3].map((b) => brackets.filter((x) => x === b).length)).toEqual([27, 12, 6, 4]);
    // Smooth weighted round-robin, by hand: credits +[27,12,6,4], the richest pays 49.
    expect(brackets.slice(0, 6)).toEqual([0, 1, 0, 2, 0, 3]);
    expect(assignBrackets([27, 12, 6, 4], 98).slice(49)).toEqual(brackets);
    const hyperband = pruner({ type: 'hyperband' }, 27);
    expect([1, 2, 3, 4, 5, 6].map((t) => hyperband.report(t, 1, []).bracket)).toEqual([0, 1, 0, 2, 0, 3]);
  });

  it('compares a trial only with its bracket, and puts the bracket in the decision', () => {
    const hyperband = pruner({ type: 'hyperband' }, 27);
    // Trials 1, 3, 5 are in bracket 0 and excellent; trial 2 (bracket 1: rungs 3, 9) is poor.
    const rivals = [1, 3, 5].map((t) => flat(t, 0.01, 3));
    const poor = flat(2, 5, 3);
    expect(hyperband.report(2, 1, [...rivals, flat(2, 5, 1)])).toEqual({ prune: false, bracket: 1 });
    expect(hyperband.report(2, 3, [...rivals, poor])).toEqual({ prune: false, rung: 0, bracket: 1 });
    // ASHA over everyone would stop it there.
    expect(pruner({ type: 'asha' }, 27).report(2, 3, [...rivals, poor]).prune).toBe(true);
    // Trial 4 (bracket 2) is compared with trial 7, the next of bracket 2 ([0,1,0,2,0,3,0,1,0,...]).
    const order = assignBrackets([27, 12, 6, 4], 20);
    const mate = order.findIndex((b, i) => b === 2 && i > 3) + 1;
    const decision = hyperband.report(mate, 9, [flat(4, 1, 9), flat(mate, 2, 9)]);
    expect(decision).toMatchObject({ prune: true, rung: 0, bracket: 2 });
    // The last bracket trains to the end: never pruned.
    expect(hyperband.report(6, 26, [...rivals, flat(6, 99, 26)])).toEqual({ prune: false, bracket: 3 });
  });
});

describe('createPruner', () => {
  it('takes pruner.type, else asha (eta 3) for halving and none for random', () => {
    expect(createPruner(tuning(undefined, 'halving'), 30, 'minimize').describe()).toEqual({
      type: 'asha',
      rungs: [[1, 3, 9, 27]],
    });
    const none = createPruner(tuning(undefined, 'random'), 30, 'minimize');
    expect(none.describe()).toEqual({ type: 'none' });
    expect(none.report(1, 1, [flat(1, Number.NaN, 1)])).toEqual({ prune: false });
    expect(createPruner(tuning({ type: 'median' }, 'halving'), 30, 'minimize').describe().type).toBe(
      'median',
    );
    expect(createPruner(tuning({ type: 'none' }, 'halving'), 30, 'minimize').describe().type).toBe('none');
  });
});
