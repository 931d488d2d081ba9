/**
 * The operator policy checked against the desired state (SECURITY.md, "operator policy"). Pure
 * (the clock is read only to ask croner whether a cron ever fires): the policy was loaded and validated at the edge (`controller/cli/policy-file.ts`); this turns
 * every rule a manifest breaks into an error at the manifest's field, naming the rule and the
 * policy file, so a commit that asks for more than the operator allows never reaches a plan.
 * Prune and destroy are plan options, enforced in `plan-prune.ts` with `policyDeletes` below.
 */
import type { DesiredState, LoadedResource } from '../../manifests/load.js';
import { error, type Diagnostic, type FieldPath } from '../../resources/diagnostic.js';
import type { Policy, PolicyRule } from '../../resources/policy.js';
import { nextFireTime, normalizeScheduleSpec } from '../../resources/schedule.js';
import type { Desired } from './plan-context.js';

export interface LoadedPolicy {
  policy: Policy;
  /** Absolute path of the policy file, named in every message. */
  file: string;
}

/** Whether a plan may delete what the manifests no longer name, and whether it may destroy all. */
export interface PolicyDeletes {
  prune: boolean;
  destroy: boolean;
  /** The policy file, for the messages. */
  file: string;
}

export const policyDeletes = (loaded: LoadedPolicy): PolicyDeletes => ({
  prune: loaded.policy.allowPrune ?? true,
  destroy: loaded.policy.allowDestroy ?? true,
  file: loaded.file,
});

/** `policy: accelerator count 8 exceeds maxGpusPerRun 4 (policy /etc/mlform/policy.yaml)` */
export function policyError(
  rule: PolicyRule,
  what: string,
  file: string,
  extra: Partial<Diagnostic> = {},
): Diagnostic {
  return error('policy', `policy: ${what} (policy ${file})`, {
    hint: `the operator's policy sets ${rule}; change the manifest to fit it, or ask the operator to change ${file}`,
    ...extra,
  });
}

