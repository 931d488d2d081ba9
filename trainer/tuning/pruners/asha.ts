/** The `asha` pruner: one successive-halving ladder shared by every trial (successive-halving.ts). */
import type { Goal, Pruner } from '../study-types.js';
import { judgeRungs, rungEpochs } from './successive-halving.js';

export interface RungOptions {
  goal: Goal;
  metric: string;
  /** The first rung's epochs (Optuna's min_resource, default 1). */
  minEpochs: number;
  /** 1/eta of a rung goes on, rungs grow by eta (Optuna's reduction_factor, default 3). */
  eta: number;
  /** The spec's epochs: no rung at or past it (a trial there has finished anyway). */
  maxEpochs: number;
}

export function ashaPruner(options: RungOptions): Pruner {
  const rungs = rungEpochs(options.minEpochs, options.eta, options.maxEpochs);
  const context = { ...options, rungs };
  return {
    describe: () => ({ type: 'asha', rungs: [rungs] }),
    report(trial, epoch, trials) {
      const self = trials.find((t) => t.trial === trial);
      return self ? judgeRungs(context, self, epoch, trials) : { prune: false };
    },
  };
}
