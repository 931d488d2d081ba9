import { Type, type Static } from '@sinclair/typebox';
import { Cron } from 'croner';
import { nextCronFire } from './cron-fires.js';
import { error, type Diagnostic } from './diagnostic.js';
import { instantOf, parseLocalDateTime } from './local-date-time.js';
import { didYouMean } from './suggest.js';
import { StringEnum, Strict } from './schema-helpers.js';
import { ScheduleTriggerSchema, type QualityMetric, type ScheduleTrigger } from './monitoring.js';
import { DURATION_PATTERN } from './training-run.js';
import type { DeployedEndpointSpec } from './deployed-endpoint.js';

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
    at: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Fires once, at this local date-time (`2026-12-24T06:00`, no offset), instead of `cron` or `every`.',
      }),
    ),
    timeZone: Type.String({
      minLength: 1,
      description: 'IANA time zone the cron or `at` is read in, e.g. `Europe/Warsaw`.',
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
    triggers: Type.Optional(
      Type.Array(ScheduleTriggerSchema, {
        minItems: 1,
        maxItems: 10,
        description:
          'Also fire on a signal: an endpoint that drifted or whose live quality is past a bound (README "Monitoring").',
      }),
    ),
    // Optional without a schema default, so that schedules applied before it existed keep their hash.
    cooldown: Type.Optional(
      Type.String({
        pattern: DURATION_PATTERN,
        description: 'Least time between two runs fired by `triggers`, e.g. `6h` (default `24h`).',
      }),
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

/** Runs on the raw (not yet normalised) spec so errors can point at `cron`, `every` or `at`. */
export function checkScheduleSpec(spec: ScheduleSpec): Diagnostic[] {
  const out: Diagnostic[] = [];
  const base = ['spec'];
  const whens = [spec.cron, spec.every, spec.at].filter((w) => w !== undefined).length;
  // With `triggers` and no time the Schedule fires on a signal only.
  if (whens !== 1 && !signalOnly(spec)) {
    out.push(
      error('schedule-when', 'a Schedule needs exactly one of `cron`, `every` or `at`', {
        path: base,
        hint:
          'e.g. `cron: "0 9 * * 1"`, `every: {hours: 6}` or `at: "2026-12-24T06:00"` (once)' +
          (whens === 0 ? '; or only `triggers`, to fire on a signal' : ''),
      }),
    );
  }
  out.push(...checkTriggers(spec));
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
  const zoneOk = checkTimeZone(spec.timeZone, out);
  if (spec.cron !== undefined) checkCron(expandCron(spec.cron), out);
  if (spec.at !== undefined) checkAt(spec.at, zoneOk ? spec.timeZone : undefined, out);
  return out;
}

/** The endpoint a trigger watches and which kind of signal it is. */
export function triggerTarget(trigger: ScheduleTrigger): { type: 'drift' | 'quality'; endpoint: string } {
  return 'drift' in trigger
    ? { type: 'drift', endpoint: trigger.drift.endpoint }
    : { type: 'quality', endpoint: trigger.quality.endpoint };
}

/** A Schedule that fires on a signal only: `triggers` and no `cron`, `every` or `at`. */
export const signalOnly = (spec: Pick<ScheduleSpec, 'cron' | 'every' | 'at' | 'triggers'>): boolean =>
  spec.triggers !== undefined && spec.cron === undefined && spec.every === undefined && spec.at === undefined;

/**
 * What the schema cannot say about `triggers` on its own (the endpoint's side is checked against
 * the stack by the loader): a quality bound points the metric's way, and the cooldown is read
 * from the last run the schedule fired, so history keeps one.
 */
function checkTriggers(spec: ScheduleSpec): Diagnostic[] {
  const out: Diagnostic[] = [];
  (spec.triggers ?? []).forEach((trigger, i) => {
    if (!('quality' in trigger)) return;
    const path = ['spec', 'triggers', i, 'quality'];
    const { metric, max, min } = trigger.quality;
    const bound = QUALITY_BOUND[metric];
    const wrong = bound === 'max' ? min : max;
    if (wrong !== undefined) {
      out.push(
        error(
          'trigger-bound',
          `${metric} is ${bound === 'max' ? 'an error' : 'a score'}: bound it with \`${bound}\`, not \`${bound === 'max' ? 'min' : 'max'}\``,
          {
            path: [...path, bound === 'max' ? 'min' : 'max'],
            hint: `write \`${bound}: ${wrong}\` (fire when ${metric} is ${bound === 'max' ? 'above' : 'below'} it)`,
          },
        ),
      );
    } else if ((bound === 'max' ? max : min) === undefined) {
      out.push(
        error('trigger-bound', `a quality trigger on ${metric} needs \`${bound}\``, {
          path,
          hint: `e.g. \`${bound}: ${bound === 'max' ? '3.5' : '0.8'}\`: fire when ${metric} is ${bound === 'max' ? 'above' : 'below'} it`,
        }),
      );
    }
  });
  if (spec.triggers !== undefined && (spec.history?.successful === 0 || spec.history?.failed === 0)) {
    out.push(
      error('trigger-history', 'a Schedule with `triggers` must keep at least one run of each outcome', {
        path: ['spec', 'history'],
        hint: 'its cooldown is read from the last run it fired: set `history.successful` and `history.failed` to 1 or more',
      }),
    );
  }
  return out;
}

/**
 * A trigger against the endpoint it watches (the loader's cross-resource check): the endpoint
 * must have `spec.monitoring` (nothing is observed otherwise), and a quality trigger must watch
 * the metric the endpoint's monitoring reports. `endpointSpec` is undefined for a dangling name
 * (reported as a dangling reference).
 */
export function checkTriggerEndpoints(
  spec: ScheduleSpec,
  endpointSpec: (name: string) => DeployedEndpointSpec | undefined,
): Diagnostic[] {
  const out: Diagnostic[] = [];
  (spec.triggers ?? []).forEach((trigger, i) => {
    const { type, endpoint: name } = triggerTarget(trigger);
    const path = ['spec', 'triggers', i, type, 'endpoint'];
    const endpoint = endpointSpec(name);
    if (!endpoint) return;
    const monitoring = endpoint.monitoring;
    if (!monitoring) {
      out.push(
        error(
          'trigger-unmonitored',
          `DeployedEndpoint "${name}" has no \`monitoring\`: nothing would fire this trigger`,
          {
            path,
            hint: `add \`monitoring: {}\` (or \`monitoring: {window: 1h}\`) to the spec of DeployedEndpoint "${name}"`,
          },
        ),
      );
      return;
    }
    if ('quality' in trigger && monitoring.quality && monitoring.quality.metric !== trigger.quality.metric) {
      out.push(
        error(
          'trigger-metric',
          `DeployedEndpoint "${name}" reports live ${monitoring.quality.metric}, not ${trigger.quality.metric}`,
          {
            path: ['spec', 'triggers', i, 'quality', 'metric'],
            hint: `watch \`metric: ${monitoring.quality.metric}\`, or change the endpoint's \`monitoring.quality.metric\``,
          },
        ),
      );
    }
  });
  return out;
}

/** Which way a live metric is bounded: errors from above, scores from below. */
export const QUALITY_BOUND: Record<QualityMetric, 'max' | 'min'> = {
  mae: 'max',
  rmse: 'max',
  accuracy: 'min',
};

function checkAt(at: string, timeZone: string | undefined, out: Diagnostic[]): void {
  const path = ['spec', 'at'];
  const parsed = parseLocalDateTime(at);
  if (parsed.status === 'offset') {
    out.push(
      error('schedule-at', `"${at}" has a UTC offset; \`at\` is a local date-time`, {
        path,
        hint: `write local time, the zone is \`timeZone\`: e.g. "${parsed.local}"`,
      }),
    );
    return;
  }
  if (parsed.status === 'invalid') {
    out.push(
      error('schedule-at', `"${at}" is not a valid local date-time`, {
        path,
        hint: 'write YYYY-MM-DDTHH:MM, e.g. "2026-12-24T06:00" (seconds optional)',
      }),
    );
    return;
  }
  if (parsed.value.second !== 0) {
    out.push(
      error('schedule-at', `"${at}" has seconds; schedules fire on the minute`, {
        path,
        hint: 'Cloud Scheduler fires at most once a minute: drop the seconds or write :00',
      }),
    );
    return;
  }
  if (timeZone !== undefined && !instantOf(parsed.value, timeZone)) {
    out.push(
      error('schedule-at', `${at} does not exist in ${timeZone}: the clocks skip it (daylight saving)`, {
        path,
        hint: 'pick a time outside the hour the clocks move forward',
      }),
    );
  }
}

/** The instant of a one-off schedule, undefined for a recurring one or an `at` that names none. */
export function atInstant(spec: Pick<ScheduleSpec, 'at' | 'timeZone'>): Date | undefined {
  if (spec.at === undefined) return undefined;
  const parsed = parseLocalDateTime(spec.at);
  if (parsed.status !== 'ok') return undefined;
  try {
    return instantOf(parsed.value, spec.timeZone);
  } catch {
    return undefined;
  }
}

/**
 * Where a one-off schedule stands: `pending` before its instant; `due` after it, unfired but
 * within `startingDeadlineSeconds` (fired late, as a missed cron fire is); `done` once it fired at
 * or after its instant; `missed` when the deadline passed unfired (never fired: like a missed cron
 * fire, it is skipped, not run late). Undefined for a recurring schedule.
 */
export type OnceState = 'pending' | 'due' | 'done' | 'missed';

export function onceState(
  spec: Pick<ScheduleSpec, 'at' | 'timeZone' | 'startingDeadlineSeconds'>,
  lastFireTime: string | undefined,
  now: Date,
): { state: OnceState; at: Date } | undefined {
  const at = atInstant(spec);
  if (!at) return undefined;
  if (lastFireTime !== undefined && Date.parse(lastFireTime) >= at.getTime()) return { state: 'done', at };
  if (now.getTime() < at.getTime()) return { state: 'pending', at };
  const deadlineMs = (spec.startingDeadlineSeconds ?? 3600) * 1000;
  return { state: now.getTime() - at.getTime() <= deadlineMs ? 'due' : 'missed', at };
}

/** A one-off schedule that is done or missed fires never again: it is paused wherever it lives. */
export function onceOver(
  spec: Pick<ScheduleSpec, 'at' | 'timeZone' | 'startingDeadlineSeconds'>,
  lastFireTime: string | undefined,
  now: Date,
): boolean {
  const state = onceState(spec, lastFireTime, now)?.state;
  return state === 'done' || state === 'missed';
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

/** False when the zone is unknown (reported). */
function checkTimeZone(timeZone: string, out: Diagnostic[]): boolean {
  const path = ['spec', 'timeZone'];
  if (!zones) {
    const list = Intl.supportedValuesOf('timeZone');
    zones = { list, set: new Set(list) };
  }
  if (zones.set.has(timeZone)) return true;
  const sameButCase = zones.list.find((z) => z.toLowerCase() === timeZone.toLowerCase());
  if (sameButCase) {
    out.push(
      error('time-zone', `time zone "${timeZone}" has the wrong case; IANA names are case-sensitive`, {
        path,
        hint: `did you mean "${sameButCase}"?`,
      }),
    );
    return false;
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
    return false;
  }
  return true;
}

/** The next fire time after `from`, for plans and `mlform get`; a one-off's instant while ahead. */
export function nextFireTime(spec: ScheduleSpec, from: Date = new Date()): Date | undefined {
  if (spec.at !== undefined) {
    const at = atInstant(spec);
    return at && !spec.suspend && at.getTime() > from.getTime() ? at : undefined;
  }
  const cron = normalizeScheduleSpec(spec).cron;
  if (!cron || spec.suspend) return undefined;
  return nextCronFire(cron, spec.timeZone, from);
}
