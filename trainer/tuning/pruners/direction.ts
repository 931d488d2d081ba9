/** The goal as comparisons on raw metric values (the pruners see values as the trainer reports them). */
import type { Goal, IntermediateValue } from '../study-types.js';

export interface Direction {
  /** a is strictly better than b. */
  better(a: number, b: number): boolean;
  /** The best of the values ignoring NaN, as numpy's nanmin/nanmax (NaN when none is left). */
  best(values: readonly number[]): number;
  /** "worse than", "better than": for reasons. */
  readonly worse: string;
}

export function direction(goal: Goal): Direction {
  const sign = goal === 'minimize' ? 1 : -1;
  return {
    better: (a, b) => sign * a < sign * b,
    best: (values) => {
      const numbers = values.filter((v) => !Number.isNaN(v));
      return numbers.length === 0 ? Number.NaN : sign * Math.min(...numbers.map((v) => sign * v));
    },
    worse: goal === 'minimize' ? 'above' : 'below',
  };
}

/** A trial's value at `epoch`, if it reported one. */
export const valueAt = (curve: readonly IntermediateValue[], epoch: number): number | undefined =>
  curve.find((p) => p.epoch === epoch)?.value;

/** Values for messages: 4 significant digits. */
export const fmt = (value: number): string =>
  Number.isFinite(value) ? String(Number(value.toPrecision(4))) : String(value);
