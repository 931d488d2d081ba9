/**
 * The rules of Schedule `triggers` a schema cannot say: signal-only schedules, which way a
 * quality bound points, history kept for the cooldown, and (across resources) a monitored
 * endpoint reporting the watched metric, applied before the schedule.
 */
import { describe, expect, it } from 'vitest';
import { loadManifests } from '../../manifests/load.js';
import { checkScheduleSpec, checkTriggerEndpoints, type ScheduleSpec } from '../../resources/schedule.js';
import type { DeployedEndpointSpec } from '../../resources/deployed-endpoint.js';

const base = {
  trainingRun: 't',
  timeZone: 'UTC',
  suspend: false,
  concurrencyPolicy: 'Forbid',
  startingDeadlineSeconds: 3600,
  history: { successful: 5, failed: 3 },
} as const;
const spec = (over: Partial<ScheduleSpec>): ScheduleSpec => ({ ...base, ...over }) as ScheduleSpec;
const codes = (s: ScheduleSpec) => checkScheduleSpec(s).map((d) => [d.code, d.path?.join('.'), d.message]);

describe('Schedule triggers', () => {
  it('a Schedule with triggers needs no cron, every or at; without them it still does', () => {
    expect(codes(spec({ triggers: [{ drift: { endpoint: 'api' } }] }))).toEqual([]);
    expect(codes(spec({}))).toEqual([
      ['schedule-when', 'spec', 'a Schedule needs exactly one of `cron`, `every` or `at`'],
    ]);
    expect(checkScheduleSpec(spec({}))[0].hint).toContain('or only `triggers`, to fire on a signal');
    // Two times stay an error with triggers too.
    expect(
      codes(
        spec({ cron: 'daily', at: '2026-12-24T06:00', triggers: [{ drift: { endpoint: 'api' } }] }),
      )[0][0],
    ).toBe('schedule-when');
  });

  it('errors are bounded by max, scores by min, and a bound is required', () => {
    const q = (quality: Record<string, unknown>) =>
      codes(
        spec({
          cron: 'daily',
          triggers: [{ quality: { endpoint: 'api', ...quality } }] as ScheduleSpec['triggers'],
        }),
      );
    expect(q({ metric: 'rmse', max: 2 })).toEqual([]);
    expect(q({ metric: 'accuracy', min: 0.9 })).toEqual([]);
    expect(q({ metric: 'accuracy', max: 0.9 })).toEqual([
      ['trigger-bound', 'spec.triggers.0.quality.max', 'accuracy is a score: bound it with `min`, not `max`'],
    ]);
    expect(q({ metric: 'mae' })).toEqual([
      ['trigger-bound', 'spec.triggers.0.quality', 'a quality trigger on mae needs `max`'],
    ]);
  });

  it('keeps at least one run of each outcome: the cooldown is read from the last fired run', () => {
    expect(
      codes(
        spec({
          cron: 'daily',
          history: { successful: 0, failed: 3 },
          triggers: [{ drift: { endpoint: 'api' } }],
        }),
      ),
    ).toEqual([
      [
        'trigger-history',
        'spec.history',
        'a Schedule with `triggers` must keep at least one run of each outcome',
      ],
    ]);
    expect(codes(spec({ cron: 'daily', history: { successful: 0, failed: 0 } }))).toEqual([]);
  });

  it('a quality trigger watches the metric the endpoint monitors', () => {
    const endpoint = {
      monitoring: { quality: { metric: 'accuracy', min: 0.8 } },
    } as unknown as DeployedEndpointSpec;
    const s = spec({ triggers: [{ quality: { endpoint: 'api', metric: 'mae', max: 3 } }] });
    expect(checkTriggerEndpoints(s, () => endpoint).map((d) => [d.code, d.message, d.hint])).toEqual([
      [
        'trigger-metric',
        'DeployedEndpoint "api" reports live accuracy, not mae',
        "watch `metric: accuracy`, or change the endpoint's `monitoring.quality.metric`",
      ],
    ]);
    expect(checkTriggerEndpoints(s, () => undefined)).toEqual([]);
  });

  it('the watched endpoint comes before the schedule in the dependency order', async () => {
    const { desired, diagnostics } = await loadManifests(['test/fixtures/signal-stack']);
    expect(diagnostics).toEqual([]);
    const order = desired.graph.order;
    expect(order.indexOf('DeployedEndpoint/iris-api')).toBeLessThan(order.indexOf('Schedule/iris-on-drift'));
    expect(desired.graph.dependsOn.get('Schedule/iris-on-drift')).toEqual([
      'TrainingRun/iris-mlp',
      'DeployedEndpoint/iris-api',
    ]);
  });
});
