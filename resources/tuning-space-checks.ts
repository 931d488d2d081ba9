/**
 * Plan checks of `spec.tuning`'s space and sampler that a JSON Schema cannot express: conditional
 * parameters (`when`), `layers`, `points`, the grid's limits, and sampler options given to a
 * sampler that does not read them. Called from `checkTrainingRunSpec`; paths are relative to the
 * document root so the CLI prints file:line:col.
 */
import { error, warning, type Diagnostic } from './diagnostic.js';
import { didYouMean } from './suggest.js';
import type { TrainingRunSpec } from './training-run.js';
import {
  enumerateGrid,
  flattenSpace,
  GRID_AXIS_LIMIT,
  GRID_LIMIT,
  indexOfChoice,
  type SearchDimension,
  type SearchSpace,
} from './tuning-space.js';

type Tuning = NonNullable<TrainingRunSpec['tuning']>;
type Path = (string | number)[];

const KINDS = ['uniform', 'logUniform', 'int', 'choice', 'layers'] as const;
const kindsOf = (dimension: SearchDimension) => KINDS.filter((k) => dimension[k] !== undefined);
/** The single kind of a well-formed dimension (others are reported by checkTrainingRunSpec). */
const kindOf = (dimension: SearchDimension) => {
  const kinds = kindsOf(dimension);
  return kinds.length === 1 ? kinds[0] : undefined;
};

const TPE_OPTIONS = ['startupTrials', 'candidates'] as const;
/** The schema's bound on a `network.layers` entry. */
const MAX_UNITS = 4096;

export function checkTuningSpace(tuning: Tuning): Diagnostic[] {
  const out: Diagnostic[] = [];
  const base = ['spec', 'tuning'];
  const type = tuning.sampler?.type ?? 'random';
  for (const option of TPE_OPTIONS) {
    if (tuning.sampler?.[option] !== undefined && type !== 'tpe') {
      out.push(
        error(
          'tuning-sampler-option',
          `tuning.sampler.${option} is a tpe option; the ${type} sampler does not use it`,
          {
            path: [...base, 'sampler', option],
            hint: 'remove it, or use `sampler: {type: tpe}`',
          },
        ),
      );
    }
  }
  const startup = tuning.sampler?.startupTrials ?? 10;
  if (type === 'tpe' && startup >= tuning.trials) {
    out.push(
      warning(
        'tuning-tpe-startup',
        `all ${tuning.trials} trials are tpe's random start-up trials (startupTrials ${startup}): this is a random search`,
        {
          path: [...base, tuning.sampler?.startupTrials === undefined ? 'trials' : 'sampler'],
          hint: `raise trials above ${startup}, or set sampler.startupTrials lower`,
        },
      ),
    );
  }
  for (const [key, dimension] of Object.entries(tuning.space)) {
    const path = [...base, 'space', key];
    out.push(...checkLayers(key, dimension, path), ...checkPoints(key, dimension, path, type));
    if (dimension.when) out.push(...checkWhen(tuning.space, key, dimension.when, [...path, 'when']));
  }
  if (type === 'grid') out.push(...checkGrid(tuning, base));
  return out;
}

function checkLayers(key: string, dimension: SearchDimension, path: Path): Diagnostic[] {
  const { layers } = dimension;
  if (!layers) return [];
  const out: Diagnostic[] = [];
  if (key !== 'network.layers') {
    out.push(
      error(
        'tuning-layers-key',
        `\`layers\` samples a list of layer widths; "${key}" is not network.layers`,
        {
          path: [...path, 'layers'],
          hint: 'use `layers` under the key network.layers, and int/uniform/choice elsewhere',
        },
      ),
    );
  }
  // The widths a trial gets must be valid `network.layers` entries, or every trial would fail.
  if (layers.units[1] > MAX_UNITS) {
    out.push(
      error(
        'tuning-range',
        `layers.units for "${key}" goes up to ${layers.units[1]}; a layer has at most ${MAX_UNITS} units`,
        {
          path: [...path, 'layers', 'units', 1],
          hint: `use at most ${MAX_UNITS}`,
        },
      ),
    );
  }
  for (const field of ['count', 'units'] as const) {
    const [low, high] = layers[field];
    if (low > high) {
      out.push(
        error(
          'tuning-range',
          `layers.${field} for "${key}" must be [low, high] with low <= high, got [${low}, ${high}]`,
          {
            path: [...path, 'layers', field],
            hint: `swap them: [${high}, ${low}]`,
          },
        ),
      );
    }
  }
  return out;
}

function checkPoints(key: string, dimension: SearchDimension, path: Path, sampler: string): Diagnostic[] {
  if (dimension.points === undefined) return [];
  if (!dimension.uniform && !dimension.logUniform) {
    return [
      error('tuning-points', `points applies to a uniform or logUniform range; "${key}" has none`, {
        path: [...path, 'points'],
        hint: 'remove `points`: a grid takes every value of an int range and every choice',
      }),
    ];
  }
  if (sampler === 'grid') return [];
  return [
    warning(
      'tuning-points-unused',
      `points is read by the grid sampler only; the ${sampler} sampler draws "${key}" from the whole range`,
      {
        path: [...path, 'points'],
        hint: 'use `sampler: {type: grid}`, or remove `points`',
      },
    ),
  ];
}

