/**
 * A tuning space as samplers see it: *flat parameters*, one scalar each. A plain dimension is
 * one; a `layers` dimension is `<key>/count` and `<key>/units<i>` for every layer that may exist,
 * each layer's units conditional on the count (layer i exists when count >= i); `when` makes a
 * parameter conditional on another. Here (not in trainer/) because the plan checks count the grid
 * with the same rules the grid sampler enumerates it by.
 */
import { isDeepStrictEqual } from 'node:util';
import type { TrainingRunSpec } from './training-run.js';

export type SearchSpace = NonNullable<TrainingRunSpec['tuning']>['space'];
export type SearchDimension = SearchSpace[string];

/** What one flat parameter ranges over. `int` and `float` bounds are inclusive. */
export type FlatDomain =
  | { kind: 'float'; low: number; high: number; log: boolean }
  | { kind: 'int'; low: number; high: number; log: boolean }
  | { kind: 'choice'; values: readonly unknown[] };

/** One scalar a sampler draws. Its value is a number (float, int) or an index into `values` (choice). */
export interface FlatParam {
  /** `learningRate`, `network.layers/count`, `network.layers/units2`. */
  name: string;
  /** The space key it belongs to. */
  key: string;
  domain: FlatDomain;
  /** It exists only when the flat parameter `name` exists and took one of `values`. */
  parent?: { name: string; values: readonly unknown[] };
  /** Grid: how many values a float range is cut into (the dimension's `points`). */
  points?: number;
  /** A part of a `layers` dimension: 0 its count, i the units of layer i. */
  layer?: number;
}

/** Flat values by flat parameter name: numbers, choice indices. */
export type FlatValues = Record<string, number>;

export const layersCountName = (key: string): string => `${key}/count`;
export const layersUnitsName = (key: string, layer: number): string => `${key}/units${layer}`;

/** The flat domain of a plain dimension (undefined for `layers` or a malformed one). */
export function domainOf(dimension: SearchDimension): FlatDomain | undefined {
  if (dimension.uniform)
    return { kind: 'float', low: dimension.uniform[0], high: dimension.uniform[1], log: false };
  if (dimension.logUniform)
    return { kind: 'float', low: dimension.logUniform[0], high: dimension.logUniform[1], log: true };
  if (dimension.int) return { kind: 'int', low: dimension.int[0], high: dimension.int[1], log: false };
  if (dimension.choice) return { kind: 'choice', values: dimension.choice };
  return undefined;
}

/**
 * The flat parameters of a space, parents before their children; keys sorted otherwise, so
 * manifest key order does not matter. A `when` cycle or a `when` on a missing key is a plan error
 * (tuning-space-checks.ts); here such a parameter is never active.
 */
export function flattenSpace(space: SearchSpace): FlatParam[] {
  const byKey = new Map<string, FlatParam[]>();
  for (const key of Object.keys(space).sort()) byKey.set(key, flatParamsOf(space, key));
  const ordered: FlatParam[] = [];
  const seen = new Set<string>();
  const visit = (key: string) => {
    if (seen.has(key)) return;
    seen.add(key);
    const parentKey = space[key].when?.key;
    if (parentKey !== undefined && byKey.has(parentKey)) visit(parentKey);
    ordered.push(...(byKey.get(key) ?? []));
  };
  for (const key of byKey.keys()) visit(key);
  return ordered;
}

