/**
 * Level-triggered events: the observed state compared with what was last notified (the snapshot,
 * `notifications/snapshot.json` in the stack's state store). Nothing here remembers an edge: every
 * transition is read off two states, so a process that dies anywhere loses nothing — the next one
 * compares the same snapshot with the state it sees and derives the same events (same ids).
 *
 * Pure: `deriveEvents(snapshot, input)` returns the events and the next snapshot; the caller writes
 * the events to the outbox first and only then moves the snapshot (outbox.ts).
 */
import { Type, type Static } from '@sinclair/typebox';
import {
  deployedEndpointAddress,
  registeredModelAddress,
  runAddress,
  runRef,
  scheduleAddress,
} from '../../resources/address.js';
import type { ObservedEndpoint, ObservedRun, ObservedState } from '../../providers/provider.js';
import { describeCommand, makeEvent, type EventInput, type NotificationEvent } from './events.js';
import { triggerReasonOf } from '../../monitoring/trigger.js';

const Health = Type.Union([Type.Literal('ok'), Type.Literal('bad'), Type.Literal('unknown')]);

export const NotifiedSnapshotSchema = Type.Object({
  version: Type.Literal(1),
  takenAt: Type.String(),
  /** `name#number` -> the state last notified. */
  runs: Type.Record(Type.String(), Type.String()),
  /** model -> registered version numbers. */
  versions: Type.Record(Type.String(), Type.Array(Type.Integer())),
  /** model -> alias -> version. */
  aliases: Type.Record(Type.String(), Type.Record(Type.String(), Type.Integer())),
  endpoints: Type.Record(
    Type.String(),
    Type.Object({
      /** Spec hash and live traffic of the last rollout notified. */
      rollout: Type.String(),
      /** The rollout was notified (done); false while the endpoint is not serving it yet. */
      settled: Type.Boolean(),
      drift: Health,
      quality: Health,
    }),
  ),
  /** Version addresses (`RegisteredModel/m/versions/run#n`) whose gate rejection was notified. */
  gateRejected: Type.Array(Type.String()),
  /** Signal-fired runs whose trigger was notified. */
  triggered: Type.Array(Type.String()),
  /** endpoint -> the rollout target whose failure was notified (until a rollout is done). */
  rolloutFailed: Type.Optional(Type.Record(Type.String(), Type.String())),
});
export type NotifiedSnapshot = Static<typeof NotifiedSnapshotSchema>;

/** A gate rejection as the plan reports it (engine/plan-models.ts: a noticed noop per run). */
export interface GateRejection {
  /** `RegisteredModel/<model>/versions/<run>#<n>`. */
  address: string;
  model: string;
  run: string;
  reason: string;
}

/** An endpoint change apply could not carry out (not observed state: apply reports it). */
export interface FailedRollout {
  endpoint: string;
  /** What it tried to roll out (spec hash and traffic), the identity of the failure. */
  target: string;
  reason: string;
}

export interface DeriveInput {
  stack: string;
  observed: ObservedState;
  gateRejections: readonly GateRejection[];
  failedRollouts?: readonly FailedRollout[];
  now: Date;
}

const rolloutKey = (e: ObservedEndpoint): string =>
  `${e.specHash}|${[...e.traffic]
    .sort((a, b) => a.version - b.version)
    .map((t) => `v${t.version}:${t.percent}`)
    .join(',')}`;

const trafficText = (e: ObservedEndpoint): string =>
  e.traffic.map((t) => `v${t.version} ${t.percent}%`).join(', ') || 'no traffic';

const driftOf = (e: ObservedEndpoint): 'ok' | 'bad' | 'unknown' =>
  e.monitoring === undefined || e.monitoring.drift === 'unknown'
    ? 'unknown'
    : e.monitoring.drift === 'drifted'
      ? 'bad'
      : 'ok';

const qualityOf = (e: ObservedEndpoint): 'ok' | 'bad' | 'unknown' =>
  e.monitoring?.quality === undefined ? 'unknown' : e.monitoring.quality.degraded ? 'bad' : 'ok';

/** What the state says now, as a snapshot (also the baseline of a stack never notified). */
export function snapshotOf(input: DeriveInput): NotifiedSnapshot {
  const { observed } = input;
  return {
    version: 1,
    takenAt: input.now.toISOString(),
    runs: Object.fromEntries(observed.runs.map((r) => [runRef(r), r.state])),
    versions: Object.fromEntries(
      observed.models.map((m) => [m.name, m.versions.map((v) => v.version).sort((a, b) => a - b)]),
    ),
    aliases: Object.fromEntries(observed.models.map((m) => [m.name, { ...m.aliases }])),
    endpoints: Object.fromEntries(
      observed.endpoints.map((e) => [
        e.name,
        { rollout: rolloutKey(e), settled: e.healthy, drift: driftOf(e), quality: qualityOf(e) },
      ]),
    ),
    gateRejected: input.gateRejections.map((g) => g.address).sort(),
    triggered: observed.runs
      .filter((r) => triggerReasonOf(r) !== undefined)
      .map(runRef)
      .sort(),
  };
}

