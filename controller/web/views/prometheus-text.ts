/**
 * Just enough of the Prometheus text exposition format to read a model server's /metrics
 * (serving/serving-metrics.ts): samples with labels, and quantiles of a histogram by linear
 * interpolation inside its buckets, as PromQL's `histogram_quantile` does.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Bounds: a server's page is a few hundred samples. */
const MAX_SAMPLES = 20_000;
const SAMPLE = /^([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/gy;

function parseValue(text: string): number | undefined {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  const v = Number(text);
  return Number.isNaN(v) && text !== 'NaN' ? undefined : v;
}

function parseLabels(text: string): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  let at = 0;
  while (at < text.length) {
    LABEL.lastIndex = at;
    const m = LABEL.exec(text);
    if (!m) return undefined;
    labels[m[1]] = m[2].replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    at = LABEL.lastIndex;
  }
  return labels;
}

/** Samples of the names asked for (comments, other metrics and malformed lines skipped). */
export function parsePrometheusText(text: string, names: ReadonlySet<string>): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (out.length >= MAX_SAMPLES) break;
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line.trim());
    if (!m || !names.has(m[1])) continue;
    const labels = m[3] === undefined ? {} : parseLabels(m[3]);
    const value = parseValue(m[4]);
    if (labels && value !== undefined) out.push({ name: m[1], labels, value });
  }
  return out;
}

/** Cumulative bucket counts by upper bound (`le`), summed over the given samples. */
export function mergeBuckets(buckets: readonly Sample[]): { le: number; count: number }[] {
  const byLe = new Map<number, number>();
  for (const b of buckets) {
    const le = parseValue(b.labels.le ?? '');
    if (le === undefined || Number.isNaN(le) || !Number.isFinite(b.value)) continue;
    byLe.set(le, (byLe.get(le) ?? 0) + b.value);
  }
  return [...byLe.entries()].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
}

/**
 * The q-quantile of a cumulative histogram: the bucket where the rank falls, interpolated between
 * its lower and upper bound (the first bucket's lower bound is 0). Null without observations; in
 * the +Inf bucket, the highest finite bound.
 */
export function histogramQuantile(
  q: number,
  buckets: readonly { le: number; count: number }[],
): number | null {
  const total = buckets.at(-1)?.count ?? 0;
  if (buckets.length === 0 || total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const b of buckets) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return Number.isFinite(lower) ? lower : null;
      const inBucket = b.count - below;
      return inBucket <= 0 ? b.le : lower + ((b.le - lower) * (rank - below)) / inBucket;
    }
    lower = b.le;
    below = b.count;
  }
  return Number.isFinite(lower) ? lower : null;
}
