import { Type, type Static } from '@sinclair/typebox';
import { error, type Diagnostic } from './diagnostic.js';
import { StringEnum, Strict } from './schema-helpers.js';

/** `latest` always means the newest version; it cannot be redefined. */
export const RESERVED_ALIASES = ['latest'] as const;
const ALIAS_NAME = /^[a-z][a-z0-9-]{0,62}$/;

const GoalSchema = StringEnum(['minimize', 'maximize'] as const, {
  description: 'Whether lower or higher is better. Inferred from the metric name when omitted.',
});

const AliasSchema = Type.Object(
  {
    policy: Type.Optional(
      StringEnum(['best', 'latest'] as const, {
        description: '`best`: the version with the best `metric`; `latest`: the newest version.',
      }),
    ),
    metric: Type.Optional(
      Type.String({ minLength: 1, description: 'Metric ranking versions for `policy: best`.' }),
    ),
    goal: Type.Optional(GoalSchema),
    version: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Pin the alias to this version number.' }),
    ),
  },
  { ...Strict, description: 'Either a policy (`best`, `latest`) or a pinned `version`.' },
);

/** `gate.beatBaseline` as a word: which baselines a run must beat (`true` means `lastValue`). */
export const BASELINE_RULES = ['lastValue', 'seasonalNaive', 'both', 'any'] as const;
export type BaselineRule = (typeof BASELINE_RULES)[number];

/**
 * Where metrics.json keeps the seasonal-naive baseline: in `baseline`, each name prefixed
 * (`seasonal_naive_val_mae`), so providers carry it like the other baseline metrics.
 */
export const SEASONAL_NAIVE_PREFIX = 'seasonal_naive_';

export const RegisteredModelSpecSchema = Type.Object(
  {
    description: Type.Optional(Type.String({ description: 'Shown in the registry.' })),
    gate: Type.Optional(
      Type.Object(
        {
          metric: Type.String({
            minLength: 1,
            description: "Metric from the run's metrics.json (`val_mae`, `val_accuracy`).",
          }),
          max: Type.Optional(Type.Number({ description: 'The metric must be at most this.' })),
          min: Type.Optional(Type.Number({ description: 'The metric must be at least this.' })),
          beatBaseline: Type.Union(
            [
              Type.Boolean(),
              StringEnum(BASELINE_RULES, {
                description:
                  'lastValue: the naive baseline as `true`; seasonalNaive: the seasonal-naive forecast; both: the two; any: at least one.',
              }),
            ],
            {
              default: false,
              description:
                'The run must also beat the naive baseline the trainer reports for the same metric (`true`: mean, majority class, or last value for forecasting). Forecasting runs also report a seasonal-naive baseline: `lastValue` (as `true`), `seasonalNaive`, `both` or `any`.',
            },
          ),
        },
        { ...Strict, description: "A run's output becomes a version only if it passes." },
      ),
    ),
    aliases: Type.Record(Type.String(), AliasSchema, {
      default: {},
      description: 'Named pointers to versions (`champion`, `staging`). Alias moves are planned actions.',
    }),
    retention: Type.Object(
      {
        keepVersions: Type.Integer({
          minimum: 1,
          maximum: 1000,
          default: 20,
          description: 'Newest versions kept; versions that an alias or an endpoint uses are always kept.',
        }),
      },
      { ...Strict, default: {}, description: 'How many versions to keep.' },
    ),
  },
  { ...Strict, default: {}, description: 'A model in the registry, fed by TrainingRuns.' },
);
export type RegisteredModelSpec = Static<typeof RegisteredModelSpecSchema>;

const MAXIMIZE_HINTS = ['accuracy', 'f1', 'r2', 'auc', 'precision', 'recall', 'score'];

/** Lower is better for losses and errors; higher for accuracies and scores. */
export function inferGoal(metric: string): 'minimize' | 'maximize' {
  const m = metric.toLowerCase();
  return MAXIMIZE_HINTS.some((hint) => m.includes(hint)) ? 'maximize' : 'minimize';
}

/** Fills inferred alias goals so the canonical spec (and its hash) is explicit. */
export function normalizeRegisteredModelSpec(spec: RegisteredModelSpec): RegisteredModelSpec {
  const aliases: RegisteredModelSpec['aliases'] = {};
  for (const [name, alias] of Object.entries(spec.aliases)) {
    aliases[name] =
      alias.policy === 'best' && alias.metric && !alias.goal
        ? { ...alias, goal: inferGoal(alias.metric) }
        : alias;
  }
  return { ...spec, aliases };
}

export function checkRegisteredModelSpec(spec: RegisteredModelSpec): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (spec.gate && spec.gate.max === undefined && spec.gate.min === undefined && !spec.gate.beatBaseline) {
    out.push(
      error('gate-empty', 'gate has a metric but no condition', {
        path: ['spec', 'gate'],
        hint: 'add `max`, `min` or `beatBaseline: true`',
      }),
    );
  }
  if (spec.gate?.max !== undefined && spec.gate.min !== undefined && spec.gate.min > spec.gate.max) {
    out.push(
      error(
        'gate-range',
        `gate.min (${spec.gate.min}) is above gate.max (${spec.gate.max}): no run can pass`,
        {
          path: ['spec', 'gate', 'min'],
        },
      ),
    );
  }
  for (const [name, alias] of Object.entries(spec.aliases)) {
    const path = ['spec', 'aliases', name];
    if ((RESERVED_ALIASES as readonly string[]).includes(name)) {
      out.push(
        error('alias-reserved', `"${name}" is reserved: it always points at the newest version`, {
          path,
          hint: 'pick another alias name, e.g. "newest"',
        }),
      );
    } else if (!ALIAS_NAME.test(name)) {
      out.push(
        error(
          'alias-name',
          `alias name "${name}" must start with a lowercase letter and use only a-z, 0-9 and '-'`,
          {
            path,
          },
        ),
      );
    }
    const pinned = alias.version !== undefined;
    if (pinned === (alias.policy !== undefined)) {
      out.push(
        error('alias-choice', `alias "${name}" must set exactly one of \`policy\` or \`version\``, {
          path,
          hint: 'e.g. `{policy: best, metric: val_mae}` or `{version: 3}`',
        }),
      );
    }
    if (alias.policy === 'best' && !alias.metric) {
      out.push(
        error('alias-metric', `alias "${name}" uses policy "best" and needs a metric`, {
          path,
          hint: spec.gate ? `add \`metric: ${spec.gate.metric}\`` : 'add `metric: val_loss`',
        }),
      );
    }
    if (alias.policy !== 'best' && (alias.metric !== undefined || alias.goal !== undefined)) {
      out.push(
        error('alias-metric', `alias "${name}": \`metric\` and \`goal\` apply only to policy "best"`, {
          path: [...path, alias.metric !== undefined ? 'metric' : 'goal'],
        }),
      );
    }
  }
  return out;
}
