/**
 * `GET /api/v1/schedules?name=&from=&days=`: every Schedule (or one) with its fire times in the
 * window, its suspension, its last fire and the runs it started (newest 10), paged by name.
 */
import { addressOf } from '../../../resources/address.js';
import { lastFireOf, onceStatus } from '../../engine/once-schedule.js';
import { signalOnly } from '../../../resources/schedule.js';
import type { ApiRoute, ScheduleItem, SchedulesDoc } from '../api.js';
import type { StackSnapshot, ViewIO, ViewResult } from '../snapshot.js';
import { page } from '../cursor.js';
import { documentHeader } from './document-header.js';
import { notFound } from './not-found.js';
import { overviewItem } from './resource-items.js';
import { firesBetween } from './schedule-fires.js';
import {
  gateMetricOf,
  modelOfRun,
  namesOf,
  scheduleSpecOf,
  stackIndex,
  type StackIndex,
} from './stack-index.js';
import { runSummary } from './training-run.js';

type SchedulesRoute = Extract<ApiRoute, { view: 'schedules' }>;

const RUNS_SHOWN = 10;
const DAY_MS = 86_400_000;

export function buildSchedules(route: SchedulesRoute, snapshot: StackSnapshot, io: ViewIO): ViewResult {
  const index = stackIndex(snapshot);
  const now = io.now();
  const all = namesOf(index, 'Schedule').sort();
  if (route.name !== undefined && !all.includes(route.name)) return notFound('Schedule', route.name, all);
  const names = route.name !== undefined ? [route.name] : all;
  const from = route.from ?? now;
  const to = new Date(from.getTime() + route.days * DAY_MS);
  const { items: shown, nextCursor } = page(names, route.offset, route.limit);
  const doc: SchedulesDoc = {
    ...documentHeader(snapshot),
    window: { from: from.toISOString(), to: to.toISOString() },
    items: shown.flatMap((name) => {
      const item = scheduleItem(index, name, from, to, now);
      return item ? [item] : [];
    }),
    matched: names.length,
    nextCursor,
  };
  return { status: 200, doc };
}

function scheduleItem(
  index: StackIndex,
  name: string,
  from: Date,
  to: Date,
  now: Date,
): ScheduleItem | undefined {
  const status = index.statuses.get(addressOf('Schedule', name));
  const spec = scheduleSpecOf(index, name);
  if (!status || !spec) return undefined;
  const observed = index.schedules.get(name);
  const runs = index.runsBySchedule.get(name) ?? [];
  const lastFire = lastFireOf(observed, runs);
  const once = onceStatus(spec, lastFire, now);
  // A one-off paused after its fire is finished, not suspended (as `mlform get` says).
  // A signal-only schedule's job is paused by design on gcp: only `suspend` suspends it.
  const suspended =
    spec.suspend ||
    (observed?.paused === true && !signalOnly(spec) && (once === undefined || once.state === 'pending'));
  const gate = gateMetricOf(index, modelOfRun(index, spec.trainingRun));
  return {
    resource: overviewItem(index, status, now),
    cron: spec.at !== undefined ? null : (spec.cron ?? null),
    at: spec.at ?? null,
    timeZone: spec.timeZone,
    suspended,
    concurrencyPolicy: spec.concurrencyPolicy,
    template: spec.trainingRun,
    nextFires: once && once.state !== 'pending' ? [] : firesBetween(spec, from, to),
    lastFireTime: lastFire ?? null,
    runs: runs.slice(0, RUNS_SHOWN).map((r) => runSummary(r, gate)),
  };
}
