/**
 * What Vertex AI Vizier cannot run as the manifest says is refused at plan time on the field's
 * line, with the fix; the median rule plans with a note (providers/gcp/vizier.ts `vizierProblems`,
 * through `openProject` as plan and apply call it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openProject } from '../../../controller/cli/project.js';
import { validateGcp } from '../../../providers/gcp/index.js';
import type { ValidateResource } from '../../../providers/provider.js';
import { gcpProjectFile } from './project-file.js';
import { runCli } from '../../e2e/cli.js';

const run = (name: string, tuning: string): string => `apiVersion: mlform/v1
kind: TrainingRun
metadata:
  name: ${name}
spec:
  trainer: {builtin: {task: regression, data: {uri: gs://b/cars.json, target: mpg, features: [hp]}}}
  resources:
    machineType: n1-standard-4
  tuning:
    trials: 12
${tuning}`;

const MANIFESTS = [
  run(
    'tpe',
    `    sampler: {type: tpe}
    pruner: {type: none}
    space: {learningRate: {logUniform: [0.001, 0.1]}}
`,
  ),
  run(
    'asha',
    `    sampler: {type: random}
    pruner: {type: asha, eta: 3}
    space: {learningRate: {logUniform: [0.001, 0.1]}}
`,
  ),
  run(
    'halving',
    `    space: {learningRate: {logUniform: [0.001, 0.1]}}
`,
  ),
  run(
    'grid',
    `    sampler: {type: grid}
    algorithm: random
    space:
      epochs: {int: [2, 4]}
      learningRate: {logUniform: [0.001, 0.1], points: 3}
      network.dropout: {uniform: [0, 0.5], points: 3}
`,
  ),
  run(
    'median',
    `    pruner: {type: median, warmupEpochs: 2}
    space:
      optimizer: {choice: [adam, sgd]}
      learningRate: {logUniform: [0.001, 0.1], when: {key: optimizer, in: [adam]}}
`,
  ),
  run(
    'objectives',
    `    algorithm: random
    metric: val_loss
    objectives: [{metric: modelBytes, goal: minimize}, {metric: parameters, goal: minimize}]
    space: {learningRate: {logUniform: [0.001, 0.1]}}
`,
  ),
].join('---\n');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-vizier-plan-'));
  await writeFile(join(dir, 'mlform.yaml'), gcpProjectFile('us-central1', 'us-central1'));
  await writeFile(join(dir, 'tuned.yaml'), MANIFESTS);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('plan-time refusals of what Vizier cannot run', () => {
  it('names the field, its line and the fix; the median rule is a note', async () => {
    const { diagnostics } = await openProject([dir]);
    const shown = diagnostics.map(
      (d) => `${d.address} ${d.line}:${d.col} ${d.severity} ${d.code} ${d.message.split(':')[0]}`,
    );
    // The value of the field (the key when it is a map; `tuning:` for the defaulted `algorithm`).
    // A grid over a continuous range, a bad `when` and a repeated objective are refused for every
    // provider (test/resources/tuning-*-checks.test.ts); these are Vizier's own refusals.
    expect(shown).toEqual([
      'TrainingRun/tpe 11:21 error gcp-tuning-sampler spec.tuning.sampler.type',
      'TrainingRun/asha 26:20 error gcp-tuning-pruner spec.tuning.pruner.type',
      'TrainingRun/halving 37:3 error gcp-tuning-algorithm spec.tuning.algorithm',
      'TrainingRun/median 68:42 error gcp-tuning-pruner-option spec.tuning.pruner.warmupEpochs',
      'TrainingRun/median 68:20 warning gcp-tuning-median spec.tuning.pruner.type',
    ]);
    const byCode = (code: string) => diagnostics.find((d) => d.code === code);
    expect(byCode('gcp-tuning-sampler')?.hint).toMatch(/sampler: \{type: bayesian\}.*tuning: 'in-job'/);
    expect(byCode('gcp-tuning-pruner')?.hint).toMatch(/pruner: \{type: median\}.*pruner: \{type: none\}/);
    expect(byCode('gcp-tuning-algorithm')?.hint).toMatch(/pruner: \{type: median\}.*algorithm: random/);
    expect(byCode('gcp-tuning-median')?.message).toContain('running average of the values it reported');
  });

  it('takes every combination Vizier has; with in-job only `bayesian` is refused', () => {
    const base = { trials: 4, parallel: 1, metric: 'val_loss', goal: 'minimize', algorithm: 'random' };
    const resource = (tuning: Record<string, unknown>): ValidateResource => {
      const spec = {
        resources: { machineType: 'n1-standard-4', spot: false },
        tuning: { ...base, ...tuning },
      };
      return {
        kind: 'TrainingRun',
        name: 't',
        address: 'TrainingRun/t',
        manifest: { spec },
        source: { file: 'x.yaml', line: 1, col: 1 },
      };
    };
    const settings = { trainingRegion: 'us-central1', region: 'us-central1' };
    const space = {
      optimizer: { choice: ['adam', 'sgd'] },
      batchSize: { choice: [16, 32] },
      epochs: { int: [2, 4], when: { key: 'batchSize', in: [32] } },
      learningRate: { logUniform: [0.001, 0.1], points: 3, when: { key: 'optimizer', in: ['adam'] } },
      'network.layers': { layers: { count: [1, 3], units: [8, 64] } },
    };
    const fine = [
      { sampler: { type: 'random' }, space },
      { sampler: { type: 'grid' }, space },
      { sampler: { type: 'bayesian' }, pruner: { type: 'none' }, space },
      { algorithm: 'halving', pruner: { type: 'none' }, space },
      { objectives: [{ metric: 'modelBytes', goal: 'minimize' }], selection: 'knee', space },
    ].map(resource);
    expect(validateGcp(settings, fine, {})).toEqual([]);
    const inJob = validateGcp(
      { ...settings, tuning: 'in-job' },
      [
        resource({ sampler: { type: 'tpe' }, algorithm: 'halving', space }),
        resource({ sampler: { type: 'bayesian' }, space }),
      ],
      {},
    );
    expect(inJob.map((d) => [d.code, d.path])).toEqual([
      ['gcp-tuning-sampler', ['spec', 'tuning', 'sampler', 'type']],
    ]);
  });
});

describe('examples/gcp-tuning', () => {
  it('plans with the median note only', async () => {
    const { diagnostics } = await openProject(['examples/gcp-tuning']);
    expect(diagnostics.map((d) => `${d.line}:${d.col} ${d.severity} ${d.code}`)).toEqual([
      '29:20 warning gcp-tuning-median',
    ]);
  });
});

describe('mlform plan (the built CLI)', () => {
  it('prints file:line:col, the source line and the fix, and exits 1', () => {
    // Validation fails before any call: the endpoint is never reached.
    const r = runCli(['plan', join(dir, 'tuned.yaml'), join(dir, 'mlform.yaml')], 60_000, {
      MLFORM_GCP_API_ENDPOINT: 'http://127.0.0.1:9',
    });
    expect(r.code).toBe(1);
    expect(r.out).toContain(
      'tuned.yaml:11:21 error [gcp-tuning-sampler] spec.tuning.sampler.type: Vertex AI Vizier has no TPE sampler',
    );
    expect(r.out).toContain('> 11 |     sampler: {type: tpe}');
    expect(r.out).toContain('hint: use `sampler: {type: bayesian}`');
    expect(r.out).toContain('tuned.yaml:37:3 error [gcp-tuning-algorithm]');
  });
});