function flatParamsOf(space: SearchSpace, key: string): FlatParam[] {
  const dimension = space[key];
  const parent = dimension.when && {
    name: dimension.when.key,
    values: whenValues(space, dimension.when.key, dimension.when.in),
  };
  const domain = domainOf(dimension);
  if (domain) {
    const points = dimension.points;
    return [{ name: key, key, domain, ...(parent && { parent }), ...(points !== undefined && { points }) }];
  }
  if (!dimension.layers) return [];
  const [low, high] = dimension.layers.count;
  const [unitsLow, unitsHigh] = dimension.layers.units;
  const params: FlatParam[] = [
    {
      name: layersCountName(key),
      key,
      layer: 0,
      domain: { kind: 'int', low, high, log: false },
      ...(parent && { parent }),
    },
  ];
  for (let layer = 1; layer <= high; layer++) {
    // Layer `layer` exists at every depth from `layer` on (at every depth when `layer` <= the
    // lowest one, so it is exactly as active as the count).
    const from = Math.max(layer, low);
    params.push({
      name: layersUnitsName(key, layer),
      key,
      layer,
      domain: { kind: 'int', low: unitsLow, high: unitsHigh, log: true },
      parent: {
        name: layersCountName(key),
        values: Array.from({ length: high - from + 1 }, (_, i) => from + i),
      },
    });
  }
  return params;
}

/** `when.in` as flat values of the parent: choice values become their indices. */
function whenValues(space: SearchSpace, parentKey: string, values: readonly unknown[]): unknown[] {
  const choice = Object.hasOwn(space, parentKey) ? space[parentKey].choice : undefined;
  if (!choice) return [...values];
  return values.map((v) => indexOfChoice(choice, v)).filter((i) => i >= 0);
}

/** The index of `value` among choice values (deep equality: choices may be lists), or -1. */
export const indexOfChoice = (values: readonly unknown[], value: unknown): number =>
  values.findIndex((c) => isDeepStrictEqual(c, value));

/** Whether `param` exists given the flat values drawn so far (its parent is drawn before it). */
export function isActive(param: FlatParam, values: FlatValues): boolean {
  if (!param.parent) return true;
  const parentValue = values[param.parent.name];
  return parentValue !== undefined && param.parent.values.some((v) => v === parentValue);
}

/** A grid may hold at most this many combinations; an int axis at most GRID_AXIS_LIMIT values. */
export const GRID_LIMIT = 10_000;
export const GRID_AXIS_LIMIT = 100;

/**
 * The values a flat parameter takes in a grid, in increasing order: every choice, every integer
 * of an int range, `points` evenly spaced values of a float range (log-evenly for a log range),
 * both ends included. A string says why there is no axis.
 */
export function gridAxis(param: FlatParam): number[] | string {
  const { domain } = param;
  if (domain.kind === 'choice') return domain.values.map((_, i) => i);
  if (domain.kind === 'int') {
    const count = domain.high - domain.low + 1;
    if (count > GRID_AXIS_LIMIT) return `${count} integers (more than ${GRID_AXIS_LIMIT})`;
    return Array.from({ length: count }, (_, i) => domain.low + i);
  }
  if (param.points === undefined) return 'a continuous range without `points`';
  const [a, b] = domain.log ? [Math.log(domain.low), Math.log(domain.high)] : [domain.low, domain.high];
  const n = param.points;
  return Array.from({ length: n }, (_, i) => {
    // The ends exactly, not through exp(log(x)).
    if (i === 0) return domain.low;
    if (i === n - 1) return domain.high;
    const t = a + ((b - a) * i) / (n - 1);
    return domain.log ? Math.exp(t) : t;
  });
}

/**
 * Every combination of the grid in its documented order: flat parameters in `flattenSpace` order,
 * the last varying fastest; an inactive parameter is absent and does not multiply the grid.
 * Undefined when an axis is missing or there are more than `limit` combinations.
 */
export function enumerateGrid(flat: readonly FlatParam[], limit = GRID_LIMIT): FlatValues[] | undefined {
  const axes = flat.map(gridAxis);
  if (axes.some((a) => typeof a === 'string')) return undefined;
  const out: FlatValues[] = [];
  const values: FlatValues = {};
  const walk = (i: number): boolean => {
    if (i === flat.length) {
      out.push({ ...values });
      return out.length <= limit;
    }
    const param = flat[i];
    if (!isActive(param, values)) return walk(i + 1);
    for (const value of axes[i] as number[]) {
      values[param.name] = value;
      if (!walk(i + 1)) return false;
    }
    delete values[param.name];
    return true;
  };
  return walk(0) ? out : undefined;
}
