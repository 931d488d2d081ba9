/** Plan-time checks of the gcp provider, through `openProject` as plan/apply call it: exact positions. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openProject } from '../../../controller/cli/project.js';
import { validateGcp } from '../../../providers/gcp/index.js';
import { parameterIdProblem } from '../../../providers/gcp/validate.js';
import { BARE_HYPERPARAMETERS, TUNABLE_PATHS } from '../../../resources/training-run.js';
import type { ValidateResource } from '../../../providers/provider.js';
import { gcpProjectFile } from './project-file.js';

let dir: string;

// Line numbers matter: the accelerator type is on line 14, col 35; the fallback's on line 17.
const TRAINING = `apiVersion: mlform/v1
kind: TrainingRun
metadata:
  name: mpg-mlp
spec:
  trainer:
    builtin:
      task: regression
      data: {uri: gs://b/cars.json, target: y, features: [a]}
      network: {type: mlp, layers: [8]}
      hyperparameters: {epochs: 2}
  resources:
    machineType: g2-standard-8
    accelerator: {count: 1, type: NVIDIA_L4}
    fallbacks:
      - machineType: n1-standard-8
        accelerator: {type: NVIDIA_L4, count: 1}
      - machineType: n9-weird-4
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mlform-gcp-validate-'));
  await writeFile(join(dir, 'training.yaml'), TRAINING);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('gcp validation at plan time', () => {
  it('points at the field: accelerator not offered in the training region, mismatched GPU, unknown machine', async () => {
    await writeFile(join(dir, 'mlform.yaml'), gcpProjectFile('europe-central2'));
    const { project, diagnostics } = await openProject([dir]);
    expect(project).toBeUndefined();
    const file = join(dir, 'training.yaml');
    const shown = diagnostics.map(
      (d) => `${d.file === file ? 'training.yaml' : d.file}:${d.line}:${d.col} ${d.code} ${d.message}`,
    );
    expect(shown).toEqual([
      expect.stringMatching(
        /^training\.yaml:14:35 gcp-accelerator-region spec\.resources\.accelerator\.type: NVIDIA_L4 is not offered for training in europe-central2; regions that offer it: us-central1, .*europe-west4/,
      ),
      'training.yaml:17:29 gcp-accelerator-machine spec.resources.fallbacks[0].accelerator.type: NVIDIA_L4 cannot be attached to n1-standard-8',
      expect.stringMatching(
        /^training\.yaml:17:29 gcp-accelerator-region spec\.resources\.fallbacks\[0\]\.accelerator\.type: NVIDIA_L4 is not offered/,
      ),
      'training.yaml:18:22 gcp-unknown-machine-type spec.resources.fallbacks[1].machineType: n9-weird-4 is not a machine type Vertex AI custom training offers',
    ]);
    expect(diagnostics[1].hint).toBe('NVIDIA_L4 runs on g2-* machine types');
  });

  it('the same manifests pass with a training region that offers the GPU (except the real mistakes)', async () => {
    await writeFile(join(dir, 'mlform.yaml'), gcpProjectFile('europe-west4'));
    const { diagnostics } = await openProject([dir]);
    expect(diagnostics.map((d) => d.code)).toEqual(['gcp-accelerator-machine', 'gcp-unknown-machine-type']);
  });

  it('checks Cloud Run names, GPU counts of a2/g2 machines, tuning parallelism', () => {
    const source = { file: 'x.yaml', line: 1, col: 1 };
    const resources: ValidateResource[] = [
      {
        kind: 'DeployedEndpoint',
        name: '9api-',
        address: 'DeployedEndpoint/9api-',
        manifest: { spec: {} },
        source,
      },
      {
        kind: 'TrainingRun',
        name: 't',
        address: 'TrainingRun/t',
        manifest: {
          spec: {
            resources: {
              machineType: 'a2-highgpu-2g',
              accelerator: { type: 'NVIDIA_TESLA_A100', count: 1 },
              spot: false,
            },
          },
        },
        source,
      },
      {
        kind: 'TrainingRun',
        name: 'tuned',
        address: 'TrainingRun/tuned',
        manifest: {
          spec: {
            tuning: { trials: 8, parallel: 8, metric: 'val_loss', goal: 'minimize', space: {} },
            resources: { machineType: 'n1-standard-4', spot: false },
          },
        },
        source,
      },
    ];
    const found = validateGcp({ trainingRegion: 'us-central1', region: 'us-central1' }, resources, {});
    expect(found.map((d) => [d.code, d.severity, d.path])).toEqual([
      ['gcp-service-name', 'error', ['metadata', 'name']],
      ['gcp-accelerator-count', 'error', ['spec', 'resources', 'accelerator', 'count']],
      ['gcp-tuning-parallel', 'warning', ['spec', 'tuning', 'parallel']],
    ]);
  });

  it('MLFORM_GCP_SKIP_REGION_CHECK=1 turns the region table into warnings', () => {
    const found = validateGcp(
      { trainingRegion: 'europe-central2', region: 'europe-central2' },
      [
        {
          kind: 'TrainingRun',
          name: 't',
          address: 'TrainingRun/t',
          manifest: {
            spec: {
              resources: {
                machineType: 'g2-standard-8',
                accelerator: { type: 'NVIDIA_L4', count: 1 },
                spot: false,
              },
            },
          },
          source: { file: 'x.yaml', line: 1, col: 1 },
        },
      ],
      { MLFORM_GCP_SKIP_REGION_CHECK: '1' },
    );
    expect(found.map((d) => [d.code, d.severity])).toEqual([['gcp-accelerator-region', 'warning']]);
  });

  it('tuning: halving is a plan error naming the fix, a parameter id Vertex cannot take an error at its key', async () => {
    // A project of its own below the suite's folder (removed with it), opened after the tests above.
    const tuned = join(dir, 'tuned');
    await mkdir(tuned);
    await writeFile(join(tuned, 'mlform.yaml'), gcpProjectFile('us-central1'));
    await writeFile(
      join(tuned, 'tuned.yaml'),
      `apiVersion: mlform/v1
kind: TrainingRun
metadata:
  name: tuned
spec:
  resources: {machineType: n1-standard-4}
  trainer:
    builtin: {task: classification, data: {uri: gs://b/iris.json, target: species, features: [petal]}}
  tuning:
    trials: 4
    metric: val_loss
    algorithm: halving
    space:
      learningRate: {logUniform: [0.001, 0.1]}
      network.layers: {choice: [[8], [16, 8]]}
`,
    );
    const { diagnostics } = await openProject([tuned]);
    const shown = diagnostics.map((d) => `${d.line}:${d.col} ${d.severity} ${d.code} ${d.message}`);
    expect(shown).toEqual([
      '12:16 error gcp-tuning-algorithm spec.tuning.algorithm: `algorithm: halving` (the default) stops trials by successive halving, which Vertex AI Vizier does not have: every trial would train its full epochs',
    ]);
    expect(diagnostics[0].hint).toContain('algorithm: random');
    expect(diagnostics[0].hint).toContain('pruner: {type: median}');

    // `random` is Vertex's RANDOM_SEARCH: nothing to say; the in-job search takes any key and halving.
    const resource = (algorithm: 'random' | 'halving', key: string): ValidateResource => ({
      kind: 'TrainingRun',
      name: 't',
      address: 'TrainingRun/t',
      manifest: {
        spec: {
          tuning: {
            trials: 2,
            parallel: 1,
            metric: 'm',
            goal: 'minimize',
            algorithm,
            space: { [key]: { uniform: [0, 1] } },
          },
          resources: { machineType: 'n1-standard-4', spot: false },
        },
      },
      source: { file: 'x.yaml', line: 1, col: 1 },
    });
    const settings = { trainingRegion: 'us-central1', region: 'us-central1' };
    expect(validateGcp(settings, [resource('random', 'network.layers')], {})).toEqual([]);
    expect(validateGcp({ ...settings, tuning: 'in-job' }, [resource('halving', 'a b')], {})).toEqual([]);
    const bad = validateGcp(settings, [resource('random', 'hp.dropout'), resource('random', 'a b')], {});
    expect(bad.map((d) => [d.code, d.severity, d.path, d.message])).toEqual([
      [
        'gcp-tuning-parameter-id',
        'error',
        ['spec', 'tuning', 'space', 'hp.dropout'],
        'spec.tuning.space["hp.dropout"]: "hp.dropout" cannot be a Vertex AI parameter id: the prefix `hp.` is how a trial argument names an arbitrary path',
      ],
      [
        'gcp-tuning-parameter-id',
        'error',
        ['spec', 'tuning', 'space', 'a b'],
        'spec.tuning.space["a b"]: "a b" cannot be a Vertex AI parameter id: it contains whitespace',
      ],
    ]);
    expect(bad[0].hint).toContain('letters, digits');
  });

  it('every key the manifest schema lets tuning.space have is a parameter id Vertex takes', () => {
    for (const id of [...BARE_HYPERPARAMETERS, ...TUNABLE_PATHS])
      expect([id, parameterIdProblem(id)]).toEqual([id, undefined]);
    expect(parameterIdProblem('1st')).toMatch(/start with a letter/);
    expect(parameterIdProblem('lr=0')).toMatch(/start with a letter and hold only/);
  });
});
