import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { loadManifests } from '../../manifests/load.js';

const DIR = 'test/fixtures/invalid';

/** fixture -> the first error: position, code, exact message, and the hint where one is expected. */
const EXPECTED: Record<string, { at: string; code: string; message: string; hint?: string }> = {
  'wrong-type.yaml': {
    at: '11:20',
    code: 'wrong-type',
    message: 'spec.trainer.builtin.hyperparameters.batchSize must be an integer, got string "32"',
  },
  'unknown-field.yaml': {
    at: '11:9',
    code: 'unknown-field',
    message: 'unknown field "epcohs" in spec.trainer.builtin.hyperparameters',
    hint: 'did you mean "epochs"?',
  },
  'unknown-top-level-field.yaml': {
    at: '5:1',
    code: 'unknown-field',
    message: 'unknown field "specs" in the document',
    hint: 'did you mean "spec"?',
  },
  'missing-required.yaml': {
    at: '5:1',
    code: 'missing-field',
    message: 'missing required field "model" in spec',
  },
  'missing-api-version.yaml': {
    at: '1:1',
    code: 'missing-field',
    message: 'document 1 has no apiVersion',
    hint: 'add `apiVersion: mlform/v1`',
  },
  'bad-name.yaml': {
    at: '4:9',
    code: 'invalid-name',
    message: 'name "My_Model" is not a DNS-1123 label',
    hint: 'use lowercase letters, digits and \'-\', starting and ending with a letter or digit; try "my-model"',
  },
  'name-too-long.yaml': {
    at: '4:9',
    code: 'invalid-name',
    message:
      'name "a-very-long-model-name-that-goes-on-and-on-and-on-x" is 51 characters long; the limit is 49',
  },
  'dangling-reference.yaml': {
    at: '11:10',
    code: 'dangling-reference',
    message: 'RegisteredModel "mgp" does not exist',
    hint: 'did you mean "mpg"?',
  },
  'duplicate-name.yaml': {
    at: '9:9',
    code: 'duplicate-name',
    message: 'RegisteredModel "mpg" is defined twice',
    hint: 'first defined at test/fixtures/invalid/duplicate-name.yaml:4:9; rename one of them',
  },
  'dependency-cycle.yaml': {
    at: '5:15',
    code: 'dependency-cycle',
    message:
      'dependency cycle: RegisteredModel/a -> RegisteredModel/b -> RegisteredModel/c -> RegisteredModel/a',
  },
  'self-dependency.yaml': {
    at: '5:15',
    code: 'dependency-cycle',
    message: 'RegisteredModel/a depends on itself',
  },
  'bad-cron.yaml': {
    at: '15:9',
    code: 'cron-invalid',
    message: 'invalid cron "0 25 * * *": Invalid value for hour: 25',
  },
  'cron-six-fields.yaml': {
    at: '15:9',
    code: 'cron-fields',
    message: 'cron "0 0 9 * * 1" has 6 fields; 5 are needed (minute hour day month weekday)',
  },
  'cron-never-fires.yaml': { at: '15:9', code: 'cron-never', message: 'cron "0 0 30 2 *" never fires' },
  'unknown-time-zone.yaml': {
    at: '16:13',
    code: 'time-zone',
    message: 'unknown time zone "Europe/Warsw"',
    hint: 'did you mean "Europe/Warsaw"?',
  },
  'time-zone-case.yaml': {
    at: '16:13',
    code: 'time-zone',
    message: 'time zone "europe/warsaw" has the wrong case; IANA names are case-sensitive',
    hint: 'did you mean "Europe/Warsaw"?',
  },
  'schedule-without-cron.yaml': {
    at: '13:1',
    code: 'schedule-when',
    message: 'a Schedule needs exactly one of `cron`, `every` or `at`',
  },
  'trigger-dangling-endpoint.yaml': {
    at: '32:25',
    code: 'dangling-reference',
    message: 'DeployedEndpoint "mpg-apl" does not exist',
    hint: 'did you mean "mpg-api"?',
  },
  'trigger-unmonitored.yaml': {
    at: '31:25',
    code: 'trigger-unmonitored',
    message: 'DeployedEndpoint "mpg-api" has no `monitoring`: nothing would fire this trigger',
    hint: 'add `monitoring: {}` (or `monitoring: {window: 1h}`) to the spec of DeployedEndpoint "mpg-api"',
  },
  'trigger-wrong-bound.yaml': {
    at: '32:54',
    code: 'trigger-bound',
    message: 'mae is an error: bound it with `max`, not `min`',
    hint: 'write `max: 3` (fire when mae is above it)',
  },
  'schedule-cron-and-at.yaml': {
    at: '13:1',
    code: 'schedule-when',
    message: 'a Schedule needs exactly one of `cron`, `every` or `at`',
    hint: 'e.g. `cron: "0 9 * * 1"`, `every: {hours: 6}` or `at: "2026-12-24T06:00"` (once)',
  },
  'schedule-at-offset.yaml': {
    at: '15:7',
    code: 'schedule-at',
    message: '"2026-12-24T06:00+01:00" has a UTC offset; `at` is a local date-time',
    hint: 'write local time, the zone is `timeZone`: e.g. "2026-12-24T06:00"',
  },
  'schedule-at-invalid.yaml': {
    at: '15:7',
    code: 'schedule-at',
    message: '"2026-02-30T06:00" is not a valid local date-time',
    hint: 'write YYYY-MM-DDTHH:MM, e.g. "2026-12-24T06:00" (seconds optional)',
  },
  'schedule-at-gap.yaml': {
    at: '15:7',
    code: 'schedule-at',
    message: '2027-03-28T02:30 does not exist in Europe/Warsaw: the clocks skip it (daylight saving)',
    hint: 'pick a time outside the hour the clocks move forward',
  },
  'schedule-every-uneven.yaml': {
    at: '15:18',
    code: 'schedule-every',
    message: 'every 5 hours does not divide a day evenly',
  },
  'traffic-sum.yaml': { at: '15:3', code: 'traffic-sum', message: 'traffic percents sum to 110, not 100' },
  'traffic-unknown-alias.yaml': {
    at: '16:17',
    code: 'traffic-alias',
    message: 'RegisteredModel "mpg" has no alias "champoin"',
    hint: 'did you mean "champion"?',
  },
  'traffic-default-no-champion.yaml': {
    at: '11:10',
    code: 'traffic-alias',
    message: 'traffic defaults to the "champion" alias, but RegisteredModel "mpg" defines no such alias',
  },
  'traffic-version-zero.yaml': {
    at: '16:17',
    code: 'wrong-type',
    message:
      'spec.traffic[0].version must be a version number, an alias of the model, or `latest`; got number 0',
  },
  'traffic-version-type.yaml': {
    at: '16:8',
    code: 'wrong-type',
    message:
      'spec.traffic[0].version must be a version number, an alias of the model, or `latest`; got a list',
  },
  'scaling-range.yaml': {
    at: '15:27',
    code: 'scaling-range',
    message: 'scaling.minInstances (5) is above maxInstances (2)',
  },
  'endpoint-machine-on-cloud-run.yaml': {
    at: '15:3',
    code: 'endpoint-machine',
    message: 'machine is for Vertex AI Endpoints; Cloud Run sizes instances by resources',
    hint: 'set `platform: vertexEndpoint`, or use `resources: {memory, cpu}` on Cloud Run',
  },
  'vertex-min-replicas.yaml': {
    at: '16:27',
    code: 'endpoint-min-replicas',
    message: 'Vertex AI Endpoints keep at least 1 replica running (no scale to zero)',
    hint: 'set minInstances: 1, or use `platform: cloudRun` to scale to zero',
  },
  'unknown-preset.yaml': {
    at: '15:11',
    code: 'invalid-value',
    message: 'spec.preset must be one of development, production, high-traffic; got string "prod"',
    hint: 'did you mean "production"?',
  },
  'yaml-syntax.yaml': {
    at: '6:1',
    code: 'yaml-bad-indent',
    message: 'YAML: Flow map in block collection must be sufficiently indented and end with a }',
  },
  'empty.yaml': {
    at: '1:1',
    code: 'empty-file',
    message: 'test/fixtures/invalid/empty.yaml contains no YAML documents',
  },
  'only-comments.yaml': {
    at: '1:1',
    code: 'empty-file',
    message: 'test/fixtures/invalid/only-comments.yaml contains no YAML documents',
  },
  'no-kind.yaml': { at: '1:1', code: 'missing-kind', message: 'document 1 has no kind' },
  'unknown-kind.yaml': {
    at: '2:7',
    code: 'unknown-kind',
    message: 'unknown kind "Trainingrun"',
    hint: 'did you mean "TrainingRun"?',
  },
  'unknown-api-version.yaml': {
    at: '1:13',
    code: 'unknown-api-version',
    message: 'unknown apiVersion "mlform/v2"',
  },
  'duplicate-keys.yaml': { at: '5:3', code: 'yaml-duplicate-key', message: 'YAML: Map keys must be unique' },
  'unresolved-alias.yaml': {
    at: '10:24',
    code: 'yaml-unresolved-alias',
    message: 'YAML: alias *defaults refers to no anchor defined before it',
  },
  'alias-bomb.yaml': {
    at: '7:12',
    code: 'yaml-alias-expansion',
    message: 'YAML: aliases expand to too many nodes (over 100)',
  },
  'not-a-mapping.yaml': { at: '1:1', code: 'not-a-mapping', message: 'document 1 is not a mapping' },
  'tab-indent.yaml': {
    at: '4:1',
    code: 'yaml-tab-as-indent',
    message: 'YAML: Tabs are not allowed as indentation',
  },
  'enum-value.yaml': {
    at: '10:36',
    code: 'invalid-value',
    message:
      'spec.trainer.builtin.hyperparameters.optimizer must be one of adam, sgd, rmsprop; got string "adamw"',
    hint: 'did you mean "adam"?',
  },
  'forecasting-without-window.yaml': {
    at: '9:7',
    code: 'window-required',
    message: 'task "forecasting" needs data.window',
  },
  'target-in-features.yaml': {
    at: '9:61',
    code: 'target-in-features',
    message: 'the target "y" is also listed as a feature',
  },
  'trainer-both.yaml': {
    at: '6:3',
    code: 'trainer-choice',
    message: 'spec.trainer sets `builtin` and your own trainer (`command`/`container`): choose one',
  },
  'tuning-bad-range.yaml': {
    at: '13:22',
    code: 'tuning-range',
    message: 'search range for "learningRate" must be [low, high] with low < high, got [0.1, 0.001]',
  },
  'tuning-unknown-parameter.yaml': {
    at: '13:7',
    code: 'tuning-unknown-parameter',
    message: '"learning_rate" is not a tunable parameter',
    hint: 'did you mean "learningRate"?',
  },
  'unknown-accelerator.yaml': {
    at: '11:25',
    code: 'invalid-value',
    message:
      'spec.resources.accelerator.type must be one of NVIDIA_TESLA_T4, NVIDIA_TESLA_V100, NVIDIA_TESLA_P100, NVIDIA_TESLA_P4, NVIDIA_L4, NVIDIA_TESLA_A100, NVIDIA_A100_80GB, NVIDIA_H100_80GB, NVIDIA_H100_MEGA_80GB, NVIDIA_H200_141GB, NVIDIA_B200; got string "NVIDIA_TESLA_T5"',
    hint: 'did you mean "NVIDIA_TESLA_T4"?',
  },
  'data-uri-scheme.yaml': {
    at: '9:19',
    code: 'invalid-value',
    message: 'spec.trainer.builtin.data.uri is not valid: string "data.csv"',
    hint: '`file://path` (relative to the manifest file) or `gs://bucket/object`.',
  },
  'alias-reserved.yaml': {
    at: '7:5',
    code: 'alias-reserved',
    message: '"latest" is reserved: it always points at the newest version',
  },
};

describe('invalid manifest fixtures', () => {
  it('every fixture has an expectation and vice versa', () => {
    expect(readdirSync(DIR).sort()).toEqual(Object.keys(EXPECTED).sort());
    expect(Object.keys(EXPECTED).length).toBeGreaterThanOrEqual(30);
  });

  for (const [fixture, expected] of Object.entries(EXPECTED)) {
    it(fixture, async () => {
      const { desired, diagnostics } = await loadManifests([`${DIR}/${fixture}`]);
      const errors = diagnostics.filter((d) => d.severity === 'error');
      expect(errors.length).toBeGreaterThan(0);
      const first = errors[0];
      expect({
        at: `${first.line}:${first.col}`,
        code: first.code,
        message: first.message,
        ...(expected.hint !== undefined && { hint: first.hint }),
      }).toEqual(expected);
      // Every diagnostic names its file, and nothing invalid reaches the desired state.
      for (const d of errors) expect(d.file).toBe(`${DIR}/${fixture}`);
      const invalidAddresses = new Set(errors.map((d) => d.address).filter(Boolean));
      for (const r of desired.resources) expect(invalidAddresses.has(r.address)).toBe(false);
    });
  }
});
