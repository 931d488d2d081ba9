/**
 * Plan-time checks of what Google would reject later (docs/architecture.md "Providers"): accelerators not
 * offered for training in the training region, unknown machine types, machine/GPU mismatches,
 * Cloud Run naming rules, tuning parallelism against the machine's vCPUs, Cloud Scheduler's
 * description limit.
 * Each diagnostic carries the resource's file and document position plus the field path;
 * `openProject` moves it onto the field.
 */
import { Cron } from 'croner';
import { error, formatPath, warning, type Diagnostic, type FieldPath } from '../../resources/diagnostic.js';
import { platformOf, type DeployedEndpointSpec } from '../../resources/deployed-endpoint.js';
import { atInstant, type ScheduleSpec } from '../../resources/schedule.js';
import type { TrainingRunSpec } from '../../resources/training-run.js';
import type { ValidateResource } from '../provider.js';
import { checkContainerEnv } from '../serving-container.js';
import type { GcpSettings } from './context.js';
import { familiesFor, familyOf, regionsOffering, TRAINING_ACCELERATORS } from './regions.js';
import { DESCRIPTION_LIMIT, scheduleDescription, schedulerCron } from './schedules.js';
import { vizierProblems } from './vizier.js';

const SERVICE_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const SERVICE_MAX = 49;
const REVISION_MAX = 63;

