/**
 * Retraining on a signal with the real local provider: apply trains, registers and serves; once
 * the endpoint's observed monitoring says it drifted (crafted here, the contract type: the wrapper
 * sets `ObservedEndpoint.monitoring` on the real listing), the next apply fires the signal-only
 * Schedule, and the fired run is trained, registered and rolled out like a time-fired one. The run
 * records why; a third apply is held by the cooldown. `describe` says so for the run and the
 * schedule.
 */
import { mkdtemp, rm, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openProject } from '../../controller/cli/project.js';
import { apply } from '../../controller/engine/apply.js';
import { plan } from '../../controller/engine/plan.js';
import { observe } from '../../controller/engine/observe.js';
import { resourceStatus } from '../../controller/engine/status.js';
import { describeModel, renderDescribe } from '../../controller/ui/status-describe.js';
import { createStyle } from '../../controller/ui/style.js';
import type { MonitoringStatus } from '../../monitoring/status.js';
import { FIRED_BY_ANNOTATION, TRIGGER_REASON_ANNOTATION } from '../../monitoring/trigger.js';
import type { Provider } from '../../providers/provider.js';
import { killProcessesUnder } from '../providers/local/helpers.js';

let dir: string;
let status: MonitoringStatus | undefined;

const REASON =
  'drift on DeployedEndpoint/iris-api: petal_length psi 0.9 > 0.2 (window 2026-12-05 06:00-07:00 UTC)';

/** A signal-only Schedule watching a monitored endpoint (cooldown 6h). */
const STACK = 'test/fixtures/signal-stack/stack.yaml';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-trigger-'));
  await writeFile(join(dir, 'mlform.yaml'), 'stack: triggers\nprovider: local\n');
  await cp(STACK, join(dir, 'stack.yaml'));
  await cp('examples/data/iris.csv', join(dir, 'data', 'iris.csv'));
});

afterAll(async () => {
  if (!dir) return;
  await killProcessesUnder(dir);
  await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
});

/** The real provider, with the endpoint's monitoring status crafted on its listing. */
const monitored = (provider: Provider): Provider => ({
  ...provider,
  deployedEndpoints: {
    ...provider.deployedEndpoints,
    list: async (ctx) => {
      const listed = await provider.deployedEndpoints.list(ctx);
      return {
        ...listed,
        items: listed.items.map((e) => (status && e.name === 'iris-api' ? { ...e, monitoring: status } : e)),
      };
    },
  },
});

async function open() {
  const opened = await openProject([dir]);
  if (!opened.project) throw new Error(JSON.stringify(opened.diagnostics));
  const { desired, providerCtx } = opened.project;
  return { desired, ctx: providerCtx, provider: monitored(opened.project.provider) };
}

async function applyOnce() {
  const { desired, ctx, provider } = await open();
  const result = await apply({ provider, ctx, desired, planOptions: { prune: true }, wait: true });
  expect(result.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  expect(result.ok).toBe(true);
  return result;
}

describe('a Schedule fired by a trigger on the local provider', () => {
  it('fires once on drift; the run records why and is registered and rolled out', async () => {
    await applyOnce();
    const { provider, ctx } = await open();
    expect((await provider.trainingRuns.list(ctx)).items.map((r) => r.number)).toEqual([1]);

    status = {
      windowStart: '2026-12-05T06:00:00Z',
      windowEnd: '2026-12-05T07:00:00Z',
      count: 400,
      drift: 'drifted',
      features: [{ name: 'petal_length', metric: 'psi', score: 0.9, threshold: 0.2, drifted: true }],
    };
    const fired = await applyOnce();
    const runs = (await provider.trainingRuns.list(ctx)).items.sort((a, b) => a.number - b.number);
    expect(runs.map((r) => [r.number, r.state, r.schedule ?? null])).toEqual([
      [1, 'succeeded', null],
      [2, 'succeeded', 'iris-on-drift'],
    ]);
    expect(runs[1].annotations).toMatchObject({
      [FIRED_BY_ANNOTATION]: 'trigger',
      [TRIGGER_REASON_ANNOTATION]: REASON,
    });
    // The usual path: registered as v2, the champion moved, the endpoint serves it.
    const models = (await provider.registeredModels.list(ctx)).items;
    expect(models[0].versions.map((v) => [v.version, v.run.number])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    expect(models[0].aliases).toEqual({ champion: 2 });
    const endpoints = (await provider.deployedEndpoints.list(ctx)).items;
    expect(endpoints[0].traffic).toEqual([{ version: 2, percent: 100 }]);
    // The last plan of that apply held the signal back: the cooldown counts from run #2.
    const held = fired.final?.plan.changes.find((c) => c.address === 'Schedule/iris-on-drift/fire');
    expect(held).toMatchObject({ action: 'noop', notice: true });
    expect(held?.reason).toContain(`${REASON}: not fired, cooldown 6h after iris-mlp#2 until `);

    // A new apply (a crash and restart alike) reads the cooldown from the run: nothing fires.
    await applyOnce();
    expect((await provider.trainingRuns.list(ctx)).items).toHaveLength(2);
  }, 120_000);

  it('describe of the run and of the schedule say it was fired by the trigger and why', async () => {
    const { desired, provider, ctx } = await open();
    const observed = await observe(provider, ctx);
    const now = new Date();
    const statuses = resourceStatus(desired, observed.state, plan(desired, observed.state, { now }), { now });
    const style = createStyle(false);
    const show = (address: string) => {
      const s = statuses.find((x) => x.address === address);
      if (!s) throw new Error(`no status of ${address}`);
      return renderDescribe(describeModel(s, undefined, observed.state, now), style);
    };
    expect(show('Schedule/iris-on-drift')).toMatch(
      new RegExp(`Triggered: +iris-mlp#2 at [0-9-]+ [0-9:]+ UTC: ${escape(REASON)}`),
    );
    expect(show('TrainingRun/iris-mlp')).toContain(`fired by trigger: ${REASON}`);
  });
});

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
