/** `mlform describe kind/name`: everything known about one resource, kubectl-describe style. */
import { runRef } from '../../../resources/address.js';
import { joinUri } from '../../../artifact/storage.js';
import { ARTIFACT_LIMITS } from '../../../artifact/limits.js';
import type { ObservedRun } from '../../../providers/provider.js';
import { TUNING_FILE } from '../../../trainer/tuning/tuning-file.js';
import { describeModel, renderDescribe } from '../../ui/status-describe.js';
import { studySummary, type StudySummary } from '../../ui/study-describe.js';
import { isTuningFile } from '../../web/views/tuning-trials.js';
import type { LoadedProjectContext } from '../project.js';
import { defineCommand } from '../command.js';
import { TEXT_OR_JSON_OPTION, fileOption } from '../options.js';
import { failed } from '../problems.js';
import { OPERATOR_OPTIONS, type OperatorFlags } from '../operator.js';
import { STATUS_FORMAT_VERSION, loadStatusInputs, parseTarget, unknownResource } from './get.js';

interface DescribeOptions extends OperatorFlags {
  file: string[];
  output: 'text' | 'json';
}

export const describeCommand = defineCommand({
  name: 'describe',
  summary: 'show one resource in detail: spec, status, conditions, history, plan',
  description:
    'Show one resource: its normalised spec (defaults applied, as hashed and\n' +
    'applied), sync and health, conditions with reasons, recent history, and\n' +
    'what the plan would do for it. History per kind:\n' +
    '  trainingrun       runs of that name: state, attempt, spec, times, metrics;\n' +
    "                    tuned: the latest run's trials and the best so far\n" +
    '  registeredmodel   aliases; versions with run, spec hash, data, git commit\n' +
    '  deployedendpoint  URL, serving health, traffic split\n' +
    '  schedule          cron, policy, last and next fire, the runs it started',
  arguments: [{ syntax: '<kind/name>', description: 'the resource, e.g. trainingrun/mpg-mlp' }],
  options: [fileOption(), TEXT_OR_JSON_OPTION, ...OPERATOR_OPTIONS],
  examples: [
    'mlform describe trainingrun/mpg-mlp',
    'mlform describe deployedendpoint/mpg-api -f examples/quickstart',
    'mlform describe registeredmodel/mpg -o json',
  ],
  exitStatus:
    '0 on success; 1 when the kind or name is unknown, or the\nmanifests or the state cannot be read.',
  async handler([targetText]: [string], options: DescribeOptions, ctx) {
    const parsed = parseTarget(targetText, true);
    if (!parsed.target?.name) return failed(ctx, parsed.diagnostic ? [parsed.diagnostic] : []);
    const { kind, name } = parsed.target;
    const inputs = await loadStatusInputs(ctx, options.file, options);
    if (!inputs) return 1;
    const status = inputs.statuses.find((s) => s.kind === kind && s.name === name);
    if (!status) return failed(ctx, [unknownResource(kind, name, inputs.statuses)]);
    const resource = inputs.project.desired.resources.find((r) => r.address === status.address);
    const model = describeModel(
      status,
      resource,
      inputs.observed,
      new Date(),
      inputs.project.desired.project?.config,
      inputs.project.desired.resources,
    );
    const study = model.runs && (await latestStudy(inputs.project, model.runs));
    if (study) model.study = study;
    ctx.print(
      options.output === 'json'
        ? JSON.stringify({ formatVersion: STATUS_FORMAT_VERSION, ...model }, null, 2)
        : renderDescribe(model, ctx.style),
    );
    return 0;
  },
});

/**
 * The study of the newest run of a tuned TrainingRun, from the tuning.json its trainer keeps
 * current (read through the provider, as the dashboard does); undefined for an untuned run, a run
 * that has not written one yet, or a file that is not a tuning.json (it is the trainer's output:
 * validated, and bounded in size).
 */
async function latestStudy(
  project: LoadedProjectContext,
  runs: readonly ObservedRun[],
): Promise<StudySummary | undefined> {
  const latest = [...runs].sort((a, b) => b.number - a.number)[0];
  if (!latest?.artifactUri || latest.spec?.tuning === undefined) return undefined;
  try {
    const bytes = await project.provider.artifacts.read(
      project.providerCtx,
      joinUri(latest.artifactUri, TUNING_FILE),
    );
    if (bytes.length > ARTIFACT_LIMITS.jsonBytes) return undefined;
    const file: unknown = JSON.parse(bytes.toString('utf8'));
    return isTuningFile(file) ? studySummary(file, runRef(latest)) : undefined;
  } catch {
    return undefined;
  }
}
