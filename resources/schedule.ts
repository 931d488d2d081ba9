import { Type, type Static } from '@sinclair/typebox';
import { Cron } from 'croner';
import { error, type Diagnostic } from './diagnostic.js';
import { didYouMean } from './suggest.js';
import { StringEnum, Strict } from './schema-helpers.js';

export const CONCURRENCY_POLICIES = ['Forbid', 'Allow', 'Replace'] as const;

/** Helpers users know from crontab; expanded to 5-field expressions that Cloud Scheduler accepts. */
export const CRON_HELPERS: Record<string, string> = {
  hourly: '0 * * * *',
  daily: '0 0 * * *',
  weekly: '0 0 * * 0',
  monthly: '0 0 1 * *',
};

export const ScheduleSpecSchema = Type.Object(
  {
    trainingRun: Type.String({ description: 'TrainingRun used as the template of each scheduled run.' }),
    cron: Type.Optional(
      Type.String({
        minLength: 1,
        description: '5-field cron expression, or hourly | daily | weekly | monthly (also with a leading @).',
      }),
    ),
    every: Type.Optional(
      Type.Object(
        {
          minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 30, description: 'A divisor of 60.' })),
          hours: Type.Optional(Type.Integer({ minimum: 1, maximum: 12, description: 'A divisor of 24.' })),
          days: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 1, description: 'Only 1: cron cannot space days evenly.' }),
          ),
        },
        { ...Strict, description: 'Interval shorthand, instead of `cron`; exactly one unit.' },
      ),
    ),
    timeZone: Type.String({
      minLength: 1,
      description: 'IANA time zone the cron is read in, e.g. `Europe/Warsaw`.',
    }),
    suspend: Type.Boolean({ default: false, description: 'Pause firing without deleting the schedule.' }),
    concurrencyPolicy: StringEnum(CONCURRENCY_POLICIES, {
      default: 'Forbid',
      description:
        'When the previous run is still going: Forbid skips, Allow runs both, Replace cancels the old one.',
    }),
    startingDeadlineSeconds: Type.Integer({
      minimum: 0,
      maximum: 86400,
      default: 3600,
      description: 'A fire time missed (controller down) by more than this is skipped, not run late.',
    }),
    history: Type.Object(
      {
        successful: Type.Integer({
          minimum: 0,
          maximum: 100,
          default: 5,
          description: 'Succeeded runs kept.',
        }),
        failed: Type.Integer({ minimum: 0, maximum: 100, default: 3, description: 'Failed runs kept.' }),
      },
      { ...Strict, default: {}, description: 'How many scheduled runs to keep.' },
    ),
  },
  { ...Strict, description: 'Retrains on a schedule.' },
);
export type ScheduleSpec = Static<typeof ScheduleSpecSchema>;

/** `every` and helper names become one 5-field cron expression, so equal schedules hash equal. */
export function normalizeScheduleSpec(spec: ScheduleSpec): ScheduleSpec {
  const { every, ...rest } = spec;
  const cron = spec.cron !== undefined ? expandCron(spec.cron) : every ? everyToCron(every) : undefined;
  return cron === undefined ? spec : { ...rest, cron };
}

function expandCron(cron: string): string {
  const trimmed = cron.trim().replace(/\s+/g, ' ');
  return CRON_HELPERS[trimmed.replace(/^@/, '')] ?? trimmed;
}

function everyToCron(every: NonNullable<ScheduleSpec['every']>): string | undefined {
  if (every.minutes !== undefined) return `*/${every.minutes} * * * *`;
  if (every.hours !== undefined) return `0 */${every.hours} * * *`;
  if (every.days !== undefined) return '0 0 * * *';
  return undefined;
}

