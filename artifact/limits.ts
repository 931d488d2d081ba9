/**
 * How big an artifact may be, checked before anything is allocated for it. An artifact is
 * untrusted input (a custom training container writes whatever it likes, a gs:// prefix can be
 * written by anyone with the bucket's rights): a 1.5 KB model.json declaring a huge layer, or a
 * preprocess.json holding a million categories, must be refused in milliseconds, not after the
 * process has grown by gigabytes. The limits sit well above what mlform's own trainer writes
 * (`maxCategories` is at most 10,000; the networks are a few layers of at most a few thousand
 * units).
 */

const MiB = 2 ** 20;

/** The operator may move the weights limit (bytes) for a whole process: `mlform serve`, the trainer. */
export const MAX_MODEL_BYTES_ENV = 'MLFORM_MAX_MODEL_BYTES';

export const ARTIFACT_LIMITS = {
  /** weights.bin, and the parameters model.json declares (float32: 4 bytes each). */
  weightBytes: 512 * MiB,
  /** model.json: a topology and a weights manifest, a few KB for mlform's networks. */
  modelJsonBytes: 4 * MiB,
  /** preprocess.json: feature specs and vocabularies. */
  preprocessBytes: 16 * MiB,
  /** metrics.json, run.json, history.json, tuning.json. */
  jsonBytes: 16 * MiB,
  /** Entries of one categorical feature's vocabulary: maxCategories (≤ 10,000) plus `<missing>`. */
  vocabulary: 10_001,
  /** Hash buckets of one categorical feature (maxCategories ≤ 10,000). */
  hashBuckets: 10_000,
  /** Class labels of a classification target. */
  labels: 100_000,
  /** Features of one model. */
  features: 10_000,
  /** Layers of one model. */
  layers: 1_000,
} as const;

/** An artifact over a limit, or whose declared sizes do not add up. */
export class ArtifactLimitError extends Error {
  override name = 'ArtifactLimitError';
}

/** The weights limit in bytes: `MLFORM_MAX_MODEL_BYTES` when set to a positive integer. */
export function maxWeightBytes(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[MAX_MODEL_BYTES_ENV]?.trim();
  if (raw === undefined || raw === '') return ARTIFACT_LIMITS.weightBytes;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new ArtifactLimitError(`${MAX_MODEL_BYTES_ENV}=${raw} is not a positive whole number of bytes`);
  }
  return value;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Counts in preprocess.json that size what the encoder allocates per request and at load
 * (one-hot widths, label lists). Checked before the encoder is built from them.
 */
export function checkPreprocessCounts(value: unknown, uri: string): void {
  const fail = (what: string): never => {
    throw new ArtifactLimitError(`${uri}: ${what}`);
  };
  if (!isRecord(value)) return;
  const features = value.features;
  if (Array.isArray(features)) {
    if (features.length > ARTIFACT_LIMITS.features) {
      fail(`${features.length} features, over the limit of ${ARTIFACT_LIMITS.features}`);
    }
    for (const feature of features) {
      if (!isRecord(feature)) continue;
      const name = typeof feature.name === 'string' ? JSON.stringify(feature.name.slice(0, 64)) : '?';
      if (Array.isArray(feature.vocabulary) && feature.vocabulary.length > ARTIFACT_LIMITS.vocabulary) {
        fail(
          `feature ${name} has a vocabulary of ${feature.vocabulary.length} entries, over the limit of ${ARTIFACT_LIMITS.vocabulary} (maxCategories is at most 10,000)`,
        );
      }
      const buckets = feature.hashBuckets;
      if (
        buckets !== undefined &&
        !(
          Number.isInteger(buckets) &&
          (buckets as number) >= 1 &&
          (buckets as number) <= ARTIFACT_LIMITS.hashBuckets
        )
      ) {
        fail(
          `feature ${name} has hashBuckets ${String(buckets)}; expected 1 to ${ARTIFACT_LIMITS.hashBuckets}`,
        );
      }
    }
  }
  const target = value.target;
  if (isRecord(target) && Array.isArray(target.labels) && target.labels.length > ARTIFACT_LIMITS.labels) {
    fail(`target has ${target.labels.length} labels, over the limit of ${ARTIFACT_LIMITS.labels}`);
  }
  for (const key of ['encodedWidth'] as const) {
    const width = value[key];
    if (
      typeof width === 'number' &&
      !(Number.isSafeInteger(width) && width <= ARTIFACT_LIMITS.features * ARTIFACT_LIMITS.vocabulary)
    ) {
      fail(`${key} ${width} is not a plausible width`);
    }
  }
}
