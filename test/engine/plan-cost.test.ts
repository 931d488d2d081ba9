/**
 * Cost in the plan: a GPU training with fallbacks, an endpoint with `minInstances: 2` and a weekly
 * schedule on gcp (us-central1: Cloud Run tier 1, regional factor 1), against figures computed by
 * hand from the price table; the budget limits; local CPU-hours.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { plan } from '../../controller/engine/plan.js';
import { firesPerMonth } from '../../controller/engine/cost.js';
import {
  CLOUD_RUN,
  PRICES_AS_OF,
  TRAINING_ACCELERATOR_PRICES,
  TRAINING_MACHINES,
} from '../../controller/engine/cost-prices.js';
import { pinpointDiagnostics } from '../../controller/engine/diagnostic-positions.js';
import { planJson } from '../../controller/ui/plan-json.js';
import { renderPlanMarkdown } from '../../controller/ui/plan-markdown.js';
import { renderPlanText } from '../../controller/ui/plan-text.js';
import { createStyle } from '../../controller/ui/style.js';
import { loadManifests } from '../../manifests/load.js';
import { resourceStatus } from '../../controller/engine/status.js';
import { describeModel, renderDescribe } from '../../controller/ui/status-describe.js';
import type { ObservedRun } from '../../providers/provider.js';
import { NOW, converged, empty, run, version } from './helpers.js';
import { latestRunCost, pricedSpecOf } from '../../controller/engine/actual-cost.js';
import { renderResourceTable } from '../../controller/ui/resource-table.js';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { BUDGET_LINE, COST_PROJECT, ENDPOINT, RUN, TOTAL, WEEKLY, costManifests } from './cost-stack.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function load(files: Record<string, string>) {
  dir = await mkdtemp(join(tmpdir(), 'mlform-cost-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  const { desired, diagnostics } = await loadManifests([dir]);
  expect(diagnostics).toEqual([]);
  return desired;
}

const stack = (budget = '', expectedDuration: string | null = '2h') =>
  load({ 'mlform.yaml': COST_PROJECT + budget, 'stack.yaml': costManifests(expectedDuration) });

describe('cost in the plan', () => {
  it('pins a few prices of the table, with its date', () => {
    expect(PRICES_AS_OF).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(TRAINING_MACHINES['n1-standard-4']).toEqual({ onDemand: 0.2185, spot: 0.044 });
    expect(TRAINING_ACCELERATOR_PRICES.NVIDIA_TESLA_T4.onDemand).toBe(0.4025);
    expect(TRAINING_ACCELERATOR_PRICES.NVIDIA_TESLA_A100.onDemand).toBe(3.3741);
    expect(CLOUD_RUN.tier1).toEqual({ vcpuSecond: 0.000024, gibSecond: 0.0000025, millionRequests: 0.4 });
  });

  it('a GPU training with fallbacks, an endpoint with minInstances 2 and a weekly schedule', async () => {
    const desired = await stack();
    const p = plan(desired, empty(), { now: NOW });
    const cost = p.cost;
    expect(cost?.provider).toBe('gcp');
    const item = (address: string) => cost?.items.find((i) => i.address === address);

    const training = item('TrainingRun/train');
    expect(training?.period).toBe('once');
    expect(training?.amount?.low).toBeCloseTo(RUN.low, 4);
    expect(training?.amount?.high).toBeCloseTo(RUN.high, 4);
    expect(training?.gpuHours).toBe(2);
    expect(training?.detail).toContain('expectedDuration');

    const endpoint = item('DeployedEndpoint/api');
    expect(endpoint?.period).toBe('month');
    expect(endpoint?.amount?.low).toBeCloseTo(ENDPOINT, 3);
    expect(endpoint?.amount?.high).toBeCloseTo(ENDPOINT, 3);

    const schedule = item('Schedule/weekly');
    expect(schedule?.period).toBe('month');
    expect(schedule?.amount?.low).toBeCloseTo(WEEKLY.low, 3);
    expect(schedule?.amount?.high).toBeCloseTo(WEEKLY.high, 3);

    expect(cost?.total.once.low).toBeCloseTo(RUN.low, 4);
    expect(cost?.total.once.high).toBeCloseTo(RUN.high, 4);
    expect(cost?.total.monthly.low).toBeCloseTo(ENDPOINT + WEEKLY.low, 3);
    expect(cost?.total.monthly.high).toBeCloseTo(ENDPOINT + WEEKLY.high, 3);
    expect(cost?.unknown).toBe(0);

    // The same figures in every view.
    const total = TOTAL;
    const text = renderPlanText(p, { style: createStyle(false) });
    expect(text).toContain(total);
    expect(text).toMatch(/TrainingRun\/train +once +\$2\.27-\$8\.49 /);
    expect(text).toMatch(/DeployedEndpoint\/api +monthly +\$304\.85 /);
    expect(text.indexOf('Cost estimate')).toBeLessThan(text.indexOf('Plan:'));
    expect(renderPlanMarkdown(p)).toContain('| `DeployedEndpoint/api` | monthly | \\$304\\.85 |');
    expect(renderPlanMarkdown(p)).toContain(
      '**Total\\: \\$2\\.27\\-\\$8\\.49 once, \\$314\\.79\\-\\$341\\.84/month**',
    );
    const json = JSON.parse(JSON.stringify(planJson(p))) as typeof p;
    expect(json.cost).toEqual(cost);

    // Text and markdown list what this plan changes; the totals count the whole stack.
    const onlyTraining = { ...p, changes: p.changes.filter((c) => c.kind === 'TrainingRun') };
    const partial = renderPlanText(onlyTraining, { style: createStyle(false) });
    expect(partial).toContain('TrainingRun/train');
    expect(partial).not.toContain('DeployedEndpoint/api  ');
    expect(partial).toContain(total);
    // A plan that changes nothing stays quiet; -o json still carries the estimate.
    const noop = { ...p, changes: [] };
    expect(renderPlanText(noop, { style: createStyle(false) })).not.toContain('Cost estimate');
    expect(renderPlanMarkdown(noop)).not.toContain('Cost estimate');
    expect(planJson(noop).cost).toEqual(cost);
  });

  it('a training takes the median duration of earlier runs, else shows the hourly price', async () => {
    const desired = await stack('', null);
    const runs: ObservedRun[] = [1, 3, 2].map((hours, i) =>
      run({
        name: 'train',
        number: i + 1,
        specHash: 'older',
        createdAt: '2026-11-01T00:00:00Z',
        finishedAt: `2026-11-01T0${hours}:00:00Z`,
      }),
    );
    const withRuns = plan(desired, { ...empty(), runs }, { now: NOW });
    const training = withRuns.cost?.items.find((i) => i.address === 'TrainingRun/train');
    expect(training?.hours).toBe(2);
    expect(training?.detail).toContain('median of 3 runs');
    expect(training?.amount?.high).toBeCloseTo(RUN.high, 4);

    const unknown = plan(desired, empty(), { now: NOW }).cost;
    const item = unknown?.items.find((i) => i.address === 'TrainingRun/train');
    expect(item?.amount).toBeNull();
    expect(item?.hourly?.low).toBeCloseTo(1.1326, 4);
    expect(item?.hourly?.high).toBeCloseTo(4.2453, 4);
    expect(unknown?.unknown).toBe(2); // the training and the schedule that runs it
    expect(renderPlanText(plan(desired, empty(), { now: NOW }), { style: createStyle(false) })).toContain(
      '? ($1.13-$4.25/h)',
    );
  });

  it('expectedDuration is not part of the spec hash: setting it trains nothing again', async () => {
    const without = (await stack('', null)).resources.find((r) => r.address === 'TrainingRun/train');
    const withIt = (await stack()).resources.find((r) => r.address === 'TrainingRun/train');
    expect(withIt?.specHash).toBe(without?.specHash);
  });

  it('an estimate over budget is a plan error at the budget line, naming what costs what', async () => {
    const desired = await stack('budget:\n  perApply: 5\n  monthly: 1000\n');
    const p = plan(desired, empty(), { now: NOW });
    const errors = p.diagnostics.filter((d) => d.code === 'over-budget');
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toContain(
      '$2.27-$8.49, over budget.perApply ($5): TrainingRun/train $2.27-$8.49',
    );
    const [located] = pinpointDiagnostics(errors, (f) =>
      f === desired.project?.file ? COST_PROJECT + 'budget:\n  perApply: 5\n  monthly: 1000\n' : undefined,
    );
    expect(located.line).toBe(BUDGET_LINE + 1);
    // In the pull-request comment every `$` of the message is escaped (GitHub would read math).
    const markdown = renderPlanMarkdown(p);
    const item = markdown.split('\n').find((l) => l.includes('`over-budget`'));
    expect(item).toContain('\\$2\\.27\\-\\$8\\.49, over budget\\.perApply \\(\\$5\\)');
    expect(item?.replace(/\\\$/g, '')).not.toContain('$');

    const monthly = plan(await stack('budget:\n  monthly: 300\n'), empty(), { now: NOW });
    const over = monthly.diagnostics.find((d) => d.code === 'over-budget');
    expect(over?.path).toEqual(['budget', 'monthly']);
    expect(over?.message).toMatch(/DeployedEndpoint\/api \$304\.85, Schedule\/weekly \$9\.94-\$36\.99/);

    const within = plan(await stack('budget:\n  perApply: 10\n  monthly: 400\n'), empty(), { now: NOW });
    expect(within.diagnostics.filter((d) => d.code === 'over-budget')).toEqual([]);
  });

  it('locally: CPU-hours, priced when local.cpuHourPrice is set', async () => {
    const training = `apiVersion: mlform/v1
kind: TrainingRun
metadata: { name: local-train }
spec:
  trainer: { command: [python3, train.py] }
  resources: { expectedDuration: 30m }
`;
    const unpriced = plan(await load({ 'mlform.yaml': 'stack: demo\n', 't.yaml': training }), empty(), {
      now: NOW,
    });
    expect(unpriced.cost?.items[0]).toMatchObject({ cpuHours: 0.5, amount: null });
    // Unpriced CPU-hours stay out of the views: a local plan reads as before.
    expect(renderPlanText(unpriced, { style: createStyle(false) })).not.toContain('Cost estimate');
    expect(planJson(unpriced)).not.toHaveProperty('cost');
    await rm(dir ?? '', { recursive: true, force: true });

    const priced = plan(
      await load({ 'mlform.yaml': 'stack: demo\nlocal:\n  cpuHourPrice: 0.05\n', 't.yaml': training }),
      empty(),
      { now: NOW },
    );
    expect(priced.cost?.items[0]).toMatchObject({ cpuHours: 0.5, amount: { low: 0.025, high: 0.025 } });
    expect(renderPlanText(priced, { style: createStyle(false) })).toContain('Total: $0.03 once');
  });

  it('counts fires per month whatever weekday the cron names, frequent ones quickly', () => {
    expect(firesPerMonth('0 6 * * 1')).toBeCloseTo(730 / 168, 6);
    expect(firesPerMonth('0 6 * * 3')).toBeCloseTo(730 / 168, 6);
    expect(firesPerMonth('0 0 * * *')).toBeCloseTo(730 / 24, 6);
    expect(firesPerMonth('*/5 * * * *')).toBeCloseTo(730 * 12, 6);
    expect(firesPerMonth('0 0 1 * *')).toBeCloseTo(1, 1);
    expect(firesPerMonth('* * * * *')).toBeCloseTo(730 * 60, 6);
    expect(firesPerMonth('30 9-17 * * 1-5')).toBeCloseTo((9 * 5 * 730) / 168, 6);
    expect(firesPerMonth('0 12 1,15 * *')).toBeCloseTo((24 * 730) / (52 * 168), 6);
  });

  it('describe shows what each finished run of the spec cost, with GPU-hours', async () => {
    const desired = await stack();
    const hash = desired.resources.find((r) => r.address === 'TrainingRun/train')?.specHash ?? '';
    const runs: ObservedRun[] = [
      run({ name: 'train', number: 1, specHash: 'older' }),
      run({
        name: 'train',
        number: 2,
        specHash: hash,
        createdAt: '2026-11-02T10:00:00Z',
        finishedAt: '2026-11-02T11:30:00Z',
      }),
      run({ name: 'train', number: 3, specHash: hash, state: 'running' }),
    ];
    const observed = { ...empty(), runs };
    const status = resourceStatus(desired, observed, undefined, { now: NOW }).find(
      (s) => s.address === 'TrainingRun/train',
    );
    if (!status) throw new Error('no status');
    const resource = desired.resources.find((r) => r.address === 'TrainingRun/train');
    const model = describeModel(status, resource, observed, NOW, desired.project?.config);
    // Only #2: #1 ran another spec (its machines are unknown), #3 has not finished.
    expect(model.costs).toHaveLength(1);
    // 1.5 h x 1.1326..4.2453 $/h; the A100's GPU-hours.
    expect(model.costs?.[0]).toMatchObject({ run: 2, hours: 1.5, gpuHours: 1.5 });
    expect(model.costs?.[0].amount?.low).toBeCloseTo(1.6989, 4);
    expect(model.costs?.[0].amount?.high).toBeCloseTo(6.368, 3);
    const text = renderDescribe(model, createStyle(false));
    expect(text).toContain('Cost of the finished runs of this spec');
    expect(text).toMatch(/#2 +\$1\.70-\$6\.37 +1\.5 +- +1h30m/);
    // Without a project (or locally without a price) describe reads as before.
    expect(describeModel(status, resource, observed, NOW).costs).toBeUndefined();
  });
});

