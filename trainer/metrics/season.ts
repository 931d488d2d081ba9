/**
 * The season of a forecasting series (how many steps one seasonal cycle takes), for the
 * seasonal-naive baseline and MASE's scale: `window.season` when the manifest gives it, else
 * inferred from the time column's step (hourly 24, daily 7, weekly 52, monthly 12, quarterly 4,
 * the conventional cycles of Hyndman & Athanasopoulos, "Forecasting: Principles and Practice",
 * section 2.1), else none, with the reason.
 */

export interface Season {
  /** Steps per cycle, or null when there is none. */
  length: number | null;
  /** Where it comes from, or why there is none (metrics.json `forecast.seasonSource`). */
  source: string;
}

/** Steps in days (date columns are epoch days), with slack for DST and month lengths. */
const FREQUENCIES: readonly { name: string; days: readonly [number, number]; season: number }[] = [
  { name: 'hourly', days: [59 / 1440, 61 / 1440], season: 24 },
  { name: 'daily', days: [23 / 24, 25 / 24], season: 7 },
  { name: 'weekly', days: [6.9, 7.1], season: 52 },
  { name: 'monthly', days: [28, 31], season: 12 },
  { name: 'quarterly', days: [89, 92], season: 4 },
];

/** The median of the positive steps between consecutive times (repeated times are skipped). */
export function medianStep(sortedTimes: ArrayLike<number>): number | undefined {
  const steps: number[] = [];
  for (let i = 1; i < sortedTimes.length; i++) {
    const d = sortedTimes[i] - sortedTimes[i - 1];
    if (d > 0) steps.push(d);
  }
  if (steps.length === 0) return undefined;
  steps.sort((a, b) => a - b);
  const mid = steps.length >> 1;
  return steps.length % 2 === 1 ? steps[mid] : (steps[mid - 1] + steps[mid]) / 2;
}

/**
 * `declared` (window.season) wins; otherwise a date column's median step decides. `sortedTimes`
 * are the rows' times in order (epoch days for a date column).
 */
export function seasonOf(
  declared: number | undefined,
  sortedTimes: ArrayLike<number>,
  timeType: string,
  timeColumn: string,
): Season {
  if (declared !== undefined) return { length: declared, source: 'window.season' };
  if (timeType !== 'date') {
    return {
      length: null,
      source: `none: time column "${timeColumn}" holds numbers, not dates, so its frequency is unknown; set window.season`,
    };
  }
  const step = medianStep(sortedTimes);
  const found =
    step === undefined ? undefined : FREQUENCIES.find((f) => step >= f.days[0] && step <= f.days[1]);
  if (!found) {
    const shown = step === undefined ? 'no step' : `a median step of ${Number(step.toPrecision(4))} days`;
    return {
      length: null,
      source: `none: time column "${timeColumn}" has ${shown}, not hourly, daily, weekly, monthly or quarterly; set window.season`,
    };
  }
  return { length: found.season, source: `inferred: time column "${timeColumn}" is ${found.name}` };
}

/**
 * Position of the seasonal-naive forecast's value for the target at `target`, forecast `horizon`
 * steps after the last observed one: the same point of the most recent cycle that is already
 * observed, y[T + h - m(k + 1)] with k = floor((h - 1) / m) (Hyndman & Athanasopoulos, 5.2). For
 * h <= m it is one season before the target. Negative when the series does not reach back so far.
 */
export const seasonalSourceIndex = (target: number, season: number, horizon: number): number =>
  target - season * (Math.floor((horizon - 1) / season) + 1);

/**
 * MASE's scale (Hyndman & Koehler 2006): the in-sample MAE of the one-step naive forecast with lag
 * `lag` (the season, or 1 without one), mean over t >= lag of |y[t] - y[t - lag]|. NaN when the
 * series is not longer than the lag.
 */
export function inSampleScale(series: ArrayLike<number>, lag: number): number {
  if (series.length <= lag) return NaN;
  let sum = 0;
  for (let t = lag; t < series.length; t++) sum += Math.abs(series[t] - series[t - lag]);
  return sum / (series.length - lag);
}