function checkWhen(
  space: SearchSpace,
  key: string,
  when: { key: string; in: unknown[] },
  path: Path,
): Diagnostic[] {
  const parent = Object.hasOwn(space, when.key) ? space[when.key] : undefined;
  if (!parent || when.key === key) {
    const others = Object.keys(space).filter((k) => k !== key);
    return [
      error(
        'tuning-when-key',
        when.key === key
          ? `"${key}" cannot be conditional on itself`
          : `when.key "${when.key}" is not a key of tuning.space`,
        {
          path: [...path, 'key'],
          hint:
            didYouMean(when.key, others) ??
            (others.length > 0 ? `keys: ${others.join(', ')}` : 'add the key it depends on to the space'),
        },
      ),
    ];
  }
  const kind = kindOf(parent);
  if (kind !== 'choice' && kind !== 'int') {
    return [
      error(
        'tuning-when-key',
        `when.key "${when.key}" must be a choice or int dimension, not ${kind ?? 'a malformed one'}`,
        {
          path: [...path, 'key'],
          hint: 'condition on a parameter with distinct values, e.g. `optimizer: {choice: [adam, sgd]}`',
        },
      ),
    ];
  }
  const out: Diagnostic[] = [];
  // A chain of conditions that leads back here is a cycle: no parameter of it could be drawn first.
  const chain = [key];
  for (let next: string | undefined = when.key; next !== undefined;) {
    if (next === key) {
      out.push(
        error('tuning-when-cycle', `conditions form a cycle: ${[...chain, key].join(' -> ')}`, {
          path: [...path, 'key'],
          hint: 'make one of them unconditional',
        }),
      );
      break;
    }
    if (chain.includes(next)) break;
    chain.push(next);
    next = Object.hasOwn(space, next) ? space[next].when?.key : undefined;
  }
  when.in.forEach((value, i) => {
    const inDomain =
      kind === 'choice'
        ? indexOfChoice(parent.choice ?? [], value) >= 0
        : Number.isInteger(value) &&
          (value as number) >= (parent.int as number[])[0] &&
          (value as number) <= (parent.int as number[])[1];
    if (!inDomain) {
      out.push(
        error(
          'tuning-when-value',
          `when.in value ${JSON.stringify(value)} is not a value "${when.key}" can take`,
          {
            path: [...path, 'in', i],
            hint:
              kind === 'choice'
                ? `one of ${(parent.choice ?? []).map((c) => JSON.stringify(c)).join(', ')}`
                : `an integer in [${(parent.int as number[]).join(', ')}]`,
          },
        ),
      );
    }
  });
  return out;
}

function checkGrid(tuning: Tuning, base: Path): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const [key, dimension] of Object.entries(tuning.space)) {
    const path = [...base, 'space', key];
    const kind = kindOf(dimension);
    if ((kind === 'uniform' || kind === 'logUniform') && dimension.points === undefined) {
      out.push(
        error('tuning-grid-points', `the grid sampler needs \`points\` for the ${kind} range of "${key}"`, {
          path: [...path, kind],
          hint: `add \`points: 5\` (${kind === 'logUniform' ? 'log-evenly' : 'evenly'} spaced, both ends included), or list values with \`choice\``,
        }),
      );
    }
    const ranges: [number[] | undefined, Path][] = [
      [kind === 'int' ? dimension.int : undefined, [...path, 'int']],
      [kind === 'layers' ? dimension.layers?.units : undefined, [...path, 'layers', 'units']],
    ];
    for (const [range, at] of ranges) {
      if (!range || range[1] - range[0] + 1 <= GRID_AXIS_LIMIT) continue;
      out.push(
        error(
          'tuning-grid-range',
          `the grid would try all ${range[1] - range[0] + 1} integers of [${range.join(', ')}] for "${key}" (at most ${GRID_AXIS_LIMIT})`,
          {
            path: at,
            hint: 'narrow the range, list the values to try with `choice`, or for a float field use `uniform`/`logUniform` with `points`',
          },
        ),
      );
    }
  }
  if (out.length > 0) return out;
  const grid = enumerateGrid(flattenSpace(tuning.space));
  if (!grid) {
    return [
      error('tuning-grid-size', `the grid has more than ${GRID_LIMIT} combinations`, {
        path: [...base, 'space'],
        hint: 'use fewer values or `points`, or `sampler: {type: tpe}` for a space this large',
      }),
    ];
  }
  if (tuning.trials > grid.length) {
    return [
      warning(
        'tuning-grid-trials',
        `the grid has ${grid.length} combinations: the study ends after ${grid.length} of the ${tuning.trials} trials`,
        {
          path: [...base, 'trials'],
          hint: `set trials: ${grid.length}`,
        },
      ),
    ];
  }
  return [];
}

/**
 * The local engine runs random, grid and tpe; `bayesian` is Vertex AI Vizier's algorithm. Called by
 * the local provider's plan-time validation (a gcp plan accepts it).
 */
export function checkLocalSampler(spec: TrainingRunSpec): Diagnostic[] {
  if (spec.tuning?.sampler?.type !== 'bayesian') return [];
  return [
    error(
      'tuning-sampler-local',
      'tuning.sampler "bayesian" is Vertex AI Vizier\'s algorithm, on the gcp provider only',
      {
        path: ['spec', 'tuning', 'sampler', 'type'],
        hint: 'use tpe locally',
      },
    ),
  ];
}
