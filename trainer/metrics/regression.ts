/** Regression metrics in the target's original units. Empty inputs give NaN. */

export interface RegressionMetrics {
  mae: number;
  rmse: number;
  /** Symmetric MAPE in percent, 0..200: mean of 2|y - p| / (|y| + |p|), with 0/0 counted as 0. */
  smape: number;
  /** Coefficient of determination; 1 for a perfect fit of a constant target, else 0 there. */
  r2: number;
}

export function mae(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  checkLengths(yTrue, yPred);
  let sum = 0;
  for (let i = 0; i < yTrue.length; i++) sum += Math.abs(yTrue[i] - yPred[i]);
  return sum / yTrue.length;
}

export function rmse(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  checkLengths(yTrue, yPred);
  let sum = 0;
  for (let i = 0; i < yTrue.length; i++) sum += (yTrue[i] - yPred[i]) ** 2;
  return Math.sqrt(sum / yTrue.length);
}

export function smape(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  checkLengths(yTrue, yPred);
  let sum = 0;
  for (let i = 0; i < yTrue.length; i++) {
    const denominator = Math.abs(yTrue[i]) + Math.abs(yPred[i]);
    // Both zero: the forecast is exact, not undefined.
    if (denominator > 0) sum += (2 * Math.abs(yTrue[i] - yPred[i])) / denominator;
  }
  return (100 * sum) / yTrue.length;
}

export function r2(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  checkLengths(yTrue, yPred);
  const n = yTrue.length;
  if (n === 0) return NaN;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += yTrue[i];
  mean /= n;
  let residual = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    residual += (yTrue[i] - yPred[i]) ** 2;
    total += (yTrue[i] - mean) ** 2;
  }
  // A constant target has no variance to explain (scikit-learn's convention, kept finite for JSON).
  if (total === 0) return residual === 0 ? 1 : 0;
  return 1 - residual / total;
}

export function regressionMetrics(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): RegressionMetrics {
  return {
    mae: mae(yTrue, yPred),
    rmse: rmse(yTrue, yPred),
    smape: smape(yTrue, yPred),
    r2: r2(yTrue, yPred),
  };
}

function checkLengths(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): void {
  if (yTrue.length !== yPred.length) {
    throw new Error(
      `metric inputs differ in length: ${yTrue.length} true values, ${yPred.length} predictions`,
    );
  }
}
