/**
 * The training run document: curves from the log's epoch events (a mixed, partly garbage log, read
 * in pages), history.json once succeeded, baseline lines, health from metrics.json, the log tail,
 * lineage and TensorBoard links, tuning trials (best per goal, pruned), and the 404s.
 */
import { describe, expect, it } from 'vitest';
import { createViewBuilder } from '../../../controller/web/views/index.js';
import type { ObservedRun } from '../../../providers/provider.js';
import type { TrainingRunSpec } from '../../../resources/training-run.js';
import { fakeIO, observed, okDoc, quickstart, run, snapshotOf, specHashOf } from './fixture.js';

const epoch = (n: number, loss: number, valLoss: number, extra: Record<string, number> = {}) =>
  JSON.stringify({
    type: 'epoch',
    epoch: n,
    epochs: 4,
    loss,
    metrics: { loss, val_loss: valLoss, mae: loss * 2, val_mae: valLoss * 2, ...extra },
    etaSeconds: 4 - n,
    elapsedSeconds: n,
  });

const MIXED_LOG = [
  JSON.stringify({ type: 'start', epochs: 4, stepsPerEpoch: 3, backend: 'cpu' }),
  'plain text from the trainer',
  epoch(1, 1.0, 1.2),
  '{"type": "epoch", "epoch": "two"}', // not a number: ignored
  '{not json at all',
  '\u001b[31mred warning\u001b[0m with a \u202e bidi override',
  epoch(2, 0.5, 0.7),
  JSON.stringify({
    type: 'epoch',
    epoch: 3,
    loss: 0.4,
    metrics: { val_loss: 'x', 'bad name!': 1, mae: 0.8 },
  }),
  JSON.stringify({ type: 'checkpoint', epoch: 3 }),
];

async function setUp(runs: ObservedRun[], withSpec = true) {
  const desired = await quickstart();
  const hash = specHashOf(desired, 'TrainingRun/mpg-mlp');
  const state = observed({ runs: runs.map((r) => ({ ...r, specHash: withSpec ? hash : r.specHash })) });
  return snapshotOf(desired, state);
}

