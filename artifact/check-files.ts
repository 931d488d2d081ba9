/**
 * The content checks of an artifact's JSON files (docs/artifact.md): metrics.json, preprocess.json
 * and statistics.json against their schemas (contract.ts) and the rules a schema cannot say (widths
 * that add up, bins that match their edges). Pure: check.ts reads the files.
 */
import { error, formatPath, warning, type Diagnostic, type FieldPath } from '../resources/diagnostic.js';
import { validateAgainstJsonSchema } from '../manifests/schema-validation.js';
import {
  CONTRACT_FILES,
  ContractMetricsSchema,
  PreprocessFileSchema,
  ReferenceStatisticsSchema,
  type FeatureStatistics,
  type ContractMetrics,
  type PreprocessFile,
  type ReferenceStatistics,
} from './contract.js';
import { ArtifactLimitError, checkPreprocessCounts } from './limits.js';

export const DOCS = 'docs/artifact.md';

/** A file's schema problems as diagnostics naming the file and the field. */
export function schemaProblems(file: string, schema: object, value: unknown): Diagnostic[] {
  return validateAgainstJsonSchema(schema, value).map(({ target: _target, ...issue }) => ({
    ...issue,
    code: `artifact-${issue.code}`,
    file,
    hint: issue.hint ?? `see ${DOCS} "${file}"`,
  }));
}

/**
 * metrics.json's content checked against the contract, with the checks `gate` and `beats
 * baseline` rely on. Used by the checker and by providers reading a finished run's metrics.
 */
export function checkMetrics(value: unknown): { metrics?: ContractMetrics; diagnostics: Diagnostic[] } {
  const file = CONTRACT_FILES.metrics;
  const diagnostics = schemaProblems(file, ContractMetricsSchema, value);
  if (diagnostics.length > 0) return { diagnostics };
  const metrics = value as ContractMetrics;
  if (Object.keys(metrics.metrics).length === 0) {
    diagnostics.push(
      error('artifact-no-metrics', 'metrics is empty: gates and aliases have nothing to compare', {
        file,
        path: ['metrics'],
        hint: 'write the validation metrics gates use, e.g. {"val_mae": 2.1}',
      }),
    );
  }
  const missing = Object.keys(metrics.metrics).filter(
    (name) => name.startsWith('val_') && name !== 'val_loss' && !(name in metrics.baseline),
  );
  if (missing.length > 0) {
    diagnostics.push(
      warning(
        'artifact-no-baseline',
        `baseline has no ${missing.join(', ')}: \`beats baseline\` cannot compare it`,
        {
          file,
          path: ['baseline'],
          hint: 'add the naive baseline (mean or majority class) on the same validation split, with the same names',
        },
      ),
    );
  }
  return { metrics, diagnostics };
}

export function checkPreprocess(value: unknown, out: Diagnostic[]): PreprocessFile | undefined {
  const file = CONTRACT_FILES.preprocess;
  try {
    checkPreprocessCounts(value, file);
  } catch (e) {
    if (!(e instanceof ArtifactLimitError)) throw e;
    out.push(error('artifact-limit', e.message, { file, hint: `see ${DOCS} "Limits"` }));
    return undefined;
  }
  const problems = schemaProblems(file, PreprocessFileSchema, value);
  out.push(...problems);
  if (problems.length > 0) return undefined;
  const preprocess = value as PreprocessFile;
  const width = preprocess.features.reduce(
    (sum, f) => sum + (f.type === 'categorical' ? (f.hashBuckets ?? f.vocabulary.length) : 1),
    0,
  );
  if (width !== preprocess.encodedWidth) {
    out.push(
      error(
        'artifact-inconsistent',
        `encodedWidth is ${preprocess.encodedWidth}, but the features encode to ${width} values`,
        {
          file,
          path: ['encodedWidth'],
          hint: 'numeric, boolean and date features take 1 value each, a categorical one its vocabulary length (or hashBuckets)',
        },
      ),
    );
  }
  if (preprocess.inputShape.at(-1) !== preprocess.encodedWidth) {
    out.push(
      error(
        'artifact-inconsistent',
        `inputShape ends in ${preprocess.inputShape.at(-1)}, not encodedWidth ${preprocess.encodedWidth}`,
        {
          file,
          path: ['inputShape'],
          hint: `write [${preprocess.encodedWidth}] (or [window, ${preprocess.encodedWidth}] for forecasting)`,
        },
      ),
    );
  }
  return preprocess;
}

function checkColumn(
  stats: FeatureStatistics,
  path: FieldPath,
  rows: number | undefined,
  out: Diagnostic[],
): void {
  const file = CONTRACT_FILES.statistics;
  const at = (field: string) => ({ file, path: [...path, field] });
  const inconsistent = (field: string, message: string, hint?: string) =>
    out.push(
      error('artifact-inconsistent', `${formatPath([...path, field])} ${message}`, {
        ...at(field),
        ...(hint && { hint }),
      }),
    );
  if (rows !== undefined && stats.count + stats.missing > rows)
    inconsistent('count', `plus missing is ${stats.count + stats.missing}, over rows ${rows}`);
  if (stats.type === 'numeric') {
    if (stats.counts.length !== stats.edges.length + 1)
      inconsistent(
        'counts',
        `has ${stats.counts.length} entries for ${stats.edges.length} edges`,
        'inner edges: k edges make k + 1 bins, the outer two open-ended',
      );
    if (stats.edges.some((edge, i) => i > 0 && edge <= stats.edges[i - 1]))
      inconsistent('edges', 'must increase strictly', 'deduplicate repeated quantiles');
    const counted = stats.counts.reduce((a, b) => a + b, 0);
    if (counted > stats.count) inconsistent('counts', `add up to ${counted}, over count ${stats.count}`);
    return;
  }
  const counted = Object.values(stats.categories).reduce((a, b) => a + b, 0) + stats.other;
  if (counted > stats.count)
    inconsistent('categories', `plus other add up to ${counted}, over count ${stats.count}`);
}

export function checkStatistics(
  value: unknown,
  features: readonly string[] | undefined,
  out: Diagnostic[],
): void {
  const file = CONTRACT_FILES.statistics;
  const problems = schemaProblems(file, ReferenceStatisticsSchema, value);
  out.push(...problems);
  if (problems.length > 0) return;
  const stats = value as ReferenceStatistics;
  for (const [name, column] of Object.entries(stats.features)) {
    checkColumn(column, ['features', name], stats.rows, out);
    if (features && !features.includes(name)) {
      out.push(
        warning('artifact-unknown-feature', `features.${name} is not one of the model's features`, {
          file,
          path: ['features', name],
          hint: `the features are ${features.join(', ')}`,
        }),
      );
    }
  }
  // The prediction describes the validation split, not the `rows` training rows.
  if (stats.prediction) checkColumn(stats.prediction, ['prediction'], undefined, out);
}
