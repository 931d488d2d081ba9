import { describe, expect, it } from 'vitest';
import { deriveEvents, type NotifiedSnapshot } from '../../controller/notify/derive.js';
import { firedByTriggerAnnotations } from '../../monitoring/trigger.js';
import { gateRejectionsOf } from '../../controller/notify/notifier.js';
import type { ObservedEndpoint, ObservedRun, ObservedState } from '../../providers/provider.js';
import type { MonitoringStatus } from '../../monitoring/status.js';
import type { Plan } from '../../controller/engine/change.js';

const now = new Date('2026-12-05T08:00:00Z');
const run = (number: number, state: ObservedRun['state'], extra: Partial<ObservedRun> = {}): ObservedRun => ({
  name: 'mpg-mlp',
  number,
  specHash: 'a'.repeat(64),
  state,
  attempt: 1,
  createdAt: '2026-12-05T07:00:00Z',
  annotations: {},
  ...extra,
});
const endpoint = (extra: Partial<ObservedEndpoint> = {}): ObservedEndpoint =>
  ({
    name: 'mpg',
    specHash: 'e'.repeat(64),
    spec: {},
    annotations: {},
    model: 'mpg',
    traffic: [{ version: 1, percent: 100 }],
    healthy: true,
    ...extra,
  }) as ObservedEndpoint;
const model = (versions: number[], aliases: Record<string, number>) =>
  ({
    name: 'mpg',
    specHash: 'm',
    spec: {},
    annotations: {},
    aliases,
    versions: versions.map((v) => ({
      version: v,
      run: { name: 'mpg-mlp', number: v },
      specHash: 'a',
      artifactUri: '/x',
      metrics: { val_mae: 3.25 },
      baseline: {},
      createdAt: '2026-12-05T07:30:00Z',
    })),
  }) as unknown as ObservedState['models'][number];
const state = (s: Partial<ObservedState>): ObservedState => ({
  runs: [],
  models: [],
  endpoints: [],
  schedules: [],
  ...s,
});
/** The event types, in order, as one string. */
const types = (r: { events: { type: string }[] }) => r.events.map((e) => e.type).join(' ');
const derive = (before: NotifiedSnapshot | undefined, observed: ObservedState, plan?: Plan) =>
  deriveEvents(before, { stack: 'demo', observed, gateRejections: gateRejectionsOf(plan), now });
const drift = (d: MonitoringStatus['drift'], windowStart: string, degraded?: boolean): MonitoringStatus => ({
  windowStart,
  windowEnd: windowStart,
  count: 500,
  drift: d,
  features: [
    {
      name: 'Weight_in_lbs',
      metric: 'psi',
      score: d === 'drifted' ? 0.61 : 0.02,
      threshold: 0.2,
      drifted: d === 'drifted',
    },
  ],
  ...(degraded !== undefined && { quality: { metric: 'mae', value: degraded ? 9 : 3, count: 50, degraded } }),
});