function runEvents(run: ObservedRun, before: string | undefined): EventInput[] {
  const resource = runAddress(run);
  const identity = String(run.number);
  const out: EventInput[] = [];
  const facts = {
    run: run.name,
    number: run.number,
    attempt: run.attempt,
    specHash: run.specHash,
    ...(run.schedule && { schedule: run.schedule }),
  };
  if (before === undefined && run.state !== 'cancelled') {
    out.push({
      type: 'run.started',
      resource,
      identity,
      summary: `${runRef(run)} started${run.schedule ? ` (Schedule/${run.schedule})` : ''}`,
      detail: `attempt ${run.attempt}, spec ${run.specHash.slice(0, 12)}; see \`${describeCommand(resource)}\``,
      data: facts,
    });
  }
  if (before === run.state) return out;
  if (run.state === 'succeeded') {
    const metrics = Object.entries(run.metrics ?? {})
      .map(([k, v]) => `${k} ${Number(v.toPrecision(4))}`)
      .join(', ');
    out.push({
      type: 'run.succeeded',
      resource,
      identity,
      summary: `${runRef(run)} succeeded${metrics ? `: ${metrics}` : ''}`,
      detail: `artifact ${run.artifactUri ?? '(none)'}; see \`${describeCommand(resource)}\``,
      data: { ...facts, metrics: run.metrics ?? {} },
    });
  } else if (run.state === 'failed') {
    out.push({
      type: 'run.failed',
      resource,
      identity,
      summary: `${runRef(run)} failed${run.error ? `: ${run.error}` : ''}`,
      detail: `see \`mlform logs trainingrun/${run.name}\``,
      data: { ...facts, ...(run.error && { error: run.error }) },
    });
  }
  return out;
}

function endpointEvents(
  e: ObservedEndpoint,
  before: NotifiedSnapshot['endpoints'][string] | undefined,
): EventInput[] {
  const resource = deployedEndpointAddress(e.name);
  const out: EventInput[] = [];
  const key = rolloutKey(e);
  const newRollout = before === undefined || before.rollout !== key;
  if (e.healthy && (newRollout || !before.settled)) {
    out.push({
      type: 'rollout.done',
      resource,
      identity: key,
      summary: `${resource} serves ${trafficText(e)}`,
      detail: `model ${e.model}${e.url ? ` at ${e.url}` : ''}; see \`${describeCommand(resource)}\``,
      data: { model: e.model, traffic: e.traffic, specHash: e.specHash },
    });
  }
  const m = e.monitoring;
  const drift = driftOf(e);
  const wasDrift = before?.drift ?? 'unknown';
  if (m && drift === 'bad' && wasDrift !== 'bad') {
    const drifted = m.features.filter((f) => f.drifted);
    out.push({
      type: 'drift.detected',
      resource,
      identity: `drift|${m.windowStart ?? ''}`,
      summary: `${resource} drifted: ${drifted.map((f) => `${f.name} ${f.metric} ${Number(f.score.toPrecision(3))} > ${f.threshold}`).join(', ')}`,
      detail: `window ${m.windowStart ?? '?'} to ${m.windowEnd ?? '?'}, ${m.count} requests; see \`${describeCommand(resource)}\``,
      data: { window: { start: m.windowStart, end: m.windowEnd }, count: m.count, features: drifted },
    });
  } else if (m && drift === 'ok' && wasDrift === 'bad') {
    out.push({
      type: 'drift.resolved',
      resource,
      identity: `drift-ok|${m.windowStart ?? ''}`,
      summary: `${resource} no longer drifts`,
      detail: `window ${m.windowStart ?? '?'} to ${m.windowEnd ?? '?'}, ${m.count} requests`,
      data: { window: { start: m.windowStart, end: m.windowEnd }, count: m.count },
    });
  }
  const q = m?.quality;
  const quality = qualityOf(e);
  const wasQuality = before?.quality ?? 'unknown';
  if (q && quality === 'bad' && wasQuality !== 'bad') {
    out.push({
      type: 'quality.degraded',
      resource,
      identity: `quality|${m?.windowStart ?? ''}`,
      summary: `${resource} live ${q.metric} ${Number(q.value.toPrecision(4))} is past its bound`,
      detail: `${q.count} feedback items${q.validation !== undefined ? `; validation ${q.metric} was ${Number(q.validation.toPrecision(4))}` : ''}`,
      data: { quality: q, window: { start: m?.windowStart, end: m?.windowEnd } },
    });
  } else if (q && quality === 'ok' && wasQuality === 'bad') {
    out.push({
      type: 'quality.recovered',
      resource,
      identity: `quality-ok|${m?.windowStart ?? ''}`,
      summary: `${resource} live ${q.metric} ${Number(q.value.toPrecision(4))} is within its bound again`,
      detail: `${q.count} feedback items`,
      data: { quality: q },
    });
  }
  return out;
}

