/**
 * What a predict request must say explicitly, checked before encoding (issue 11, point 11). The
 * encoder (artifact/preprocess/encode.ts) accepts what training accepted: an absent feature takes its
 * fill value, and a number is a category like any other. An API should not guess: a client that
 * forgot or misspelt a field, or sends `4` where the model learnt `"4 cylinders"`, gets a 400
 * naming the field rather than a prediction for a row it did not send.
 *
 * - Presence (`limits.missingFeatures`): `explicit` (default) wants every feature present; `null`
 *   and the missing markers training knows ('', 'NA', 'NaN', 'null') still mean "missing, fill as
 *   training did". `error` also refuses those; `fill` accepts absent features as missing.
 * - Categorical features take strings. Numbers (and booleans) are categories only when the
 *   training values were: every vocabulary entry is a number as String() writes it (a column of
 *   integer codes) or a boolean word. A hashed column keeps no vocabulary, so it takes strings and
 *   numbers, as training did.
 * - Numeric, boolean and date features are already typed by the encoder in `request` mode (a
 *   string for a numeric feature is a 400 there).
 *
 * Forecasting applies the same rules to the rows of the window (the last `window.size` rows).
 */
import { MISSING_CATEGORY, isMissing, type InstanceError } from '../artifact/preprocess/index.js';
import type { FeatureEncoding, Preprocess } from '../artifact/preprocess/types.js';
import type { MissingFeaturePolicy } from './config.js';

/** As many as the encoder lists: a client with 10k bad rows needs the first few. */
const MAX_ERRORS = 100;

type Categorical = Extract<FeatureEncoding, { type: 'categorical' }>;

/** Which JSON types a categorical feature takes besides strings. */
interface CategoryTypes {
  numbers: boolean;
  booleans: boolean;
}

const NUMBER_TEXT = (text: string): boolean => text !== '' && String(Number(text)) === text;
const BOOLEAN_TEXT = (text: string): boolean => text === 'true' || text === 'false';

const categoryTypesCache = new WeakMap<Categorical, CategoryTypes>();

function categoryTypes(feature: Categorical): CategoryTypes {
  let types = categoryTypesCache.get(feature);
  if (!types) {
    const seen = feature.vocabulary.filter((v) => v !== MISSING_CATEGORY);
    types =
      seen.length === 0
        ? { numbers: true, booleans: false } // hashed (or never seen a value): no evidence either way
        : { numbers: seen.every(NUMBER_TEXT), booleans: seen.every(BOOLEAN_TEXT) };
    categoryTypesCache.set(feature, types);
  }
  return types;
}

const describe = (value: unknown): string =>
  Array.isArray(value) ? 'an array' : value === null ? 'null' : `${typeof value} ${JSON.stringify(value)}`;

/** The problem with one feature's value in one row, or undefined. */
function checkValue(
  feature: FeatureEncoding,
  row: Record<string, unknown>,
  policy: MissingFeaturePolicy,
  refusal: string,
): string | undefined {
  const value = row[feature.name];
  if (value === undefined) {
    if (policy === 'fill') return undefined;
    return policy === 'error'
      ? `required (${refusal})`
      : 'required: send a value, or null for a missing value (it then takes the training fill value)';
  }
  if (isMissing(value)) {
    return policy === 'error' ? `required (${refusal}); got a missing value` : undefined;
  }
  if (feature.type !== 'categorical') return undefined;
  if (typeof value === 'string') return undefined;
  const types = categoryTypes(feature);
  if (typeof value === 'number' && types.numbers) return undefined;
  if (typeof value === 'boolean' && types.booleans) return undefined;
  if (typeof value === 'number' || typeof value === 'boolean') {
    return `expected a string (a category such as ${JSON.stringify(feature.vocabulary.find((v) => v !== MISSING_CATEGORY) ?? 'abc')}), got ${describe(value)}`;
  }
  return undefined; // objects and arrays: the encoder names them
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Problems as the encoder reports them (instance index and field), so both lists merge.
 * `refusal` says why missing values are refused under the `error` policy (a model that declares
 * no fill value refuses them whatever the config says).
 */
export function strictInputErrors(
  preprocess: Preprocess,
  instances: readonly unknown[],
  policy: MissingFeaturePolicy,
  refusal = 'limits.missingFeatures is "error"',
): InstanceError[] {
  const errors: InstanceError[] = [];
  const features = preprocess.features;
  const size = preprocess.window?.size;
  for (let index = 0; index < instances.length && errors.length < MAX_ERRORS; index++) {
    const instance = instances[index];
    if (!isRecord(instance)) continue; // the encoder says what it should be
    if (size === undefined) {
      for (const feature of features) {
        const message = checkValue(feature, instance, policy, refusal);
        if (message) errors.push({ index, field: feature.name, message });
      }
      continue;
    }
    const history = instance.history;
    if (!Array.isArray(history) || history.length < size) continue;
    for (let j = history.length - size; j < history.length; j++) {
      const row: unknown = history[j];
      if (!isRecord(row)) continue;
      for (const feature of features) {
        const message = checkValue(feature, row, policy, refusal);
        if (message) errors.push({ index, field: `history[${j}].${feature.name}`, message });
      }
    }
  }
  return errors.slice(0, MAX_ERRORS);
}