/** Runs on the raw (not yet normalised) spec so errors can point at `cron` or `every`. */
export function checkScheduleSpec(spec: ScheduleSpec): Diagnostic[] {
  const out: Diagnostic[] = [];
  const base = ['spec'];
  if ((spec.cron === undefined) === (spec.every === undefined)) {
    out.push(
      error('schedule-when', 'a Schedule needs exactly one of `cron` or `every`', {
        path: base,
        hint: 'e.g. `cron: "0 9 * * 1"` or `every: {hours: 6}`',
      }),
    );
  }
  if (spec.every) {
    const units = (['minutes', 'hours', 'days'] as const).filter((u) => spec.every?.[u] !== undefined);
    if (units.length !== 1) {
      out.push(
        error('schedule-every', '`every` needs exactly one of minutes, hours, days', {
          path: [...base, 'every'],
        }),
      );
    } else if (units[0] === 'minutes' && 60 % (spec.every.minutes ?? 1) !== 0) {
      out.push(
        error('schedule-every', `every ${spec.every.minutes} minutes does not divide an hour evenly`, {
          path: [...base, 'every', 'minutes'],
          hint: 'use 1, 2, 3, 4, 5, 6, 10, 12, 15, 20 or 30, or write a cron expression',
        }),
      );
    } else if (units[0] === 'hours' && 24 % (spec.every.hours ?? 1) !== 0) {
      out.push(
        error('schedule-every', `every ${spec.every.hours} hours does not divide a day evenly`, {
          path: [...base, 'every', 'hours'],
          hint: 'use 1, 2, 3, 4, 6, 8 or 12, or write a cron expression',
        }),
      );
    }
  }
  checkTimeZone(spec.timeZone, out);
  if (spec.cron !== undefined) checkCron(expandCron(spec.cron), out);
  return out;
}

function checkCron(cron: string, out: Diagnostic[]): void {
  const path = ['spec', 'cron'];
  const fields = cron.split(' ');
  if (fields.length !== 5) {
    out.push(
      error(
        'cron-fields',
        `cron "${cron}" has ${fields.length} fields; 5 are needed (minute hour day month weekday)`,
        {
          path,
          hint:
            fields.length === 6
              ? 'drop the seconds field: Cloud Scheduler fires at most once a minute'
              : undefined,
        },
      ),
    );
    return;
  }
  const problem = cronProblem(cron);
  if (problem === 'never') {
    out.push(
      error('cron-never', `cron "${cron}" never fires`, {
        path,
        hint: 'check the day and month fields (no 30 February)',
      }),
    );
  } else if (problem !== undefined) {
    out.push(
      error('cron-invalid', `invalid cron "${cron}": ${problem}`, {
        path,
        hint: 'e.g. "0 9 * * 1" is 09:00 every Monday',
      }),
    );
  }
}

/**
 * Parsing a pattern and searching its next fire time is ~1 ms in croner; schedules repeat a handful
 * of expressions, so results are memoised. Whether a pattern ever fires does not depend on the zone.
 */
const cronProblems = new Map<string, string | undefined>();

function cronProblem(cron: string): string | undefined {
  if (cronProblems.has(cron)) return cronProblems.get(cron);
  let problem: string | undefined;
  try {
    if (!new Cron(cron, { paused: true }).nextRun()) problem = 'never';
  } catch (e) {
    problem = e instanceof Error ? e.message.replace(/^CronPattern: /, '') : String(e);
  }
  if (cronProblems.size > 10_000) cronProblems.clear();
  cronProblems.set(cron, problem);
  return problem;
}

let zones: { list: string[]; set: Set<string> } | undefined;

function checkTimeZone(timeZone: string, out: Diagnostic[]): void {
  const path = ['spec', 'timeZone'];
  if (!zones) {
    const list = Intl.supportedValuesOf('timeZone');
    zones = { list, set: new Set(list) };
  }
  if (zones.set.has(timeZone)) return;
  const sameButCase = zones.list.find((z) => z.toLowerCase() === timeZone.toLowerCase());
  if (sameButCase) {
    out.push(
      error('time-zone', `time zone "${timeZone}" has the wrong case; IANA names are case-sensitive`, {
        path,
        hint: `did you mean "${sameButCase}"?`,
      }),
    );
    return;
  }
  try {
    // Links and aliases the canonical list leaves out (UTC, Etc/UTC, Europe/Kiev) are still valid.
    new Intl.DateTimeFormat('en', { timeZone });
  } catch {
    out.push(
      error('time-zone', `unknown time zone "${timeZone}"`, {
        path,
        hint: didYouMean(timeZone, zones.list) ?? 'use an IANA name such as "Europe/Warsaw" or "UTC"',
      }),
    );
  }
}

/** The next fire time after `from`, for plans and `mlform get`. */
export function nextFireTime(spec: ScheduleSpec, from: Date = new Date()): Date | undefined {
  const cron = normalizeScheduleSpec(spec).cron;
  if (!cron || spec.suspend) return undefined;
  return new Cron(cron, { timezone: spec.timeZone, paused: true }).nextRun(from) ?? undefined;
}