describe('training run', () => {
  it('draws the curves of a running run from its log, read in pages', async () => {
    const running = run({
      number: 2,
      state: 'running',
      finishedAt: undefined,
      progress: { epoch: 3, epochs: 4, etaSeconds: 1 },
    });
    const snapshot = await setUp([run({ number: 1 }), running]);
    const io = fakeIO({
      logs: { 'mpg-mlp#2': MIXED_LOG },
      pageLines: 2,
      observe: () => ({ ...running, progress: { epoch: 3, epochs: 4, etaSeconds: 0.5 } }),
    });
    const doc = okDoc(
      'trainingrun',
      await createViewBuilder()({ view: 'trainingrun', name: 'mpg-mlp', limit: 20 }, snapshot, io),
    );
    expect(doc.runs.map((r) => r.number)).toEqual([2, 1]);
    expect(doc.runsTotal).toBe(2);
    expect(doc.specYaml).toContain('Miles_per_Gallon');
    const detail = doc.run;
    expect(detail?.number).toBe(2);
    // Observed afresh: the page is live.
    expect(detail?.progress).toEqual({ epoch: 3, epochs: 4, etaSeconds: 0.5, trial: null });
    expect(detail?.curves.epochs).toEqual([1, 2, 3]);
    expect(detail?.curves.series).toEqual([
      { name: 'loss', split: 'train', values: [1.0, 0.5, 0.4] },
      { name: 'val_loss', split: 'validation', values: [1.2, 0.7, null] },
      { name: 'mae', split: 'train', values: [2.0, 1.0, 0.8] },
      { name: 'val_mae', split: 'validation', values: [2.4, 1.4, null] },
    ]);
    expect(detail?.tensorboardDir).toBeNull();
    expect(detail?.health).toBeNull();
    expect(detail?.logTail).toContain('plain text from the trainer');
    expect(detail?.logTail).toContain('red warning with a  bidi override');
    for (const line of detail?.logTail ?? []) expect(line).not.toMatch(/\p{Cc}|\u202e/u);
    // Paged from the start, two lines at a time, until the log gave nothing more.
    expect(io.calls.filter((c) => c.startsWith('logs'))).toEqual(
      [0, 2, 4, 6, 8, 9].map((n) => `logs mpg-mlp#2 from ${n}`),
    );
  });

  it('reads only the new lines of a live log on the next build', async () => {
    const lines = [epoch(1, 1, 1)];
    const running = run({ number: 1, state: 'running', finishedAt: undefined });
    const snapshot = await setUp([running]);
    const io = fakeIO({ logs: { 'mpg-mlp#1': lines } });
    const build = createViewBuilder();
    const route = { view: 'trainingrun', name: 'mpg-mlp', limit: 20 } as const;
    expect(okDoc('trainingrun', await build(route, snapshot, io)).run?.curves.epochs).toEqual([1]);
    lines.push(epoch(2, 0.5, 0.5));
    expect(okDoc('trainingrun', await build(route, snapshot, io)).run?.curves.epochs).toEqual([1, 2]);
    expect(io.calls.filter((c) => c.startsWith('logs'))).toEqual([
      'logs mpg-mlp#1 from 0',
      'logs mpg-mlp#1 from 1',
      'logs mpg-mlp#1 from 1',
      'logs mpg-mlp#1 from 2',
    ]);
  });

  it('uses history.json, metrics.json health and the baseline once succeeded', async () => {
    const artifact = '/artifacts/mpg-mlp-1';
    const done = run({
      number: 1,
      artifactUri: artifact,
      metrics: { val_mae: 2.1, val_loss: 0.3 },
      baseline: { val_mae: 6.2, val_loss: 1, accuracy: 0.5 },
      dataSha256: 'd'.repeat(64),
      gitCommit: 'c'.repeat(40),
    });
    const snapshot = await setUp([done]);
    const history = [1, 2, 3, 4].map((e) => ({
      epoch: e,
      metrics: { loss: 1 / e, val_loss: 1.1 / e, val_mae: 3 / e },
      seconds: 1,
      gradientNorms: {},
    }));
    const health = {
      healthScore: 0.82,
      components: {},
      flags: [],
      deadNeurons: { layers: { dense_1: 0.1, dense_2: 0 }, max: 0.1, probeSamples: 64 },
      gradients: {
        layers: { dense_1: { mean: 1, max: 2, last: 1.5 }, dense_2: { mean: 1, max: 1, last: 0.5 } },
        global: { mean: 1, max: 2.2, last: 1.6 },
        vanishing: false,
        exploding: false,
        epochs: 4,
      },
      lossStability: { cv: 0.02, window: 5 },
      generalization: { gap: null, increasing: false, overfitting: false, threshold: 0.1 },
    };
    const io = fakeIO({
      logs: { 'mpg-mlp#1': [epoch(1, 1, 1.1), epoch(2, 0.5, 0.55)] },
      files: {
        [`${artifact}/history.json`]: JSON.stringify(history),
        [`${artifact}/metrics.json`]: JSON.stringify({ metrics: {}, baseline: {}, health }),
      },
    });
    const doc = okDoc(
      'trainingrun',
      await createViewBuilder()({ view: 'trainingrun', name: 'mpg-mlp', limit: 20 }, snapshot, io),
    );
    const detail = doc.run;
    expect(detail?.curves.epochs).toEqual([1, 2, 3, 4]);
    expect(detail?.curves.series.map((s) => s.name)).toEqual(['loss', 'val_loss', 'val_mae']);
    expect(detail?.baselineLines).toEqual({ val_mae: 6.2, val_loss: 1 });
    expect(detail?.detail).toBe('succeeded val_mae 2.1');
    expect(detail).toMatchObject({
      artifactUri: artifact,
      tensorboardDir: `${artifact}/tensorboard`,
      dataSha256: 'd'.repeat(64),
      gitCommit: 'c'.repeat(40),
      progress: null,
    });
    expect(detail?.health).toEqual({
      score: 0.82,
      deadFractionMax: 0.1,
      gradNormLast: 1.6,
      gradNormMax: 2.2,
      exploding: false,
      vanishing: false,
      lossCv: 0.02,
      gap: null,
      overfitting: false,
      layers: [
        { name: 'dense_1', deadFraction: 0.1, gradNorm: 1.5 },
        { name: 'dense_2', deadFraction: 0, gradNorm: 0.5 },
      ],
    });
  });

  it("scales the builtin trainer's baseline lines to its standardized-target curves, and says so", async () => {
    const artifact = '/artifacts/mpg-mlp-1';
    const done = run({
      number: 1,
      artifactUri: artifact,
      metrics: { val_mae: 2.1 },
      baseline: { val_mae: 6, val_mse: 64, val_loss: 1, val_r2: 0.1 },
    });
    const snapshot = await setUp([done]);
    const history = [1, 2].map((e) => ({
      epoch: e,
      metrics: { val_loss: 1 / e, val_mae: 3 / e, val_mse: 2 / e, val_r2: 0.5 },
      seconds: 1,
      gradientNorms: {},
    }));
    const io = fakeIO({
      logs: { 'mpg-mlp#1': [] },
      files: {
        [`${artifact}/history.json`]: JSON.stringify(history),
        [`${artifact}/preprocess.json`]: JSON.stringify({
          target: { type: 'numeric', name: 'mpg', mean: 23, std: 8 },
        }),
      },
    });
    const doc = okDoc(
      'trainingrun',
      await createViewBuilder()({ view: 'trainingrun', name: 'mpg-mlp', limit: 20 }, snapshot, io),
    );
    expect(doc.run?.baselineLines).toEqual({ val_mae: 0.75, val_mse: 1, val_r2: 0.1 });
    expect(doc.run?.curvesNote).toContain('standardized target (value / 8,');
  });

  it('keeps the log curves when history.json is malformed or misses epochs, and drops malformed health', async () => {
    const artifact = '/artifacts/x';
    const snapshot = await setUp([run({ number: 1, artifactUri: artifact })]);
    for (const history of ['[{"epoch": 1, "metrics": {"loss": 1}}]', '{"epoch": 1}', 'not json']) {
      const io = fakeIO({
        logs: { 'mpg-mlp#1': [epoch(1, 1, 1), epoch(2, 0.5, 0.5)] },
        files: {
          [`${artifact}/history.json`]: history,
          [`${artifact}/metrics.json`]: JSON.stringify({ health: { healthScore: 'great' } }),
        },
      });
      const doc = okDoc(
        'trainingrun',
        await createViewBuilder()({ view: 'trainingrun', name: 'mpg-mlp', limit: 20 }, snapshot, io),
      );
      expect(doc.run?.curves.epochs).toEqual([1, 2]);
      expect(doc.run?.health).toBeNull();
    }
  });

  it('keeps the last 200 log lines and selects a run by number', async () => {
    const lines = Array.from({ length: 250 }, (_, i) => `line ${i + 1}`);
    const snapshot = await setUp([
      run({ number: 1 }),
      run({ number: 2, state: 'failed', error: 'out of memory' }),
    ]);
    const io = fakeIO({ logs: { 'mpg-mlp#1': lines } });
    const doc = okDoc(
      'trainingrun',
      await createViewBuilder()({ view: 'trainingrun', name: 'mpg-mlp', run: 1, limit: 1 }, snapshot, io),
    );
    expect(doc.runs.map((r) => r.number)).toEqual([2]);
    expect(doc.runs[0].detail).toBe('failed: out of memory');
    expect(doc.run?.number).toBe(1);
    expect(doc.run?.logTail).toHaveLength(200);
    expect(doc.run?.logTail[0]).toBe('line 51');
    expect(doc.run?.logTail.at(-1)).toBe('line 250');
  });

  it("reads a finished run's log and artifact files once, and survives a provider that throws", async () => {
    const artifact = '/artifacts/once';
    const snapshot = await setUp([run({ number: 1, artifactUri: artifact })]);
    const io = fakeIO({ logs: { 'mpg-mlp#1': [epoch(1, 1, 1)] } });
    const build = createViewBuilder();
    const route = { view: 'trainingrun', name: 'mpg-mlp', limit: 20 } as const;
    okDoc('trainingrun', await build(route, snapshot, io));
    const reads = io.calls.length;
    expect(okDoc('trainingrun', await build(route, snapshot, io)).run?.curves.epochs).toEqual([1]);
    expect(io.calls.length).toBe(reads);

    const failing = fakeIO();
    failing.provider.trainingRuns.logs = () => Promise.reject(new Error('network down'));
    const doc = okDoc('trainingrun', await createViewBuilder()(route, snapshot, failing));
    expect(doc.run?.logTail).toEqual([]);
  });

  it('answers 404 for an unknown TrainingRun or run number', async () => {
    const snapshot = await setUp([run({ number: 1 })]);
    const build = createViewBuilder();
    expect(await build({ view: 'trainingrun', name: 'mpg-mpl', limit: 20 }, snapshot, fakeIO())).toEqual({
      status: 404,
      error: { error: 'TrainingRun "mpg-mpl" is not in this stack', hint: 'did you mean "mpg-mlp"?' },
    });
    const missing = await build(
      { view: 'trainingrun', name: 'mpg-mlp', run: 9, limit: 20 },
      snapshot,
      fakeIO(),
    );
    expect(missing).toMatchObject({ status: 404, error: { error: 'TrainingRun "mpg-mlp" has no run #9' } });
  });

  describe('tuning', () => {
    const tuned = async (): Promise<TrainingRunSpec> => {
      const desired = await quickstart();
      const r = desired.resources.find((x) => x.address === 'TrainingRun/mpg-mlp');
      if (r?.manifest.kind !== 'TrainingRun') throw new Error('fixture');
      return {
        ...r.manifest.spec,
        tuning: {
          trials: 4,
          parallel: 2,
          metric: 'val_loss',
          goal: 'minimize',
          algorithm: 'halving',
          space: {},
        },
      };
    };
    const trial = (n: number, state: string, metric?: number) =>
      JSON.stringify({
        type: 'trial',
        trial: n,
        trials: 4,
        params: { learningRate: 0.01 * n, 'network.layers': [16, n] },
        state,
        ...(metric !== undefined && { metric }),
      });

    it('lists the trials of a running search from the log, best per the goal, pruned marked', async () => {
      const spec = await tuned();
      // Not declared: the run's own spec is the one shown (the manifest moved on).
      const snapshot = snapshotOf(
        undefined,
        observed({
          runs: [run({ name: 'tuned', number: 1, state: 'running', finishedAt: undefined, spec })],
        }),
      );
      const io = fakeIO({
        logs: {
          'tuned#1': [
            trial(1, 'started'),
            trial(2, 'started'),
            trial(1, 'finished', 0.4),
            trial(2, 'pruned', 0.1),
            trial(3, 'finished', 0.3),
            trial(4, 'failed'),
            '{"type":"trial","trial":"5"}',
          ],
        },
      });
      const doc = okDoc(
        'trainingrun',
        await createViewBuilder()({ view: 'trainingrun', name: 'tuned', limit: 20 }, snapshot, io),
      );
      expect(doc.run?.tuning?.metric).toBe('val_loss');
      expect(doc.run?.tuning?.goal).toBe('minimize');
      expect(doc.run?.tuning?.trials).toEqual([
        {
          trial: 1,
          params: { learningRate: 0.01, 'network.layers': '[16,1]' },
          state: 'finished',
          metric: 0.4,
          pruned: false,
          best: false,
        },
        {
          trial: 2,
          params: { learningRate: 0.02, 'network.layers': '[16,2]' },
          state: 'pruned',
          metric: 0.1,
          pruned: true,
          best: false,
        },
        {
          trial: 3,
          params: { learningRate: 0.03, 'network.layers': '[16,3]' },
          state: 'finished',
          metric: 0.3,
          pruned: false,
          best: true,
        },
        {
          trial: 4,
          params: { learningRate: 0.04, 'network.layers': '[16,4]' },
          state: 'failed',
          metric: null,
          pruned: false,
          best: false,
        },
      ]);
    });

    it('prefers tuning.json and its best once the search succeeded', async () => {
      const spec = await tuned();
      const artifact = '/artifacts/tuned-1';
      const snapshot = snapshotOf(
        undefined,
        observed({ runs: [run({ name: 'tuned', number: 1, artifactUri: artifact, spec })] }),
      );
      const record = (n: number, state: string, metric: number | null) => ({
        trial: n,
        dir: `trials/${n}`,
        params: { learningRate: n },
        state,
        rung: 0,
        budget: 10,
        epochs: 10,
        metric,
        seconds: 1,
        runs: [],
      });
      const tuningFile = {
        formatVersion: 1,
        state: 'succeeded',
        algorithm: 'halving',
        metric: 'val_loss',
        goal: 'minimize',
        parallel: 2,
        schedule: [],
        space: {},
        startedAt: '2026-03-01T00:00:00Z',
        best: { trial: 2, dir: 'trials/2', params: {}, metric: 0.2, epochs: 10 },
        trials: [record(1, 'pruned', 0.1), record(2, 'completed', 0.2), record(3, 'completed', 0.25)],
      };
      const io = fakeIO({
        logs: { 'tuned#1': [trial(1, 'started')] },
        files: { [`${artifact}/tuning.json`]: JSON.stringify(tuningFile) },
      });
      const doc = okDoc(
        'trainingrun',
        await createViewBuilder()({ view: 'trainingrun', name: 'tuned', limit: 20 }, snapshot, io),
      );
      expect(doc.run?.tuning?.trials.map((t) => [t.trial, t.state, t.pruned, t.best])).toEqual([
        [1, 'pruned', true, false],
        [2, 'completed', false, true],
        [3, 'completed', false, false],
      ]);
    });
  });
});