export function checkPolicy(desired: DesiredState, loaded: LoadedPolicy): Diagnostic[] {
  const { policy, file } = loaded;
  const out: Diagnostic[] = [];
  const at = (r: LoadedResource, path: FieldPath): Partial<Diagnostic> => ({
    address: r.address,
    file: r.source.file,
    line: r.source.line,
    col: r.source.col,
    path,
  });
  const fail = (rule: PolicyRule, what: string, where: Partial<Diagnostic>) =>
    out.push(policyError(rule, what, file, where));
  const notIn = (list: readonly string[] | undefined, value: string) =>
    list !== undefined && !list.includes(value);
  const listed = (list: readonly string[]) => list.map((v) => JSON.stringify(v)).join(', ') || '(none)';

  const project = desired.project;
  const gcp = project?.config.gcp;
  const cloud = project?.config.provider === 'gcp';
  if (project && gcp && policy.regions) {
    for (const key of ['region', 'trainingRegion'] as const) {
      const region = gcp[key];
      if (region !== undefined && notIn(policy.regions, region)) {
        fail('regions', `region "${region}" is not one of the allowed regions ${listed(policy.regions)}`, {
          file: project.file,
          path: ['gcp', key],
        });
      }
    }
  }

  // Adoption makes objects made outside mlform the stack's, to change and delete like its own.
  if (project && policy.allowImport === false && (project.config.import ?? []).length > 0) {
    fail(
      'allowImport',
      'mlform.yaml adopts objects made outside mlform (`import:`), but allowImport is false',
      {
        file: project.file,
        line: 1,
        col: 1,
        path: ['import'],
      },
    );
  }

  const runs = desired.resources.filter(
    (r): r is Desired<'TrainingRun'> => r.kind === 'TrainingRun' && r.manifest.kind === 'TrainingRun',
  );
  const runsByName = new Map(runs.map((r) => [r.name, r]));
  /** Trials a run trains side by side: each holds its own machine and GPUs. */
  const parallelOf = (r: Desired<'TrainingRun'>) => r.manifest.spec.tuning?.parallel ?? 1;

  for (const run of runs) {
    const spec = run.manifest.spec;
    const machines: {
      machineType: string;
      accelerator?: { type: string; count: number };
      path: FieldPath;
    }[] = [
      { ...spec.resources, path: ['spec', 'resources'] },
      ...(spec.resources.fallbacks ?? []).map((f, i) => ({
        ...f,
        path: ['spec', 'resources', 'fallbacks', i] as FieldPath,
      })),
    ];
    const parallel = parallelOf(run);
    for (const machine of machines) {
      // Machine types only mean something on the cloud: locally the default is never used.
      if (cloud && notIn(policy.machineTypes, machine.machineType)) {
        fail(
          'machineTypes',
          `machine type "${machine.machineType}" is not one of the allowed machineTypes ${listed(policy.machineTypes ?? [])}`,
          at(run, [...machine.path, 'machineType']),
        );
      }
      const accelerator = machine.accelerator;
      if (!accelerator) continue;
      if (notIn(policy.acceleratorTypes, accelerator.type)) {
        fail(
          'acceleratorTypes',
          `accelerator type "${accelerator.type}" is not one of the allowed acceleratorTypes ${listed(policy.acceleratorTypes ?? [])}`,
          at(run, [...machine.path, 'accelerator', 'type']),
        );
      }
      const gpus = accelerator.count * parallel;
      if (policy.maxGpusPerRun !== undefined && gpus > policy.maxGpusPerRun) {
        const alone = accelerator.count > policy.maxGpusPerRun;
        fail(
          'maxGpusPerRun',
          alone
            ? `accelerator count ${accelerator.count} exceeds maxGpusPerRun ${policy.maxGpusPerRun}`
            : `${accelerator.count} GPU${accelerator.count === 1 ? '' : 's'} × ${parallel} parallel trials = ${gpus} GPUs exceeds maxGpusPerRun ${policy.maxGpusPerRun}`,
          at(run, alone ? [...machine.path, 'accelerator', 'count'] : ['spec', 'tuning', 'parallel']),
        );
      }
    }
    const uri = spec.trainer.builtin?.data.uri;
    const bucket = uri?.startsWith('gs://') ? uri.slice('gs://'.length).split('/')[0] : undefined;
    if (bucket !== undefined && policy.buckets && !allowedBuckets(policy.buckets).has(bucket)) {
      fail(
        'buckets',
        `bucket "${bucket}" is not one of the allowed buckets ${listed(policy.buckets)}`,
        at(run, ['spec', 'trainer', 'builtin', 'data', 'uri']),
      );
    }
  }

  // A suspended schedule does not fire; resuming it is a commit, checked again.
  const schedules = desired.resources
    .filter((r): r is Desired<'Schedule'> => r.kind === 'Schedule' && r.manifest.kind === 'Schedule')
    .filter((r) => !r.manifest.spec.suspend);

  if (policy.maxConcurrentRuns !== undefined) {
    const max = policy.maxConcurrentRuns;
    // Every TrainingRun may be training at once (apply starts them together), and each Schedule
    // adds one run of its template at a time; `Allow` lets its runs pile up without bound.
    const contributions: { trainings: number; where: Partial<Diagnostic> }[] = [
      ...runs.map((run) => ({
        trainings: parallelOf(run),
        where: at(run, parallelOf(run) > 1 ? ['spec', 'tuning', 'parallel'] : ['metadata', 'name']),
      })),
      ...schedules
        .filter((schedule) => schedule.manifest.spec.concurrencyPolicy !== 'Allow')
        .map((schedule) => {
          const template = runsByName.get(schedule.manifest.spec.trainingRun);
          return {
            trainings: template ? parallelOf(template) : 1,
            where: at(schedule, ['spec', 'trainingRun']),
          };
        }),
    ];
    const total = contributions.reduce((sum, c) => sum + c.trainings, 0);
    if (total > max) {
      // Reported once, at the resource that takes the count over the limit.
      let sum = 0;
      const crossing = contributions.find((c) => (sum += c.trainings) > max) ?? contributions[0];
      fail(
        'maxConcurrentRuns',
        `the manifests may have ${total} trainings running at once (one per TrainingRun, tuning.parallel for a tuned one, one per Schedule), exceeding maxConcurrentRuns ${max}`,
        crossing.where,
      );
    }
    for (const schedule of schedules) {
      if (schedule.manifest.spec.concurrencyPolicy !== 'Allow') continue;
      fail(
        'maxConcurrentRuns',
        `concurrencyPolicy Allow lets this Schedule's runs overlap without bound, which maxConcurrentRuns ${max} cannot allow`,
        {
          ...at(schedule, ['spec', 'concurrencyPolicy']),
          hint: 'use Forbid (skip a fire while the last run trains) or Replace',
        },
      );
    }
  }

  if (policy.maxFiresPerHour !== undefined || policy.maxTotalFiresPerHour !== undefined) {
    let total = 0;
    let reported = false;
    for (const schedule of schedules) {
      const fires = firesPerHour(schedule.manifest.spec);
      // The loader turned `every` into `cron`; the CLI moves the position to `every` when that is
      // what the manifest says (policy-file.ts).
      const where = at(schedule, ['spec', 'cron']);
      if (policy.maxFiresPerHour !== undefined && fires > policy.maxFiresPerHour) {
        fail(
          'maxFiresPerHour',
          `this schedule fires ${fires} times an hour, exceeding maxFiresPerHour ${policy.maxFiresPerHour}`,
          where,
        );
      }
      total += fires;
      if (policy.maxTotalFiresPerHour !== undefined && total > policy.maxTotalFiresPerHour && !reported) {
        reported = true;
        fail(
          'maxTotalFiresPerHour',
          `with this schedule the Schedules fire up to ${total} times an hour together, exceeding maxTotalFiresPerHour ${policy.maxTotalFiresPerHour}`,
          where,
        );
      }
    }
  }

  for (const endpoint of desired.resources) {
    if (endpoint.kind !== 'DeployedEndpoint' || endpoint.manifest.kind !== 'DeployedEndpoint') continue;
    const scaling = endpoint.manifest.spec.scaling;
    if (!scaling) continue;
    if (policy.maxEndpointInstances !== undefined && scaling.maxInstances > policy.maxEndpointInstances) {
      fail(
        'maxEndpointInstances',
        `scaling.maxInstances ${scaling.maxInstances} exceeds maxEndpointInstances ${policy.maxEndpointInstances}`,
        {
          ...at(endpoint, ['spec', 'scaling', 'maxInstances']),
          hint: `set spec.scaling.maxInstances (it overrides the preset) to at most ${policy.maxEndpointInstances}`,
        },
      );
    }
    if (
      policy.maxEndpointMinInstances !== undefined &&
      scaling.minInstances > policy.maxEndpointMinInstances
    ) {
      fail(
        'maxEndpointMinInstances',
        `scaling.minInstances ${scaling.minInstances} exceeds maxEndpointMinInstances ${policy.maxEndpointMinInstances}`,
        {
          ...at(endpoint, ['spec', 'scaling', 'minInstances']),
          hint: `set spec.scaling.minInstances (it overrides the preset) to at most ${policy.maxEndpointMinInstances}`,
        },
      );
    }
  }
  return out;
}

