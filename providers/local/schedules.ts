/**
 * Schedules: `schedules/<name>/schedule.json` holds the spec and its template TrainingRun,
 * resolved at put time, so firing needs no manifests. Locally nothing fires by itself: `mlform
 * trigger` and the controller's clock call `trigger`, which launches a run of the template under
 * the template's name with `schedule` set, honouring concurrencyPolicy and the history limits.
 */
import { join, resolve } from 'node:path';
import { runRef, scheduleAddress } from '../../resources/address.js';
import { error, warning } from '../../resources/diagnostic.js';
import { onceOver } from '../../resources/schedule.js';
import {
  ACTIVE_RUN_STATES,
  ownershipLabels,
  type ObservedRun,
  type ObservedSchedule,
  type ProviderContext,
  type PutScheduleRequest,
  type Response,
  type TriggerScheduleRequest,
} from '../provider.js';
import { firedByTriggerAnnotations } from '../../monitoring/trigger.js';
import { ScheduleRecordSchema, TemplateSpecSchema, type ScheduleRecord } from './records.js';
import { cancelRun, createRun, deleteFinishedRun, listRunsNamed, nextRunNumber } from './runs.js';
import { stateRoot, type LocalSettings } from './settings.js';
import {
  checkName,
  checkValue,
  FILES,
  foreign,
  listDir,
  readRecord,
  readRecords,
  removeDir,
  stateError,
  statePaths,
  writeJsonAtomic,
} from './state-dir.js';

function recordPath(settings: LocalSettings, ctx: ProviderContext, name: string): string {
  return join(statePaths(stateRoot(settings, ctx)).schedule(name), FILES.schedule);
}

function toObserved(record: ScheduleRecord, now: Date): ObservedSchedule {
  return {
    name: record.name,
    specHash: record.specHash,
    spec: record.spec,
    annotations: record.annotations,
    ...(record.lastFireTime !== undefined && { lastFireTime: record.lastFireTime }),
    // Nothing pauses a local schedule but its spec, or a one-off's fire being over (done or
    // missed): there is no live state to drift.
    paused: record.spec.suspend || onceOver(record.spec, record.lastFireTime, now),
  };
}

export async function listSchedules(
  settings: LocalSettings,
  ctx: ProviderContext,
): Promise<Response & { items: ObservedSchedule[] }> {
  try {
    const names = await listDir(statePaths(stateRoot(settings, ctx)).schedules);
    const read = await readRecords(
      names.map((name) => ({ path: recordPath(settings, ctx, name), address: scheduleAddress(name) })),
      ScheduleRecordSchema,
    );
    const now = settings.now();
    return {
      items: read.flatMap((r) =>
        r.status === 'ok' && r.value.labels['mlform-stack'] === ctx.stack ? [toObserved(r.value, now)] : [],
      ),
      diagnostics: read.flatMap((r) => (r.status === 'corrupt' ? [r.diagnostic] : [])),
    };
  } catch (e) {
    return { items: [], diagnostics: [stateError('Schedule', 'listing schedules', e)] };
  }
}

export async function putSchedule(
  settings: LocalSettings,
  ctx: ProviderContext,
  req: PutScheduleRequest,
): Promise<Response> {
  const address = scheduleAddress(req.name);
  const invalid =
    checkName(req.name, 'Schedule', address) ?? checkName(req.spec.trainingRun, 'TrainingRun', address);
  if (invalid) return { diagnostics: [invalid] };
  const path = recordPath(settings, ctx, req.name);
  try {
    const existing = await readRecord(path, ScheduleRecordSchema, address);
    // Fails closed: never written over a damaged record (the operator repairs or forgets it).
    if (existing.status === 'corrupt') return { diagnostics: [existing.diagnostic] };
    const previous = existing.status === 'ok' ? existing.value : undefined;
    if (previous) {
      const owner = foreign(previous.labels, ctx.stack, address);
      if (owner) return { diagnostics: [owner] };
    }
    const now = settings.now().toISOString();
    const record: ScheduleRecord = {
      formatVersion: 1,
      name: req.name,
      specHash: req.specHash,
      labels: { ...req.labels, ...ownershipLabels(ctx.stack, 'Schedule', req.name, req.specHash) },
      annotations: req.annotations,
      spec: req.spec,
      template: {
        name: req.spec.trainingRun,
        spec: req.template.spec,
        specHash: req.template.specHash,
        manifestPath: resolve(ctx.projectDir, req.template.manifestPath),
      },
      // Firing history survives spec changes, as Cloud Scheduler keeps a job's last attempt.
      ...(previous?.lastFireTime !== undefined && { lastFireTime: previous.lastFireTime }),
      createdAt: previous?.createdAt ?? now,
      updatedAt: now,
    };
    await writeJsonAtomic(path, record);
    return { diagnostics: [] };
  } catch (e) {
    return { diagnostics: [stateError(address, 'writing the schedule', e)] };
  }
}