/**
 * The events between `before` and the state in `input`, and the snapshot to keep once they are
 * in the outbox. Without `before` (a stack never notified), the state is the baseline: no events.
 */
export function deriveEvents(
  before: NotifiedSnapshot | undefined,
  input: DeriveInput,
): { events: NotificationEvent[]; next: NotifiedSnapshot } {
  const next = snapshotOf(input);
  if (!before) return { events: [], next };
  const inputs: EventInput[] = [];
  const { observed } = input;
  for (const run of observed.runs) inputs.push(...runEvents(run, before.runs[runRef(run)]));
  const rejected = new Set(before.gateRejected);
  for (const g of input.gateRejections) {
    if (rejected.has(g.address)) continue;
    inputs.push({
      type: 'gate.rejected',
      resource: registeredModelAddress(g.model),
      identity: g.run,
      summary: `${g.run} was not registered in ${g.model}: ${g.reason}`,
      detail: `the gate of ${registeredModelAddress(g.model)} refused it; see \`${describeCommand(registeredModelAddress(g.model))}\``,
      data: { model: g.model, run: g.run, reason: g.reason },
    });
  }
  const triggered = new Set(before.triggered);
  for (const run of observed.runs) {
    const why = triggerReasonOf(run);
    if (why === undefined || triggered.has(runRef(run)) || !run.schedule) continue;
    inputs.push({
      type: 'schedule.triggered',
      resource: scheduleAddress(run.schedule),
      identity: runRef(run),
      summary: `${scheduleAddress(run.schedule)} fired ${runRef(run)}: ${why}`,
      detail: `see \`${describeCommand(runAddress(run))}\``,
      data: { schedule: run.schedule, run: runRef(run), reason: why },
    });
  }
  for (const m of observed.models) {
    const resource = registeredModelAddress(m.name);
    const known = new Set(before.versions[m.name] ?? []);
    for (const v of m.versions) {
      if (known.has(v.version)) continue;
      inputs.push({
        type: 'version.registered',
        resource,
        identity: `v${v.version}`,
        summary: `${m.name} v${v.version} registered from ${runRef(v.run)}`,
        detail: Object.entries(v.metrics)
          .map(([k, value]) => `${k} ${Number(value.toPrecision(4))}`)
          .join(', '),
        data: { model: m.name, version: v.version, run: runRef(v.run), metrics: v.metrics },
      });
    }
    const aliases = before.aliases[m.name] ?? {};
    for (const [alias, version] of Object.entries(m.aliases).sort(([a], [b]) => a.localeCompare(b))) {
      const previous = aliases[alias];
      if (previous === version) continue;
      inputs.push({
        type: 'alias.moved',
        resource,
        identity: `${alias}|${previous ?? 'none'}|${version}`,
        summary: `${m.name} ${alias} ${previous === undefined ? 'set to' : `v${previous} ->`} v${version}`,
        detail: `see \`${describeCommand(resource)}\``,
        data: { model: m.name, alias, version, previous: previous ?? null },
      });
    }
  }
  for (const e of observed.endpoints) inputs.push(...endpointEvents(e, before.endpoints[e.name]));
  const failedBefore = before.rolloutFailed ?? {};
  const failedNext: Record<string, string> = {};
  for (const [name, target] of Object.entries(failedBefore)) {
    // A rollout done since clears the failure: the same target failing again is news again.
    if (!inputs.some((i) => i.type === 'rollout.done' && i.resource === deployedEndpointAddress(name))) {
      failedNext[name] = target;
    }
  }
  for (const f of input.failedRollouts ?? []) {
    if (failedNext[f.endpoint] === f.target) continue;
    failedNext[f.endpoint] = f.target;
    const resource = deployedEndpointAddress(f.endpoint);
    inputs.push({
      type: 'rollout.failed',
      resource,
      identity: f.target,
      summary: `${resource} rollout failed: ${f.reason}`,
      detail: `see \`${describeCommand(resource)}\``,
      data: { endpoint: f.endpoint, target: f.target, reason: f.reason },
    });
  }
  next.rolloutFailed = failedNext;
  // Drift and quality keep their last known value while a window is unknown (too few requests):
  // a quiet hour is not a recovery.
  for (const [name, entry] of Object.entries(next.endpoints)) {
    const prior = before.endpoints[name];
    if (!prior) continue;
    // A rollout notified once stays notified while the endpoint restarts.
    if (prior.rollout === entry.rollout && prior.settled) entry.settled = true;
    if (entry.drift === 'unknown') entry.drift = prior.drift;
    if (entry.quality === 'unknown') entry.quality = prior.quality;
  }
  return { events: inputs.map((i) => makeEvent(input.stack, input.now, i)), next };
}
