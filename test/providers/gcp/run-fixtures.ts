/** Runs for the gcp provider's create and register tests: data already in gs://, no GPU. */
import type { ObservedRun, PutScheduleRequest } from '../../../providers/provider.js';
import type { ScheduleSpec } from '../../../resources/schedule.js';
import type { TrainingRunSpec } from '../../../resources/training-run.js';

const data = { uri: 'gs://data/cars.json', target: 'y', features: ['a'], validationSplit: 0.2 };
const builtin = { task: 'regression', data };
const resources = { machineType: 'n1-standard-4', spot: false };
/** A builtin regression on one CPU machine; nothing to stage. */
export const gcsRunSpec = { trainer: { builtin }, resources } as unknown as TrainingRunSpec;

/** Run `mpg-mlp#number`, succeeded, with its artifact where the provider writes runs. */
export function succeededRun(number: number): ObservedRun {
  const artifactUri = `gs://mlform-test/state/demo/runs/mpg-mlp/${number}`;
  const results = { metrics: { val_mae: 2 }, baseline: { val_mae: 6 }, annotations: {} };
  const run = { name: 'mpg-mlp', number, specHash: 'f'.repeat(64), state: 'succeeded' as const };
  return { ...run, attempt: 1, createdAt: new Date().toISOString(), artifactUri, ...results };
}

/** gcsRunSpec tuned by Vertex: a random search of the learning rate, minimising val_loss. */
export function tunedRunSpec(trials: number, parallel: number): TrainingRunSpec {
  const space = { learningRate: { logUniform: [0.001, 0.1] } };
  const tuning = { trials, parallel, metric: 'val_loss', goal: 'minimize', algorithm: 'random', space };
  return { ...gcsRunSpec, tuning } as unknown as TrainingRunSpec;
}

/** A Schedule of `trainingRun` on Mondays at 06:00 UTC, concurrency Allow, history 5/3. */
export function weeklySchedule(trainingRun: string): ScheduleSpec {
  const history = { successful: 5, failed: 3 };
  const spec = {
    trainingRun,
    cron: '0 6 * * 1',
    timeZone: 'UTC',
    suspend: false,
    concurrencyPolicy: 'Allow',
    history,
  };
  return spec as unknown as ScheduleSpec;
}

/** Schedule `name` firing `template` (spec hash `4...`), as apply puts it. */
export const scheduleRequest = (
  name: string,
  spec: ScheduleSpec,
  template: TrainingRunSpec,
  specHash = '3'.repeat(64),
): PutScheduleRequest => ({
  name,
  spec,
  specHash,
  template: { spec: template, specHash: '4'.repeat(64), manifestPath: 'training.yaml' },
  labels: {},
  annotations: {},
});
