/** Classification metrics over class indices into a label list. */

export interface ConfusionMatrix {
  labels: string[];
  /** matrix[true][predicted] = count. */
  matrix: number[][];
}

export interface ClassificationMetrics {
  accuracy: number;
  /** Unweighted mean of per-class F1 over the classes that occur in the truth or the predictions. */
  macro_f1: number;
}

export function confusionMatrix(
  labels: readonly string[],
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
): ConfusionMatrix {
  if (yTrue.length !== yPred.length) {
    throw new Error(
      `metric inputs differ in length: ${yTrue.length} true classes, ${yPred.length} predictions`,
    );
  }
  const k = labels.length;
  const matrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i];
    const p = yPred[i];
    if (!(t >= 0 && t < k && p >= 0 && p < k))
      throw new Error(`class index out of range at ${i}: true ${t}, predicted ${p}`);
    matrix[t][p]++;
  }
  return { labels: [...labels], matrix };
}

export function accuracy(confusion: ConfusionMatrix): number {
  let correct = 0;
  let total = 0;
  confusion.matrix.forEach((row, t) =>
    row.forEach((count, p) => {
      total += count;
      if (t === p) correct += count;
    }),
  );
  return total === 0 ? NaN : correct / total;
}

/**
 * A class that never occurs (neither true nor predicted) has no defined F1 and is left out rather
 * than counted as 0 or 1; a class that occurs but is never predicted right scores 0. This is
 * scikit-learn's macro F1 over the labels present in y_true and y_pred.
 */
export function macroF1(confusion: ConfusionMatrix): number {
  const { matrix } = confusion;
  const k = matrix.length;
  let sum = 0;
  let classes = 0;
  for (let c = 0; c < k; c++) {
    const tp = matrix[c][c];
    let actual = 0;
    let predicted = 0;
    for (let j = 0; j < k; j++) {
      actual += matrix[c][j];
      predicted += matrix[j][c];
    }
    if (actual === 0 && predicted === 0) continue;
    classes++;
    // F1 = 2tp / (2tp + fp + fn) = 2tp / (predicted + actual); no division by zero here.
    sum += (2 * tp) / (predicted + actual);
  }
  return classes === 0 ? NaN : sum / classes;
}

export function classificationMetrics(confusion: ConfusionMatrix): ClassificationMetrics {
  return { accuracy: accuracy(confusion), macro_f1: macroF1(confusion) };
}