const allowedBuckets = (buckets: readonly string[]): Set<string> =>
  new Set(buckets.map((b) => b.replace(/^gs:\/\//, '').replace(/\/$/, '')));

/**
 * The most fires of a schedule in any 60 minutes. A cron is a cross product of its fields, so every
 * hour it fires in, it fires at the same minutes, and any 60 consecutive minutes meet each minute of
 * the hour once: the answer is the size of the minute field, or 0 when croner finds no fire time at
 * all (`0 0 30 2 *`). Counting fires with croner instead costs about 0.3 ms a fire in a time zone:
 * a second or more per schedule for a window long enough to be sure.
 */
export function firesPerHour(spec: Desired<'Schedule'>['manifest']['spec']): number {
  // A one-off fires once: in the hour of its instant, while that is ahead.
  if (spec.at !== undefined) return nextFireTime({ ...spec, suspend: false }) ? 1 : 0;
  const cron = normalizeScheduleSpec(spec).cron;
  if (!cron) return 0;
  let next: Date | undefined;
  try {
    next = nextFireTime({ ...spec, suspend: false });
  } catch {
    next = undefined;
  }
  if (!next) return 0;
  return minutesMatched(cron.split(' ')[0] ?? '*');
}

/** Minutes 0-59 a cron minute field matches; 60 (every minute) when it cannot be read. */
export function minutesMatched(field: string): number {
  const minutes = new Set<number>();
  for (const item of field.split(',')) {
    const match = /^(\*|\d+)(?:-(\d+))?(?:\/(\d+))?$/.exec(item.trim());
    if (!match) return 60;
    const [, first, last, stepText] = match;
    const from = first === '*' ? 0 : Number(first);
    const to = first === '*' ? 59 : last !== undefined ? Number(last) : stepText !== undefined ? 59 : from;
    const step = stepText !== undefined ? Number(stepText) : 1;
    if (step < 1 || from > 59 || to > 59 || from > to) return 60;
    for (let m = from; m <= to; m += step) minutes.add(m);
  }
  return minutes.size;
}
