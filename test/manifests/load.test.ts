import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadManifests } from '../../manifests/load.js';
import type { DeployedEndpoint, Schedule, TrainingRun } from '../../resources/kinds.js';
import { nextFireTime } from '../../resources/schedule.js';

describe('loading the quickstart', () => {
  it('is valid, with its project file, in dependency order', async () => {
    const { desired, diagnostics } = await loadManifests(['examples/quickstart']);
    expect(diagnostics).toEqual([]);
    expect(desired.project?.config).toEqual({
      stack: 'quickstart',
      provider: 'local',
      local: { stateDir: '.mlform' },
    });
    expect(desired.resources.map((r) => r.address).sort()).toEqual([
      'DeployedEndpoint/mpg-api',
      'RegisteredModel/mpg',
      'Schedule/mpg-weekly',
      'TrainingRun/mpg-mlp',
    ]);
    const order = desired.graph.order;
    expect(order.indexOf('RegisteredModel/mpg')).toBeLessThan(order.indexOf('TrainingRun/mpg-mlp'));
    expect(order.indexOf('RegisteredModel/mpg')).toBeLessThan(order.indexOf('DeployedEndpoint/mpg-api'));
    expect(order.indexOf('TrainingRun/mpg-mlp')).toBeLessThan(order.indexOf('Schedule/mpg-weekly'));
  });

  it('fills defaults and expands presets into the normalised spec', async () => {
    const { desired } = await loadManifests(['examples/quickstart']);
    const byName = new Map(desired.resources.map((r) => [r.address, r.manifest]));
    const run = byName.get('TrainingRun/mpg-mlp') as TrainingRun;
    expect(run.spec.retry).toEqual({ limit: 2 });
    expect(run.spec.trainer.builtin?.data.maxCategories).toBe(64);
    expect(run.spec.resources).toEqual({ machineType: 'n1-standard-4', spot: false });
    const endpoint = byName.get('DeployedEndpoint/mpg-api') as DeployedEndpoint;
    expect(endpoint.spec.scaling).toEqual({ minInstances: 0, maxInstances: 2 });
    expect(endpoint.spec.resources).toEqual({ memory: '2Gi', cpu: '1' });
    expect(endpoint.spec.batching).toEqual({ enabled: true, maxBatchSize: 64, batchTimeoutMicros: 2000 });
  });

  it('finds the project file above a single manifest file', async () => {
    const { desired, diagnostics } = await loadManifests(['examples/quickstart/model.yaml']);
    expect(diagnostics).toEqual([]);
    expect(desired.project?.file).toBe('examples/quickstart/mlform.yaml');
  });

  it('accepts the target among the features of a forecasting run (its history is the main input)', async () => {
    const { diagnostics } = await loadManifests(['test/fixtures/valid/forecasting-target-in-features.yaml']);
    expect(diagnostics).toEqual([]);
  });

  it('reads anchors, aliases and merge keys', async () => {
    const { desired, diagnostics } = await loadManifests(['test/fixtures/valid/anchors.yaml']);
    expect(diagnostics).toEqual([]);
    const run = desired.resources.find((r) => r.kind === 'TrainingRun')?.manifest as TrainingRun;
    expect(run.metadata.labels).toEqual({ team: 'demo', owner: 'ml' });
    expect(run.spec.trainer.builtin?.hyperparameters).toMatchObject({
      epochs: 20,
      batchSize: 16,
      learningRate: 0.01,
    });
  });

  it('expands schedule helpers so equal schedules hash equal, and computes fire times in the zone', async () => {
    const { desired } = await loadManifests(['examples/quickstart']);
    const schedule = desired.resources.find((r) => r.kind === 'Schedule')?.manifest as Schedule;
    // Monday 06:00 in Warsaw (CET, UTC+1 in November) is 05:00 UTC.
    expect(nextFireTime(schedule.spec, new Date('2026-11-22T12:00:00Z'))?.toISOString()).toBe(
      '2026-11-23T05:00:00.000Z',
    );
  });

  it('reports every error of a broken tree at once, sorted by position', async () => {
    const { diagnostics } = await loadManifests(['test/fixtures/invalid']);
    const errors = diagnostics.filter((d) => d.severity === 'error');
    // Every fixture of the folder has at least one error.
    expect(new Set(errors.map((d) => d.file)).size).toBe(readdirSync('test/fixtures/invalid').length);
    for (let i = 1; i < errors.length; i++) {
      const [a, b] = [errors[i - 1], errors[i]];
      expect((a.file ?? '') < (b.file ?? '') || (a.file === b.file && (a.line ?? 0) <= (b.line ?? 0))).toBe(
        true,
      );
    }
  });
});