export async function deleteSchedule(
  settings: LocalSettings,
  ctx: ProviderContext,
  req: { name: string },
): Promise<Response> {
  const address = scheduleAddress(req.name);
  const invalid = checkName(req.name, 'Schedule', address);
  if (invalid) return { diagnostics: [invalid] };
  try {
    const existing = await readRecord(recordPath(settings, ctx, req.name), ScheduleRecordSchema, address);
    if (existing.status === 'corrupt') return { diagnostics: [existing.diagnostic] };
    if (existing.status === 'ok') {
      const owner = foreign(existing.value.labels, ctx.stack, address);
      if (owner) return { diagnostics: [owner] };
    }
    // Runs it fired stay: they are TrainingRun history, and registered versions point at them.
    await removeDir(statePaths(stateRoot(settings, ctx)).schedule(req.name));
    return { diagnostics: [] };
  } catch (e) {
    return { diagnostics: [stateError(address, 'deleting the schedule', e)] };
  }
}

/** Finished scheduled runs beyond `history` are removed, newest kept (CronJob's history limits). */
async function pruneHistory(
  settings: LocalSettings,
  ctx: ProviderContext,
  runs: ObservedRun[],
  history: ScheduleRecord['spec']['history'],
): Promise<void> {
  const newestFirst = [...runs].sort((a, b) => b.number - a.number);
  const succeeded = newestFirst.filter((r) => r.state === 'succeeded');
  const failed = newestFirst.filter((r) => r.state === 'failed' || r.state === 'cancelled');
  for (const run of [...succeeded.slice(history.successful), ...failed.slice(history.failed)]) {
    await deleteFinishedRun(settings, ctx, run).catch(() => undefined);
  }
}

export async function triggerSchedule(
  settings: LocalSettings,
  ctx: ProviderContext,
  req: TriggerScheduleRequest,
): Promise<Response & { run?: ObservedRun }> {
  const address = scheduleAddress(req.name);
  const invalid = checkName(req.name, 'Schedule', address);
  if (invalid) return { diagnostics: [invalid] };
  const path = recordPath(settings, ctx, req.name);
  // `lastFireTime` is the clock's: a fire on a signal leaves it, so it neither counts as a
  // one-off's fire nor hides a missed cron time. The run itself records the signal.
  const onSignal = req.reason !== undefined;
  try {
    const found = await readRecord(path, ScheduleRecordSchema, address);
    if (found.status === 'missing') {
      return {
        diagnostics: [
          error('local-schedule-not-found', `Schedule "${req.name}" does not exist`, { address }),
        ],
      };
    }
    if (found.status === 'corrupt') return { diagnostics: [found.diagnostic] };
    const schedule = found.value;
    const owner = foreign(schedule.labels, ctx.stack, address);
    if (owner) return { diagnostics: [owner] };
    const { template } = schedule;
    const templateSpec = checkValue(template.spec, TemplateSpecSchema, path, address);
    if (templateSpec.status !== 'ok') {
      return {
        diagnostics: [
          templateSpec.status === 'corrupt'
            ? templateSpec.diagnostic
            : error('local-schedule-template', `Schedule "${req.name}" has no template spec`, { address }),
        ],
      };
    }
    const firedAt = settings.now().toISOString();

    const previous = await listRunsNamed(settings, ctx, template.name);
    const ours = previous.items.filter((r) => r.schedule === schedule.name);
    const active = ours.filter((r) => ACTIVE_RUN_STATES.includes(r.state));
    const policy = schedule.spec.concurrencyPolicy;
    if (active.length > 0 && policy === 'Forbid') {
      // The fire happened and was skipped: recorded, so a clock does not fire the same time again.
      if (!onSignal) await writeJsonAtomic(path, { ...schedule, lastFireTime: firedAt });
      const names = active.map(runRef).join(', ');
      return {
        diagnostics: [
          warning(
            'schedule-skipped',
            `skipped: previous run still running (${names}; concurrencyPolicy Forbid)`,
            {
              address,
              hint: 'wait for it, cancel it, or set concurrencyPolicy: Replace',
            },
          ),
        ],
      };
    }
    if (policy === 'Replace') {
      for (const run of active) {
        const cancelled = await cancelRun(settings, ctx, run);
        if (cancelled.diagnostics.length > 0) return { diagnostics: cancelled.diagnostics };
      }
    }

    const number = await nextRunNumber(settings, ctx, template.name);
    const created = await createRun(settings, ctx, {
      name: template.name,
      number,
      spec: templateSpec.value,
      specHash: template.specHash,
      attempt: 1,
      manifestPath: template.manifestPath,
      schedule: schedule.name,
      labels: { 'mlform-schedule': schedule.name },
      annotations: onSignal ? firedByTriggerAnnotations(req.reason ?? '', new Date(firedAt)) : {},
    });
    if (created.run) {
      if (!onSignal) await writeJsonAtomic(path, { ...schedule, lastFireTime: firedAt });
      await pruneHistory(settings, ctx, ours, schedule.spec.history);
    }
    return { ...created, diagnostics: [...previous.diagnostics, ...created.diagnostics] };
  } catch (e) {
    return { diagnostics: [stateError(address, 'firing', e)] };
  }
}