describe('deriveEvents', () => {
  it('takes a baseline and sends nothing on a stack never notified', () => {
    const { events, next } = derive(
      undefined,
      state({ runs: [run(1, 'succeeded')], models: [model([1], { champion: 1 })], endpoints: [endpoint()] }),
    );
    expect(events).toEqual([]);
    expect(next.runs).toEqual({ 'mpg-mlp#1': 'succeeded' });
    expect(next.versions).toEqual({ mpg: [1] });
  });

  it('derives run, version, alias and rollout transitions with deterministic ids', () => {
    const base = derive(
      undefined,
      state({ runs: [run(1, 'succeeded')], models: [model([1], { champion: 1 })], endpoints: [endpoint()] }),
    ).next;
    const running = state({
      runs: [run(1, 'succeeded'), run(2, 'running')],
      models: [model([1], { champion: 1 })],
      endpoints: [endpoint()],
    });
    const first = derive(base, running);
    expect(first.events.map((e) => `${e.type} ${e.resource}`)).toEqual(['run.started TrainingRun/mpg-mlp#2']);
    const done = state({
      runs: [run(1, 'succeeded'), run(2, 'succeeded', { metrics: { val_mae: 3.1 } })],
      models: [model([1, 2], { champion: 2 })],
      endpoints: [endpoint({ traffic: [{ version: 2, percent: 100 }] })],
    });
    const second = derive(first.next, done);
    expect(types(second)).toBe('run.succeeded version.registered alias.moved rollout.done');
    expect(second.events[2].summary).toBe('mpg champion v1 -> v2');
    expect(second.events[3].summary).toBe('DeployedEndpoint/mpg serves v2 100%');
    // A crash before the snapshot moved: the same comparison gives the same ids.
    expect(derive(first.next, done).events.map((e) => e.id)).toEqual(second.events.map((e) => e.id));
    // Once moved, nothing more.
    expect(derive(second.next, done).events).toEqual([]);
  });

  it('reports a run it never saw running as started and finished', () => {
    const base = derive(undefined, state({})).next;
    const events = derive(base, state({ runs: [run(1, 'failed', { error: 'loss is NaN' })] })).events;
    expect(events.map((e) => e.type)).toEqual(['run.started', 'run.failed']);
    expect(events[1].summary).toContain('loss is NaN');
  });

  it('notifies drift and quality transitions and keeps them through unknown windows', () => {
    const base = derive(
      undefined,
      state({ endpoints: [endpoint({ monitoring: drift('ok', 'w1', false) })] }),
    ).next;
    const detected = derive(
      base,
      state({ endpoints: [endpoint({ monitoring: drift('drifted', 'w2', true) })] }),
    );
    expect(types(detected)).toBe('drift.detected quality.degraded');
    expect(detected.events[0].summary).toContain('Weight_in_lbs psi 0.61 > 0.2');
    const quiet = derive(
      detected.next,
      state({ endpoints: [endpoint({ monitoring: drift('unknown', 'w3') })] }),
    );
    expect(quiet.events).toEqual([]);
    const resolved = derive(
      quiet.next,
      state({ endpoints: [endpoint({ monitoring: drift('ok', 'w4', false) })] }),
    );
    expect(types(resolved)).toBe('drift.resolved quality.recovered');
  });

  it('notifies a rollout once, when the endpoint serves it, not again after a restart', () => {
    const base = derive(undefined, state({ endpoints: [endpoint()] })).next;
    const starting = derive(
      base,
      state({ endpoints: [endpoint({ traffic: [{ version: 2, percent: 100 }], healthy: false })] }),
    );
    expect(starting.events).toEqual([]);
    const serving = derive(
      starting.next,
      state({ endpoints: [endpoint({ traffic: [{ version: 2, percent: 100 }] })] }),
    );
    expect(types(serving)).toBe('rollout.done');
    const down = derive(
      serving.next,
      state({ endpoints: [endpoint({ traffic: [{ version: 2, percent: 100 }], healthy: false })] }),
    );
    const up = derive(
      down.next,
      state({ endpoints: [endpoint({ traffic: [{ version: 2, percent: 100 }] })] }),
    );
    expect([...down.events, ...up.events]).toEqual([]);
  });

  it('notifies a gate rejection from the plan once, and a signal-fired run', () => {
    const base = derive(undefined, state({})).next;
    const plan = {
      changes: [
        {
          kind: 'RegisteredModel',
          action: 'noop',
          address: 'RegisteredModel/mpg/versions/mpg-mlp#3',
          resource: 'RegisteredModel/mpg',
          reason: 'mpg-mlp#3 failed the gate: val_mae 5.2 > 4',
        },
      ],
    } as unknown as Plan;
    const fired = run(3, 'succeeded', {
      schedule: 'retrain',
      annotations: firedByTriggerAnnotations(
        'drift of DeployedEndpoint/mpg 0.61 > 0.2',
        new Date('2026-12-05T10:00:00Z'),
      ),
    });
    const first = derive(base, state({ runs: [fired] }), plan);
    expect(types(first)).toBe('run.started run.succeeded gate.rejected schedule.triggered');
    expect(first.events[2].summary).toBe('mpg-mlp#3 was not registered in mpg: val_mae 5.2 > 4');
    expect(derive(first.next, state({ runs: [fired] }), plan).events).toEqual([]);
  });

  it('notifies a failed rollout once per target, and again after a rollout was done', () => {
    const base = derive(undefined, state({ endpoints: [endpoint()] })).next;
    const failure = { endpoint: 'mpg', target: 'h2|2:100', reason: 'revision v2 is not ready' };
    const withFailure = (before: NotifiedSnapshot, observed: ObservedState) =>
      deriveEvents(before, { stack: 'demo', observed, gateRejections: [], failedRollouts: [failure], now });
    const first = withFailure(base, state({ endpoints: [endpoint()] }));
    expect(types(first)).toBe('rollout.failed');
    expect(first.events[0].summary).toBe('DeployedEndpoint/mpg rollout failed: revision v2 is not ready');
    expect(withFailure(first.next, state({ endpoints: [endpoint()] })).events).toEqual([]);
    const done = derive(
      first.next,
      state({ endpoints: [endpoint({ traffic: [{ version: 2, percent: 100 }] })] }),
    );
    expect(types(done)).toBe('rollout.done');
    expect(
      types(
        withFailure(done.next, state({ endpoints: [endpoint({ traffic: [{ version: 2, percent: 100 }] })] })),
      ),
    ).toBe('rollout.failed');
  });
});
