/** Ordering trials by the tuning metric. */

export type Goal = 'minimize' | 'maximize';

export interface Ranked {
  trial: number;
  metric: number | null;
}

/**
 * Best first. A missing or non-finite metric (a diverged training) ranks after every finite one;
 * ties go to the lower trial number, so the outcome never depends on which trial finished first.
 */
export function compareTrials(goal: Goal): (a: Ranked, b: Ranked) => number {
  const sign = goal === 'minimize' ? 1 : -1;
  return (a, b) => {
    const fa = a.metric !== null && Number.isFinite(a.metric);
    const fb = b.metric !== null && Number.isFinite(b.metric);
    if (fa !== fb) return fa ? -1 : 1;
    if (fa && fb && a.metric !== b.metric) return sign * ((a.metric as number) - (b.metric as number));
    return a.trial - b.trial;
  };
}

/** The `count` best trials with a finite metric, best first. */
export function topTrials<T extends Ranked>(trials: readonly T[], count: number, goal: Goal): T[] {
  return trials
    .filter((t) => t.metric !== null && Number.isFinite(t.metric))
    .sort(compareTrials(goal))
    .slice(0, count);
}
