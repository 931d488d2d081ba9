import { describe, expect, it } from 'vitest';
import type { DesiredState, LoadedResource } from '../../manifests/load.js';
import { isApplicable, type Plan } from '../../controller/engine/change.js';
import { plan } from '../../controller/engine/plan.js';
import { checkPolicy, firesPerHour, minutesMatched } from '../../controller/engine/policy.js';
import type { Policy } from '../../resources/policy.js';
import type { ObservedState } from '../../providers/provider.js';
import { NOW, converged, hashOf, loadTrees, run, version } from './helpers.js';

const FILE = '/etc/mlform/policy.yaml';
const check = (desired: DesiredState, policy: Policy) =>
  checkPolicy(desired, { policy, file: FILE }).map((d) => ({
    message: d.message,
    address: d.address,
    path: d.path?.join('.'),
  }));

/** A copy of the desired state with one resource's spec changed (the loader's output is shared). */
function withSpec(desired: DesiredState, address: string, change: (spec: Record<string, unknown>) => void) {
  const resources = desired.resources.map((r): LoadedResource => {
    if (r.address !== address) return r;
    const manifest = structuredClone(r.manifest);
    change(manifest.spec as unknown as Record<string, unknown>);
    return { ...r, manifest };
  });
  return { ...desired, resources };
}

describe('checkPolicy', () => {
  it('nothing to say about the fixtures under an empty policy or generous limits', async () => {
    const desired = await loadTrees('core', 'runs', 'schedule');
    expect(check(desired, {})).toEqual([]);
    expect(
      check(desired, {
        maxGpusPerRun: 0,
        maxConcurrentRuns: 2,
        maxFiresPerHour: 1,
        maxTotalFiresPerHour: 1,
        maxEndpointInstances: 2,
        maxEndpointMinInstances: 0,
        acceleratorTypes: [],
        buckets: [],
      }),
    ).toEqual([]);
  });

  it('GPUs per run: the count, and count × tuning.parallel, for the machine and each fallback', async () => {
    const base = await loadTrees('core', 'runs');
    const desired = withSpec(base, 'TrainingRun/mpg-mlp', (spec) => {
      spec.resources = {
        machineType: 'g2-standard-8',
        spot: false,
        accelerator: { type: 'NVIDIA_L4', count: 2 },
        fallbacks: [{ machineType: 'a2-highgpu-8g', accelerator: { type: 'NVIDIA_TESLA_A100', count: 8 } }],
      };
    });
    expect(check(desired, { maxGpusPerRun: 4, acceleratorTypes: ['NVIDIA_L4'] })).toEqual([
      {
        message: `policy: accelerator type "NVIDIA_TESLA_A100" is not one of the allowed acceleratorTypes "NVIDIA_L4" (policy ${FILE})`,
        address: 'TrainingRun/mpg-mlp',
        path: 'spec.resources.fallbacks.0.accelerator.type',
      },
      {
        message: `policy: accelerator count 8 exceeds maxGpusPerRun 4 (policy ${FILE})`,
        address: 'TrainingRun/mpg-mlp',
        path: 'spec.resources.fallbacks.0.accelerator.count',
      },
    ]);
    const tuned = withSpec(desired, 'TrainingRun/mpg-mlp', (spec) => {
      spec.tuning = { trials: 6, parallel: 3, metric: 'val_loss', goal: 'minimize', space: {} };
    });
    expect(check(tuned, { maxGpusPerRun: 5 }).map((d) => [d.message, d.path])).toEqual([
      [
        `policy: 2 GPUs × 3 parallel trials = 6 GPUs exceeds maxGpusPerRun 5 (policy ${FILE})`,
        'spec.tuning.parallel',
      ],
      [
        `policy: accelerator count 8 exceeds maxGpusPerRun 5 (policy ${FILE})`,
        'spec.resources.fallbacks.0.accelerator.count',
      ],
    ]);
    // Machine types are a cloud rule: the local provider never uses them.
    expect(check(desired, { machineTypes: ['n1-standard-4'] })).toEqual([]);
  });

  it('concurrent runs count tuning parallelism and one run per schedule; Allow is refused', async () => {
    const desired = await loadTrees('core', 'runs', 'schedule');
    expect(check(desired, { maxConcurrentRuns: 1 })).toEqual([
      {
        message: `policy: the manifests may have 2 trainings running at once (one per TrainingRun, tuning.parallel for a tuned one, one per Schedule), exceeding maxConcurrentRuns 1 (policy ${FILE})`,
        address: 'Schedule/mpg-weekly',
        path: 'spec.trainingRun',
      },
    ]);
    const allow = withSpec(desired, 'Schedule/mpg-weekly', (spec) => {
      spec.concurrencyPolicy = 'Allow';
    });
    expect(check(allow, { maxConcurrentRuns: 10 }).map((d) => d.path)).toEqual(['spec.concurrencyPolicy']);
    const suspended = withSpec(desired, 'Schedule/mpg-weekly', (spec) => {
      spec.suspend = true;
    });
    expect(check(suspended, { maxConcurrentRuns: 1 })).toEqual([]);
  });

  it('schedule fires per hour, per schedule and in total', async () => {
    const desired = withSpec(await loadTrees('core', 'runs', 'schedule'), 'Schedule/mpg-weekly', (spec) => {
      spec.cron = '*/5 9-17 * * 1-5';
    });
    expect(check(desired, { maxFiresPerHour: 4, maxTotalFiresPerHour: 10 }).map((d) => d.message)).toEqual([
      `policy: this schedule fires 12 times an hour, exceeding maxFiresPerHour 4 (policy ${FILE})`,
      `policy: with this schedule the Schedules fire up to 12 times an hour together, exceeding maxTotalFiresPerHour 10 (policy ${FILE})`,
    ]);
    expect(check(desired, { maxFiresPerHour: 12 })).toEqual([]);
  });

  it('endpoint instances after the preset, and buckets of gs:// data', async () => {
    const desired = await loadTrees('core', 'runs');
    // The development preset: 0 to 2 instances.
    expect(check(desired, { maxEndpointInstances: 1 })).toEqual([
      {
        message: `policy: scaling.maxInstances 2 exceeds maxEndpointInstances 1 (policy ${FILE})`,
        address: 'DeployedEndpoint/mpg-api',
        path: 'spec.scaling.maxInstances',
      },
    ]);
    const warm = withSpec(desired, 'DeployedEndpoint/mpg-api', (spec) => {
      spec.scaling = { minInstances: 3, maxInstances: 3 };
    });
    expect(check(warm, { maxEndpointMinInstances: 1 }).map((d) => d.path)).toEqual([
      'spec.scaling.minInstances',
    ]);
    const gs = withSpec(desired, 'TrainingRun/mpg-mlp', (spec) => {
      (spec.trainer as { builtin: { data: { uri: string } } }).builtin.data.uri = 'gs://other-team/cars.csv';
    });
    expect(check(gs, { buckets: ['gs://ours', 'shared/'] }).map((d) => [d.message, d.path])).toEqual([
      [
        `policy: bucket "other-team" is not one of the allowed buckets "gs://ours", "shared/" (policy ${FILE})`,
        'spec.trainer.builtin.data.uri',
      ],
    ]);
    expect(check(gs, { buckets: ['gs://other-team'] })).toEqual([]);
  });
});