describe('actual cost in get and describe', () => {
  // Runs of TrainingRun/train, priced by hand from the table: the manifest's A100/L4/2xT4 machines
  // are 1.1326..4.2453 $/h; a run kept with its own spec on n1-standard-4 is 0.2185 $/h.
  const n1 = (machineType: unknown) => ({ resources: { machineType } }) as unknown as TrainingRunSpec;
  async function fixture() {
    const desired = await stack();
    const hash = desired.resources.find((r) => r.address === 'TrainingRun/train')?.specHash ?? '';
    const at = (hour: number, minutes = 0) =>
      `2026-11-02T${String(hour).padStart(2, '0')}:${String(minutes).padStart(2, '0')}:00Z`;
    const runs: ObservedRun[] = [
      // An older spec, kept by the provider: priced with its own machine (30 min).
      run({
        name: 'train',
        number: 1,
        specHash: 'older',
        spec: n1('n1-standard-4'),
        createdAt: at(8),
        finishedAt: at(8, 30),
      }),
      // The spec in the manifests, 1.5 h.
      run({ name: 'train', number: 2, specHash: hash, createdAt: at(10), finishedAt: at(11, 30) }),
      // A spec kept in a shape that does not check: never priced.
      run({
        name: 'train',
        number: 3,
        specHash: 'forged',
        spec: n1(5),
        createdAt: at(12),
        finishedAt: at(13),
      }),
      run({ name: 'train', number: 4, specHash: hash, state: 'running', createdAt: at(14) }),
    ];
    const observed = converged(desired, {
      runs,
      versions: {
        mpg: [
          version(1, { run: { name: 'train', number: 1 } }),
          version(2, { run: { name: 'train', number: 2 } }),
          version(3, { run: { name: 'train', number: 3 } }),
          // Its run is gone (history retention): no figure.
          version(4, { run: { name: 'train', number: 9 } }),
        ],
      },
    });
    return { desired, observed, hash, runs };
  }

  it('prices a run with the spec it ran, and never with one that does not check', async () => {
    const { desired, runs } = await fixture();
    const manifest = desired.resources.find((r) => r.address === 'TrainingRun/train');
    expect(pricedSpecOf(runs[1], manifest)).toBe(manifest?.manifest.spec);
    expect(pricedSpecOf(runs[0], manifest)?.resources).toEqual({ machineType: 'n1-standard-4', spot: false });
    expect(pricedSpecOf(runs[2], manifest)).toBeUndefined();
    // A machine type is manifest text: an Object.prototype key is no machine, not NaN.
    const project = desired.project?.config;
    const odd = latestRunCost(
      project,
      [run({ name: 'train', number: 5, specHash: 'x', spec: n1('constructor') })],
      undefined,
    );
    expect(odd).toMatchObject({ run: 5, hours: 1, amount: null });
    expect(odd?.detail).toContain('no price for constructor');
  });

  it('get: the newest finished run of the current spec, in -o wide and as data', async () => {
    const { desired, observed, runs } = await fixture();
    const project = desired.project?.config;
    const manifest = desired.resources.find((r) => r.address === 'TrainingRun/train');
    const newestFirst = [...runs].reverse();
    const cost = latestRunCost(project, newestFirst, manifest);
    // #4 is running; #3 and #1 ran other specs: #2, 1.5 h.
    expect(cost).toMatchObject({ run: 2, hours: 1.5, gpuHours: 1.5 });
    expect(cost?.amount?.low).toBeCloseTo(1.1326 * 1.5, 4);
    expect(cost?.amount?.high).toBeCloseTo(4.2453 * 1.5, 4);
    // Not declared any more: the newest finished run of any spec, #3, cannot be priced.
    expect(latestRunCost(project, newestFirst, undefined)).toBeUndefined();
    expect(latestRunCost(undefined, newestFirst, manifest)).toBeUndefined();

    const statuses = resourceStatus(desired, observed, undefined, { now: NOW });
    const rows = statuses.map((s) => (s.kind === 'TrainingRun' && cost ? { ...s, cost } : s));
    const wide = renderResourceTable(rows, createStyle(false), { wide: true });
    expect(wide.split('\n')[0]).toMatch(/^KIND +NAME +SYNC +HEALTH +COST +DETAILS$/);
    expect(wide).toMatch(/TrainingRun +train +\S+ +\S+ +\$1\.70-\$6\.37 \(1\.5 GPU-h\) /);
    expect(wide).toMatch(/RegisteredModel +mpg +\S+ +\S+ +- /);
    // The default table is as before.
    expect(renderResourceTable(rows, createStyle(false)).split('\n')[0]).toMatch(
      /^KIND +NAME +SYNC +HEALTH +DETAILS$/,
    );
  });

  it('describe registeredmodel: each version with the cost and GPU-hours of its run', async () => {
    const { desired, observed } = await fixture();
    const status = resourceStatus(desired, observed, undefined, { now: NOW }).find(
      (s) => s.address === 'RegisteredModel/mpg',
    );
    if (!status) throw new Error('no status');
    const resource = desired.resources.find((r) => r.address === 'RegisteredModel/mpg');
    const model = describeModel(status, resource, observed, NOW, desired.project?.config, desired.resources);
    expect(model.versionCosts?.map((c) => c.version)).toEqual([1, 2]);
    expect(model.versionCosts?.[0]).toMatchObject({
      run: 1,
      hours: 0.5,
      amount: { low: 0.1093, high: 0.1093 },
    });
    expect(model.versionCosts?.[0].gpuHours).toBeUndefined();
    expect(model.versionCosts?.[1]).toMatchObject({ run: 2, hours: 1.5, gpuHours: 1.5 });
    const text = renderDescribe(model, createStyle(false));
    expect(text).toMatch(/VERSION +RUN +SPEC +DATA +COMMIT +CREATED +COST +GPU-HOURS +METRICS/);
    expect(text).toMatch(/v4 +train#9 .+Z +- +- /);
    expect(text).toMatch(/v2 +train#2 .+Z +\$1\.70-\$6\.37 +1\.5 /);
    expect(text).toMatch(/v1 +train#1 .+Z +\$0\.11 +- /);
    expect(text).toContain(`USD at list prices of ${PRICES_AS_OF}`);
    // As JSON (describe -o json) the figures are data.
    expect(JSON.parse(JSON.stringify(model)).versionCosts[1].amount.high).toBeCloseTo(6.368, 3);
    // Without the project nothing is priced and the table reads as before.
    const bare = describeModel(status, resource, observed, NOW, undefined, desired.resources);
    expect(bare.versionCosts).toBeUndefined();
    expect(renderDescribe(bare, createStyle(false))).toMatch(/CREATED +METRICS/);
  });
});
