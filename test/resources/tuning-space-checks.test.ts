/**
 * Plan checks of the tuning space and sampler (resources/tuning-space-checks.ts): each refusal
 * with its code, field path and hint; positions through the manifest loader; the local
 * provider's refusal of Vizier's `bayesian`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadManifests } from '../../manifests/load.js';
import { formatPath, type Diagnostic } from '../../resources/diagnostic.js';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import { checkLocalSampler, checkTuningSpace } from '../../resources/tuning-space-checks.js';
import { validateLocalSamplers } from '../../providers/local/tuning-sampler.js';

type Tuning = NonNullable<TrainingRunSpec['tuning']>;
const tuningOf = (extra: Partial<Tuning>): Tuning => ({
  trials: 20,
  parallel: 1,
  metric: 'val_loss',
  goal: 'minimize',
  algorithm: 'random',
  space: {},
  ...extra,
});
const only = (diagnostics: Diagnostic[]): Diagnostic => {
  expect(diagnostics).toHaveLength(1);
  return diagnostics[0];
};
const brief = (d: Diagnostic) => ({ severity: d.severity, code: d.code, path: d.path?.join('.') });

describe('checkTuningSpace', () => {
  it('accepts a well-formed conditional space with layers and tpe', () => {
    const diagnostics = checkTuningSpace(
      tuningOf({
        sampler: { type: 'tpe', startupTrials: 5, candidates: 32 },
        space: {
          optimizer: { choice: ['adam', 'sgd'] },
          learningRate: { logUniform: [1e-4, 1e-1], when: { key: 'optimizer', in: ['sgd'] } },
          'network.layers': { layers: { count: [1, 3], units: [8, 128] } },
        },
      }),
    );
    expect(diagnostics).toEqual([]);
  });

  it('refuses tpe options on another sampler, and warns when every trial is a start-up trial', () => {
    expect(checkTuningSpace(tuningOf({ sampler: { type: 'random', candidates: 10 } })).map(brief)).toEqual([
      { severity: 'error', code: 'tuning-sampler-option', path: 'spec.tuning.sampler.candidates' },
    ]);
    const startup = only(checkTuningSpace(tuningOf({ trials: 8, sampler: { type: 'tpe' } })));
    expect(brief(startup)).toEqual({
      severity: 'warning',
      code: 'tuning-tpe-startup',
      path: 'spec.tuning.trials',
    });
    expect(startup.hint).toContain('raise trials above 10');
  });

  it('checks `when`: the key exists, is a choice or int, values in its domain, no cycles', () => {
    const space: Tuning['space'] = {
      optimizer: { choice: ['adam', 'sgd'] },
      dropout: { uniform: [0, 0.5] },
      batchSize: { int: [8, 64] },
      learningRate: { logUniform: [1e-4, 1e-1], when: { key: 'optimiser', in: ['sgd'] } },
      epochs: { int: [5, 10], when: { key: 'dropout', in: [0.1] } },
      seed: { int: [1, 3], when: { key: 'optimizer', in: ['adamw', 'sgd'] } },
      'network.activation': { choice: ['relu'], when: { key: 'batchSize', in: [4, 16] } },
      'network.type': { choice: ['mlp'], when: { key: 'network.dropout', in: [1] } },
      'network.dropout': { int: [0, 1], when: { key: 'network.type', in: ['mlp'] } },
    };
    const diagnostics = checkTuningSpace(tuningOf({ space }));
    expect(diagnostics.map(brief)).toEqual([
      { severity: 'error', code: 'tuning-when-key', path: 'spec.tuning.space.learningRate.when.key' },
      { severity: 'error', code: 'tuning-when-key', path: 'spec.tuning.space.epochs.when.key' },
      { severity: 'error', code: 'tuning-when-value', path: 'spec.tuning.space.seed.when.in.0' },
      {
        severity: 'error',
        code: 'tuning-when-value',
        path: 'spec.tuning.space.network.activation.when.in.0',
      },
      { severity: 'error', code: 'tuning-when-cycle', path: 'spec.tuning.space.network.type.when.key' },
      { severity: 'error', code: 'tuning-when-cycle', path: 'spec.tuning.space.network.dropout.when.key' },
    ]);
    expect(diagnostics[0].hint).toBe('did you mean "optimizer"?');
    expect(diagnostics[2].hint).toBe('one of "adam", "sgd"');
    expect(diagnostics[3].hint).toBe('an integer in [8, 64]');
    expect(diagnostics[4].message).toBe(
      'conditions form a cycle: network.type -> network.dropout -> network.type',
    );
  });

  it('checks `layers` (network.layers only, ranges) and `points` (uniform/logUniform only)', () => {
    const diagnostics = checkTuningSpace(
      tuningOf({
        space: {
          'network.layers': { layers: { count: [3, 1], units: [8, 128] } },
          batchSize: { int: [8, 64], points: 4 },
          dropout: { uniform: [0, 0.5], points: 4 },
        },
      }),
    );
    expect(diagnostics.map(brief)).toEqual([
      { severity: 'error', code: 'tuning-range', path: 'spec.tuning.space.network.layers.layers.count' },
      { severity: 'error', code: 'tuning-points', path: 'spec.tuning.space.batchSize.points' },
      { severity: 'warning', code: 'tuning-points-unused', path: 'spec.tuning.space.dropout.points' },
    ]);
    const wide = checkTuningSpace(
      tuningOf({ space: { 'network.layers': { layers: { count: [1, 2], units: [8, 8192] } } } }),
    );
    expect(wide.map(brief)).toEqual([
      { severity: 'error', code: 'tuning-range', path: 'spec.tuning.space.network.layers.layers.units.1' },
    ]);
    const misplaced = checkTuningSpace(
      tuningOf({ space: { epochs: { layers: { count: [1, 2], units: [4, 8] } } } }),
    );
    expect(misplaced.map(brief)).toEqual([
      { severity: 'error', code: 'tuning-layers-key', path: 'spec.tuning.space.epochs.layers' },
    ]);
  });

  it('checks the grid: points for floats, int ranges of at most 100, at most 10000 combinations, trials', () => {
    const refused = checkTuningSpace(
      tuningOf({
        sampler: { type: 'grid' },
        space: {
          dropout: { uniform: [0, 0.5] },
          batchSize: { int: [1, 200] },
          'network.layers': { layers: { count: [1, 2], units: [1, 512] } },
        },
      }),
    );
    expect(refused.map(brief)).toEqual([
      { severity: 'error', code: 'tuning-grid-points', path: 'spec.tuning.space.dropout.uniform' },
      { severity: 'error', code: 'tuning-grid-range', path: 'spec.tuning.space.batchSize.int' },
      { severity: 'error', code: 'tuning-grid-range', path: 'spec.tuning.space.network.layers.layers.units' },
    ]);
    expect(refused[1].hint).toContain('`points`');
    const huge = checkTuningSpace(
      tuningOf({
        sampler: { type: 'grid' },
        space: { batchSize: { int: [1, 100] }, epochs: { int: [1, 100] }, seed: { int: [1, 2] } },
      }),
    );
    expect(huge.map(brief)).toEqual([
      { severity: 'error', code: 'tuning-grid-size', path: 'spec.tuning.space' },
    ]);
    const small = checkTuningSpace(
      tuningOf({
        trials: 20,
        sampler: { type: 'grid' },
        space: { dropout: { uniform: [0, 0.5], points: 3 }, optimizer: { choice: ['adam', 'sgd'] } },
      }),
    );
    expect(small.map(brief)).toEqual([
      { severity: 'warning', code: 'tuning-grid-trials', path: 'spec.tuning.trials' },
    ]);
    expect(small[0].message).toBe('the grid has 6 combinations: the study ends after 6 of the 20 trials');
  });

  it('refuses bayesian on the local engine only', () => {
    const spec = { tuning: tuningOf({ sampler: { type: 'bayesian' } }) } as TrainingRunSpec;
    expect(checkTuningSpace(spec.tuning as Tuning)).toEqual([]);
    const local = only(checkLocalSampler(spec));
    expect([local.code, formatPath(local.path ?? []), local.hint]).toEqual([
      'tuning-sampler-local',
      'spec.tuning.sampler.type',
      'use tpe locally',
    ]);
  });
});

describe('positions of the checks in a manifest', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mlform-space-checks-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const manifest = (tuning: string) => `apiVersion: mlform/v1
kind: TrainingRun
metadata:
  name: tuned
spec:
  trainer:
    builtin:
      task: classification
      data: {uri: file://iris.csv, target: species}
      network: {type: mlp, layers: [16]}
      hyperparameters: {epochs: 10}
  tuning:
${tuning}`;

  it('point at the field (file:line:col) through the loader', async () => {
    const file = join(dir, 'run.yaml');
    await writeFile(
      file,
      manifest(`    trials: 12
    sampler: {type: tpe}
    space:
      learningRate: {logUniform: [0.001, 0.1], when: {key: optimiser, in: [sgd]}}
      optimizer: {choice: [adam, sgd]}
      network.layers: {layers: {count: [1, 3], units: [8, 64]}}
`),
    );
    const { diagnostics } = await loadManifests([file]);
    const errors = diagnostics.filter((d) => d.severity === 'error');
    expect(errors.map((d) => [d.code, d.line, d.col])).toEqual([['tuning-when-key', 16, 60]]);
    expect(errors[0].file).toBe(file);
  });

  it('are what the local provider says about bayesian, at the sampler type', async () => {
    const file = join(dir, 'bayes.yaml');
    await writeFile(
      file,
      manifest(
        `    trials: 12\n    sampler: {type: bayesian}\n    space: {learningRate: {logUniform: [0.001, 0.1]}}\n`,
      ),
    );
    const { desired, diagnostics } = await loadManifests([file]);
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const [run] = desired.resources;
    const found = validateLocalSamplers([
      {
        kind: 'TrainingRun',
        name: run.name,
        address: run.address,
        manifest: run.manifest,
        source: run.source,
      },
    ]);
    expect(found.map((d) => [d.code, d.address, d.file, d.hint])).toEqual([
      ['tuning-sampler-local', 'TrainingRun/tuned', file, 'use tpe locally'],
    ]);
  });
});