export function validateGcp(
  settings: Pick<GcpSettings, 'trainingRegion' | 'region'> & Partial<Pick<GcpSettings, 'now' | 'tuning'>>,
  resources: readonly ValidateResource[],
  env: Record<string, string | undefined> = process.env,
  /** The stack (its name is part of a Scheduler job's description); default: the longest one. */
  stack = 's'.repeat(20),
): Diagnostic[] {
  const out: Diagnostic[] = [];
  const now = settings.now?.() ?? new Date();
  const trust = env.MLFORM_GCP_SKIP_REGION_CHECK === '1';
  for (const r of resources) {
    const at = (path: FieldPath) => ({
      address: r.address,
      file: r.source.file,
      line: r.source.line,
      col: r.source.col,
      path,
    });
    const fail = (
      code: string,
      path: FieldPath,
      message: string,
      hint?: string,
      severity: 'error' | 'warning' = 'error',
    ) =>
      out.push(
        (severity === 'error' ? error : warning)(`gcp-${code}`, `${formatPath(path)}: ${message}`, {
          ...at(path),
          ...(hint !== undefined && { hint }),
        }),
      );

    if (r.kind === 'TrainingRun') {
      const spec = (r.manifest as { spec: TrainingRunSpec }).spec;
      // `command` runs on the local provider only; workingDir, env and network belong to it and
      // are ignored here (the container takes its own env).
      if (spec.trainer?.command !== undefined && spec.trainer.container === undefined) {
        fail(
          'trainer-command',
          ['spec', 'trainer', 'command'],
          'runs on the local provider only; add trainer.container.image for gcp',
          'build an image that runs the same script (it gets AIP_MODEL_DIR and the hyperparameters the same way, docs/artifact.md) and set trainer.container: {image: ...}',
        );
      }
      // Tuning runs the trainer's own search inside the one CustomJob, trials as processes on
      // the worker: more parallel trials than vCPUs only queue behind each other.
      const vcpus = Number(/-(\d+)$/.exec(spec.resources.machineType)?.[1] ?? NaN);
      if (
        spec.tuning &&
        spec.resources.machineType.match(/^(n1|n2|e2|g2)-/) &&
        spec.tuning.parallel > vcpus
      ) {
        fail(
          'tuning-parallel',
          ['spec', 'tuning', 'parallel'],
          `${spec.tuning.parallel} parallel trials on ${spec.resources.machineType} (${vcpus} vCPUs): trials run as processes on the one worker`,
          `lower tuning.parallel to ${vcpus} or pick a larger machine type`,
          'warning',
        );
      }
      // A HyperparameterTuningJob (the default) takes what Vizier has (vizier.ts) and its
      // parameter ids; the in-job search runs mlform's own trainer and takes the manifest as it
      // is, except Vizier's own algorithm.
      if (spec.tuning && settings.tuning === 'in-job' && spec.tuning.sampler?.type === 'bayesian') {
        fail(
          'tuning-sampler',
          ['spec', 'tuning', 'sampler', 'type'],
          "`bayesian` is Vertex AI Vizier's search; the in-job search runs mlform's samplers (random, grid, tpe)",
          'use `sampler: {type: tpe}` for a model-based search in the job, or drop the provider setting `tuning: in-job` to run a Vizier study',
        );
      }
      if (spec.tuning && settings.tuning !== 'in-job') {
        for (const p of vizierProblems(spec.tuning)) fail(p.code, p.path, p.message, p.hint, p.severity);
        for (const id of Object.keys(spec.tuning.space)) {
          const problem = parameterIdProblem(id);
          if (problem) {
            fail(
              'tuning-parameter-id',
              ['spec', 'tuning', 'space', id],
              `"${id}" cannot be a Vertex AI parameter id: ${problem}`,
              'name the dimension by its path in trainer.builtin (`learningRate`, `network.layers`): letters, digits, `_`, `.` and `-`, starting with a letter',
            );
          }
        }
      }
      const machines: {
        path: FieldPath;
        machineType: string;
        accelerator?: { type: string; count: number };
      }[] = [
        {
          path: ['spec', 'resources'],
          machineType: spec.resources.machineType,
          accelerator: spec.resources.accelerator,
        },
        ...(spec.resources.fallbacks ?? []).map((f, i) => ({
          path: ['spec', 'resources', 'fallbacks', i] as FieldPath,
          machineType: f.machineType,
          accelerator: f.accelerator,
        })),
      ];
      checkMachines(machines, settings.trainingRegion, 'training', trust, fail);
    }

    if (r.kind === 'DeployedEndpoint') {
      const name = r.name;
      const endpoint = (r.manifest as { spec: DeployedEndpointSpec }).spec;
      if (platformOf(endpoint) === 'vertexEndpoint') {
        // Vertex AI Endpoints: the replicas' machine and GPUs, in the serving region.
        const machine = endpoint.machine;
        if (machine)
          checkMachines([{ path: ['spec', 'machine'], ...machine }], settings.region, 'serving', trust, fail);
        continue;
      }
      if (!SERVICE_NAME.test(name) || name.length > SERVICE_MAX) {
        fail(
          'service-name',
          ['metadata', 'name'],
          `"${name}" is not a valid Cloud Run service name`,
          'lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen, at most 49 characters',
        );
      }
      // `<service>-v<N>-<config6>`: the longest revision name, with up to 6 digits of version.
      if (name.length + '-v'.length + 6 + 7 > REVISION_MAX) {
        fail(
          'revision-name',
          ['metadata', 'name'],
          `revision names ${name}-v<N> would exceed Cloud Run's ${REVISION_MAX} characters`,
          'shorten the endpoint name',
        );
      }
      const container = (r.manifest as { spec: DeployedEndpointSpec }).spec.container;
      if (container && container.image === undefined) {
        fail(
          'container-image',
          ['spec', 'container'],
          'a `command` (which the local provider runs) but no `image`: Cloud Run runs images',
          'add `image` for gcp: the serving image of one Cloud Run revision per model version',
        );
      }
      if (container) {
        for (const d of checkContainerEnv(container))
          fail(d.code, d.path ?? ['spec', 'container'], d.message, d.hint);
      }
    }

    if (r.kind === 'Schedule') {
      const manifest = r.manifest as {
        spec: ScheduleSpec;
        metadata: { annotations?: Record<string, string> };
      };
      if (manifest.spec.cron === undefined && manifest.spec.at === undefined) {
        fail(
          'schedule-cron',
          ['spec'],
          'Cloud Scheduler needs a cron expression',
          'write `cron:`, a supported `every:` or `at:`',
        );
      }
      const early = manifest.spec.at !== undefined ? yearlyFireBefore(manifest.spec, now) : undefined;
      if (early) {
        fail(
          'schedule-at-year',
          ['spec', 'at'],
          `Cloud Scheduler's cron has no year: the job for ${manifest.spec.at} would first fire at ${early}`,
          'apply it less than a year before its date',
        );
      }
      const length = scheduleDescription(
        stack,
        r.name,
        '0'.repeat(64),
        manifest.spec,
        manifest.metadata.annotations ?? {},
      ).length;
      if (length > DESCRIPTION_LIMIT) {
        fail(
          'schedule-annotations',
          ['metadata', 'annotations'],
          `the schedule's spec and annotations take ${length} characters; a Cloud Scheduler job description holds ${DESCRIPTION_LIMIT}`,
          'shorten or drop annotations',
        );
      }
    }
  }
  return out;
}

/**
 * Why a `tuning.space` key cannot be a study's `parameterId`, or undefined. Vertex's rule (study.proto
 * `ParameterSpec.parameter_id`) is "no whitespace, unique" (keys are unique); a trial gets the value
 * as the argument `--<parameterId>=<value>`, which `mlform train` decodes (trainer/tuning/hypertune.ts),
 * so the id must also survive that: no `=`, no leading `-`, and no `hp.` prefix (that one means a path).
 */
