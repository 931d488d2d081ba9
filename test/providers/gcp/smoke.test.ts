import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { harness, waitFor, type Harness } from './helpers.js';
import type { TrainingRunSpec } from '../../../resources/training-run.js';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h?.close();
});

const spec = {
  trainer: {
    builtin: {
      task: 'regression',
      data: { uri: 'gs://data/cars.json', target: 'y', features: ['a'], validationSplit: 0.2 },
    },
  },
  resources: { machineType: 'n1-standard-4', spot: false },
} as unknown as TrainingRunSpec;

describe('smoke', () => {
  it('lists empty state', async () => {
    const [r, m, e, s] = await Promise.all([
      h.provider.trainingRuns.list(h.ctx),
      h.provider.registeredModels.list(h.ctx),
      h.provider.deployedEndpoints.list(h.ctx),
      h.provider.schedules.list(h.ctx),
    ]);
    expect([r.diagnostics, m.diagnostics, e.diagnostics, s.diagnostics]).toEqual([[], [], [], []]);
  });
  it('creates a run and sees it succeed', async () => {
    const created = await h.provider.trainingRuns.create(h.ctx, {
      name: 'mpg-mlp',
      number: 1,
      spec,
      specHash: 'a'.repeat(64),
      attempt: 1,
      manifestPath: 'training.yaml',
      labels: { team: 'demo' },
      annotations: {},
    });
    expect(created.diagnostics).toEqual([]);
    expect(created.run?.number).toBe(1);
    const done = await waitFor(async () => {
      const l = await h.provider.trainingRuns.list(h.ctx);
      expect(l.diagnostics).toEqual([]);
      return l.items.find((r) => r.state === 'succeeded');
    });
    expect(done.metrics).toEqual({ val_mae: 2.5, val_loss: 0.1 });
    expect(done.specHash).toBe('a'.repeat(64));
  });
});