describe('fires per hour', () => {
  it.each([
    ['*', 60],
    ['0', 1],
    ['*/15', 4],
    ['0,30', 2],
    ['5-10', 6],
    ['10/20', 3],
    ['0-59/7', 9],
    ['0,0,0', 1],
    ['L', 60],
    ['70', 60],
  ])('minute field %s: %i', (field, n) => {
    expect(minutesMatched(field)).toBe(n);
  });

  it('a cron that never fires fires 0 times an hour', () => {
    const spec = {
      trainingRun: 'x',
      cron: '* * 30 2 *',
      timeZone: 'UTC',
      suspend: false,
      concurrencyPolicy: 'Forbid' as const,
      startingDeadlineSeconds: 3600,
      history: { successful: 5, failed: 3 },
    };
    expect(firesPerHour(spec)).toBe(0);
    expect(firesPerHour({ ...spec, cron: '* * 29 2 *' })).toBe(60);
    expect(firesPerHour({ ...spec, cron: undefined, every: { minutes: 10 } })).toBe(6);
  });
});

describe('prune and destroy under the policy', () => {
  const deletes = (prune: boolean, destroy: boolean) => ({ prune, destroy, file: FILE });
  const codes = (p: Plan) => p.diagnostics.map((d) => `${d.code} ${d.address ?? ''}`.trim());

  async function leftovers(): Promise<{ desired: DesiredState; observed: ObservedState }> {
    const desired = await loadTrees('core', 'runs');
    const h = hashOf(desired, 'TrainingRun/mpg-mlp');
    const observed = converged(desired, {
      runs: [
        run({ number: 1, specHash: h }),
        run({ name: 'old-mlp', number: 1, specHash: 'o', state: 'running' }),
      ],
      versions: { mpg: [version(1, { specHash: h })] },
      aliases: { mpg: { champion: 1 } },
      traffic: { 'mpg-api': [{ version: 1, percent: 100 }] },
    });
    observed.models.push({
      name: 'old',
      specHash: 'm',
      spec: { aliases: {}, retention: { keepVersions: 20 } },
      annotations: {},
      versions: [],
      aliases: {},
    });
    return { desired, observed };
  }

  it('prune forbidden: each delete becomes an error, nothing is deleted', async () => {
    const { desired, observed } = await leftovers();
    const allowed = plan(desired, observed, { now: NOW, deletes: deletes(true, false) });
    expect(
      allowed.changes.filter((c) => c.action === 'delete' || c.action === 'cancel').map((c) => c.address),
    ).toEqual(['TrainingRun/old-mlp#1', 'RegisteredModel/old']);
    const refused = plan(desired, observed, { now: NOW, deletes: deletes(false, true) });
    expect(refused.changes.some((c) => c.action === 'delete' || c.action === 'cancel')).toBe(false);
    expect(codes(refused)).toEqual(['policy TrainingRun/old-mlp#1', 'policy RegisteredModel/old']);
    expect(refused.diagnostics[0].message).toBe(
      `policy: TrainingRun/old-mlp#1 would be cancelled (no longer in the manifests), but prune is not allowed (allowPrune: false) (policy ${FILE})`,
    );
    expect(isApplicable(refused)).toBe(false);
    // The fingerprint does not depend on the policy: the same plan, judged differently.
    expect(refused.fingerprint).toBe(allowed.fingerprint);
    // --no-prune: nothing to refuse.
    expect(
      isApplicable(plan(desired, observed, { now: NOW, prune: false, deletes: deletes(false, false) })),
    ).toBe(true);
  });

  it('destroy forbidden: one error, no change', async () => {
    const { desired, observed } = await leftovers();
    const p = plan(desired, observed, { now: NOW, destroy: true, deletes: deletes(true, false) });
    expect(p.changes.filter((c) => c.action !== 'noop')).toEqual([]);
    expect(codes(p)).toEqual(['policy']);
    expect(p.diagnostics[0].message).toBe(
      `policy: destroy is not allowed (allowDestroy: false) (policy ${FILE})`,
    );
    expect(
      plan(desired, observed, { now: NOW, destroy: true, deletes: deletes(false, true) }).summary.delete,
    ).toBeGreaterThan(0);
  });
});
