/**
 * The Vizier study of a fake HyperparameterTuningJob: the rules of study.proto the real service
 * enforces at create (beyond the proto shape the fake already checks), and a trial's parameters
 * sampled at random, conditional parameters included.
 */
import { ApiError, arr, rec } from './http.js';

type Rec = Record<string, unknown>;

const invalid = (field: string, message: string): ApiError =>
  new ApiError(
    'INVALID_ARGUMENT',
    `List of found errors:\t1.Field: hyperparameter_tuning_job.study_spec.${field}; Message: ${message}\t`,
  );

type ParameterType = 'DOUBLE' | 'INTEGER' | 'CATEGORICAL' | 'DISCRETE' | undefined;

const typeOf = (p: Rec): ParameterType =>
  p.doubleValueSpec
    ? 'DOUBLE'
    : p.integerValueSpec
      ? 'INTEGER'
      : p.categoricalValueSpec
        ? 'CATEGORICAL'
        : p.discreteValueSpec
          ? 'DISCRETE'
          : undefined;

/**
 * study.proto's rules: unique metric ids; unique parameter ids without whitespace; discrete values
 * increasing; GRID_SEARCH only over INTEGER, CATEGORICAL and DISCRETE parameters; a conditional
 * parameter's condition in its parent's type, with values in the parent's feasible space.
 */
export function checkStudySpec(study: Rec): void {
  const metricIds = arr(study.metrics).map((m) => String(rec(m).metricId ?? ''));
  metricIds.forEach((id, i) => {
    if (!id) throw invalid(`metrics[${i}].metric_id`, 'Required field is not set.');
    if (metricIds.indexOf(id) < i) throw invalid(`metrics[${i}].metric_id`, `Duplicate metric id "${id}".`);
  });
  const grid = study.algorithm === 'GRID_SEARCH' || study.algorithm === 2;
  const seen = new Set<string>();
  const visit = (p: Rec, field: string): void => {
    const id = String(p.parameterId ?? '');
    if (!id || /\s/.test(id)) throw invalid(`${field}.parameter_id`, `Invalid parameter id "${id}".`);
    if (seen.has(id)) throw invalid(`${field}.parameter_id`, `Duplicate parameter id "${id}".`);
    seen.add(id);
    const type = typeOf(p);
    if (!type) throw invalid(field, `Parameter "${id}" has no value spec.`);
    if (grid && type === 'DOUBLE')
      throw invalid(
        field,
        `Grid search requires INTEGER, CATEGORICAL or DISCRETE parameters; "${id}" is DOUBLE.`,
      );
    const discrete = arr(rec(p.discreteValueSpec).values).map(Number);
    if (discrete.some((v, i) => i > 0 && !(v - discrete[i - 1] >= 1e-10)))
      throw invalid(field, `Discrete values of "${id}" must be increasing and at least 1e-10 apart.`);
    arr(p.conditionalParameterSpecs).forEach((c, i) => {
      const child = rec(c);
      const where = `${field}.conditional_parameter_specs[${i}]`;
      const condition = feasibleCondition(p, type, child);
      if (condition) throw invalid(where, condition);
      visit(rec(child.parameterSpec), `${where}.parameter_spec`);
    });
  };
  arr(study.parameters).forEach((p, i) => visit(rec(p), `parameters[${i}]`));
}

/** Why a conditional spec's condition does not fit its parent, or undefined. */
function feasibleCondition(parent: Rec, type: ParameterType, child: Rec): string | undefined {
  const id = String(parent.parameterId);
  if (type === 'INTEGER') {
    const values = arr(rec(child.parentIntValues).values).map(Number);
    const spec = rec(parent.integerValueSpec);
    const [low, high] = [Number(spec.minValue ?? 0), Number(spec.maxValue ?? 0)];
    if (values.length === 0) return `Parent "${id}" is INTEGER: parent_int_values is required.`;
    if (values.some((v) => !Number.isInteger(v) || v < low || v > high))
      return `parent_int_values must lie in [${low}, ${high}] of "${id}".`;
    return undefined;
  }
  if (type === 'DISCRETE') {
    const feasible = arr(rec(parent.discreteValueSpec).values).map(Number);
    const values = arr(rec(child.parentDiscreteValues).values).map(Number);
    if (values.length === 0) return `Parent "${id}" is DISCRETE: parent_discrete_values is required.`;
    if (values.some((v) => !feasible.some((f) => Math.abs(f - v) <= 1e-10)))
      return `parent_discrete_values must exist in the discrete_value_spec of "${id}".`;
    return undefined;
  }
  if (type === 'CATEGORICAL') {
    const feasible = arr(rec(parent.categoricalValueSpec).values).map(String);
    const values = arr(rec(child.parentCategoricalValues).values).map(String);
    if (values.length === 0) return `Parent "${id}" is CATEGORICAL: parent_categorical_values is required.`;
    if (values.some((v) => !feasible.includes(v)))
      return `parent_categorical_values must exist in the categorical_value_spec of "${id}".`;
    return undefined;
  }
  return `Parent "${id}" is DOUBLE: conditional parameters need a DISCRETE, INTEGER or CATEGORICAL parent.`;
}

export type ParameterValue = { parameterId: string; value: number | string };

/** One value of a parameter from a uniform draw. */
export function sampleValue(p: Rec, random: () => number): number | string {
  const u = random();
  const double = rec(p.doubleValueSpec);
  if (p.doubleValueSpec) {
    const low = Number(double.minValue ?? 0);
    const high = Number(double.maxValue ?? 1);
    if (p.scaleType === 'UNIT_LOG_SCALE' && low > 0) {
      return Math.min(high, Math.max(low, Math.exp(Math.log(low) + u * (Math.log(high) - Math.log(low)))));
    }
    return low + u * (high - low);
  }
  if (p.integerValueSpec) {
    const int = rec(p.integerValueSpec);
    const low = Number(int.minValue ?? 0);
    const high = Number(int.maxValue ?? low);
    return Math.min(high, low + Math.floor(u * (high - low + 1)));
  }
  const values = p.discreteValueSpec
    ? arr(rec(p.discreteValueSpec).values).map(Number)
    : arr(rec(p.categoricalValueSpec).values).map(String);
  if (values.length === 0) throw new Error(`parameter ${String(p.parameterId)} has no value spec`);
  return values[Math.min(values.length - 1, Math.floor(u * values.length))];
}

/** A trial's parameters: each top-level one, then the conditional ones whose condition its value meets. */
export function sampleTrialParameters(
  parameters: readonly unknown[],
  random: () => number,
): ParameterValue[] {
  const out: ParameterValue[] = [];
  const visit = (p: Rec): void => {
    const value = sampleValue(p, random);
    out.push({ parameterId: String(p.parameterId ?? ''), value });
    for (const c of arr(p.conditionalParameterSpecs)) {
      const child = rec(c);
      const matches =
        [
          ...arr(rec(child.parentIntValues).values).map(Number),
          ...arr(rec(child.parentDiscreteValues).values).map(Number),
        ].some((v) => typeof value === 'number' && Math.abs(v - value) <= 1e-10) ||
        arr(rec(child.parentCategoricalValues).values).map(String).includes(String(value));
      if (matches) visit(rec(child.parameterSpec));
    }
  };
  for (const p of parameters) visit(rec(p));
  return out;
}