export function parameterIdProblem(id: string): string | undefined {
  if (id.length === 0) return 'it is empty';
  if (/\s/.test(id)) return 'it contains whitespace';
  if (id.startsWith('hp.')) return 'the prefix `hp.` is how a trial argument names an arbitrary path';
  if (!/^[A-Za-z][A-Za-z0-9_.-]*$/.test(id))
    return 'a trial receives it as `--<id>=<value>`, so it must start with a letter and hold only letters, digits, `_`, `.` and `-`';
  return undefined;
}

/**
 * A one-off more than a year ahead: its yearly Cloud Scheduler cron would match an earlier year's
 * date first (that local date-time). Undefined when the first match is the instant.
 */
function yearlyFireBefore(spec: ScheduleSpec, now: Date): string | undefined {
  const at = atInstant(spec);
  if (!at || at.getTime() <= now.getTime()) return undefined;
  let first: Date | null;
  try {
    first = new Cron(schedulerCron(spec), { timezone: spec.timeZone, paused: true }).nextRun(now);
  } catch {
    return undefined;
  }
  if (!first || first.getTime() >= at.getTime()) return undefined;
  // The same local date and time, in the year the cron first matches it.
  const year = new Intl.DateTimeFormat('en', { timeZone: spec.timeZone, year: 'numeric' }).format(first);
  return `${year}${spec.at?.slice(4) ?? ''}`;
}

type Fail = (
  code: string,
  path: FieldPath,
  message: string,
  hint?: string,
  severity?: 'error' | 'warning',
) => void;

/**
 * Machine types, machine/GPU compatibility and the region's GPU offers, for a TrainingRun's
 * machines (in the training region) and a Vertex AI Endpoint's replicas (in the serving region;
 * the table is the training one, which Google's prediction offers follow closely).
 */
function checkMachines(
  machines: readonly {
    path: FieldPath;
    machineType: string;
    accelerator?: { type: string; count: number };
  }[],
  region: string,
  purpose: 'training' | 'serving',
  trust: boolean,
  fail: Fail,
): void {
  const offered = TRAINING_ACCELERATORS[region];
  const what = purpose === 'training' ? 'custom training' : 'prediction';
  for (const m of machines) {
    const found = familyOf(m.machineType);
    if (!found) {
      fail(
        'unknown-machine-type',
        [...m.path, 'machineType'],
        `${m.machineType} is not a machine type Vertex AI ${what} offers`,
        'use n1-standard-*, n1-highmem-*, n1-highcpu-*, n2-*, e2-*, a2-highgpu-*g, a2-megagpu-16g, a2-ultragpu-*g, a3-highgpu-*g or g2-standard-*',
      );
    }
    const acc = m.accelerator;
    if (found && !acc && found.family.attached) {
      fail(
        'machine-needs-accelerator',
        [...m.path, 'machineType'],
        `${m.machineType} comes with GPUs; set accelerator: {type: ${found.family.accelerators[0]}, count: ${found.family.attached(m.machineType)}}`,
      );
    }
    if (!acc) continue;
    const accPath: FieldPath = [...m.path, 'accelerator', 'type'];
    if (found && !(found.family.accelerators as readonly string[]).includes(acc.type)) {
      const families = familiesFor(acc.type);
      fail(
        'accelerator-machine',
        accPath,
        `${acc.type} cannot be attached to ${m.machineType}`,
        families.length > 0
          ? `${acc.type} runs on ${families.map((f) => `${f}-*`).join(', ')} machine types`
          : undefined,
      );
    } else if (found?.family.attached) {
      const count = found.family.attached(m.machineType);
      if (count !== acc.count) {
        fail(
          'accelerator-count',
          [...m.path, 'accelerator', 'count'],
          `${m.machineType} has ${count} ${acc.type}; set count: ${count}`,
        );
      }
    }
    if (offered === undefined) {
      fail(
        'unknown-region',
        accPath,
        `mlform's table does not know which GPUs ${region} offers for ${purpose}; not checked`,
        undefined,
        'warning',
      );
    } else if (!(offered as readonly string[]).includes(acc.type)) {
      const where = regionsOffering(acc.type);
      fail(
        'accelerator-region',
        accPath,
        `${acc.type} is not offered for ${purpose} in ${region}; regions that offer it: ${where.join(', ') || 'none known'}`,
        purpose === 'training'
          ? `set gcp.trainingRegion in mlform.yaml to one of them (trainings may run in another region than serving), or add a fallback; MLFORM_GCP_SKIP_REGION_CHECK=1 if this table is out of date`
          : `serve in one of them (gcp.region in mlform.yaml), pick another GPU, or serve on the CPU; MLFORM_GCP_SKIP_REGION_CHECK=1 if this table is out of date`,
        trust ? 'warning' : 'error',
      );
    }
  }
}
