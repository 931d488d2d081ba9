// The training loop (TensorFlow.js, ~50 MB and a second of start-up) loads when `train` runs, not
// with every other command.
import type { runTraining as RunTraining } from '../../../trainer/run-training.js';
import {
  isCommandTraining,
  reportTrialMetric,
  superviseCommand,
  resolveTraining,
  type ResolvedTraining,
  type TrainInvocation,
} from '../../../trainer/main.js';
import { resolveSecretRefsAtStart } from '../../../trainer/secrets.js';
import { epochReporter } from '../../../trainer/tuning/trial-report.js';
import type { ProgressEvent } from '../../../trainer/types.js';
import { diagnosticsSummaryLine, renderDiagnostics } from '../../ui/diagnostics-view.js';
import { progressLine } from '../../ui/training-progress.js';
import { packageVersion } from '../version.js';
import { errorMessage } from '../../../resources/error-message.js';
import { defineCommand } from '../command.js';
import { LAUNCH_ID_OPTION } from '../options.js';
import { collect } from '../operator.js';

interface TrainOptions extends Omit<TrainInvocation, 'specFile' | 'specJsonFile'> {
  spec?: string;
  specFile?: string;
  json?: boolean;
  launchId?: string;
}

export const trainCommand = defineCommand({
  name: 'train',
  summary: 'run one builtin (TensorFlow.js) training and write its artifact',
  description:
    'Train the builtin trainer of a TrainingRun and write the artifact: model.json + weights.bin,\n' +
    'preprocess.json, metrics.json (validation metrics in original units, the naive baseline,\n' +
    'model health, backend), history.json, run.json and tensorboard/ event files.\n' +
    'A checkpoint is written every epoch; running again on the same --out resumes from it.\n' +
    "Relative file:// data URIs resolve against the manifest's folder. This is what TrainingRuns\n" +
    'launch (locally in a detached process, in the training container on Vertex AI).\n' +
    'A TrainingRun with trainer.command runs that command instead, in a bubblewrap sandbox, where\n' +
    'the operator allows it (MLFORM_ALLOW_COMMANDS=1; SECURITY.md), and checks its artifact.',
  options: [
    {
      flags: '-s, --spec <file>',
      description: 'TrainingRun manifest (YAML), or JSON: a manifest or its bare spec',
    },
    {
      flags: '--spec-json <json>',
      description: 'the spec inline (default: $MLFORM_SPEC_JSON); visible in `ps`',
    },
    {
      flags: '--spec-file <file>',
      description: 'the spec as JSON in a file (a manifest or its bare spec), off the command line',
    },
    LAUNCH_ID_OPTION,
    { flags: '-n, --name <name>', description: 'which TrainingRun, when the file has several' },
    { flags: '-o, --out <dir>', description: 'artifact directory: a path or gs://bucket/prefix' },
    {
      flags: '--out-base <dir>',
      description: 'write to <dir>/<$CLOUD_ML_JOB_ID> (default: $MLFORM_OUTPUT_BASE)',
    },
    { flags: '--json', description: 'progress as JSON lines on stdout (one event per line)' },
    {
      flags: '--allow-data-root <dir>',
      description:
        'also allow local data under this folder (repeatable; also $MLFORM_ALLOW_DATA_ROOTS), besides the tree root of --spec or the folders in $MLFORM_DATA_ROOTS (JSON, set by a launcher)',
      parse: collect,
    },
  ],
  // A Vertex AI HyperparameterTuningJob trial gets `--<parameterId>=<value>`; also `--hp.<path>=<value>`.
  passThrough: true,
  notes:
    'Environment: MLFORM_BACKEND=tensorflow|wasm|cpu forces a TensorFlow.js backend.\n' +
    'Trials: --<tuning.space key>=<value> or --hp.<path>=<value> train one trial (no search) and\n' +
    'append tuning.metric to $CLOUD_ML_HP_METRIC_FILE (default /tmp/hypertune/output.metrics):\n' +
    'every epoch, then the score (penalties applied) and each further objective.\n' +
    'Exit status: 0 trained, 1 failed or invalid spec, 130/143 interrupted (checkpoint kept).',
  examples: [
    'mlform train --spec examples/quickstart/training.yaml --out /tmp/mpg',
    'tensorboard --logdir /tmp/mpg/tensorboard',
  ],
  async handler([parameterArgs]: [string[]], options: TrainOptions, ctx) {
    // On Vertex AI, secret references (MLFORM_SECRET_REFS) become plain variables first.
    try {
      await resolveSecretRefsAtStart(ctx.env);
    } catch (e) {
      ctx.printErr(`mlform train: ${errorMessage(e)}`);
      return 1;
    }
    const resolved = await resolveTraining(
      { ...options, specFile: options.spec, specJsonFile: options.specFile, parameterArgs },
      ctx.env,
    );
    if (!resolved.ok) {
      ctx.printErr(renderDiagnostics(resolved.diagnostics, ctx.errStyle));
      ctx.printErr(diagnosticsSummaryLine(resolved.diagnostics, ctx.errStyle));
      return 1;
    }
    const emit = (event: ProgressEvent) => {
      if (options.json) ctx.print(JSON.stringify(event));
      else {
        const line = progressLine(event, ctx.style);
        if (line) ctx.print(line);
      }
    };
    const { resource, outDir } = resolved.value;
    if (!options.json) ctx.print(`${resource.address} (spec ${resource.specHash.slice(0, 12)}) -> ${outDir}`);
    const abort = new AbortController();
    let signalled: NodeJS.Signals | undefined;
    const stopListening = ctx.onStopSignal((signal) => {
      signalled = signal;
      abort.abort();
    });
    try {
      if (isCommandTraining(resolved.value)) {
        const io = { emit, print: ctx.print, printErr: ctx.printErr, signal: abort.signal, env: ctx.env };
        return await superviseCommand(resolved.value, { ...io, mlformVersion: packageVersion() });
      }
      await train(resolved.value, emit, abort.signal, ctx.env);
      return 0;
    } catch (e) {
      if (signalled) {
        ctx.printErr(`interrupted by ${signalled}: the checkpoint in ${outDir} is kept; run again to resume`);
        return signalled === 'SIGINT' ? 130 : 143;
      }
      const message = errorMessage(e);
      emit({ type: 'error', message });
      if (options.json) ctx.printErr(`error: ${message}`);
      // A setup error (bad backend, no GPU) is the whole story; anything else gets its stack for a bug report.
      if (e instanceof Error && e.name !== 'TrainingSetupError' && e.stack && ctx.env.MLFORM_DEBUG)
        ctx.printErr(e.stack);
      return 1;
    } finally {
      stopListening();
    }
  },
});

/** One training to its artifact, and a tuning trial's metric where the tuning service reads it. */
async function train(
  resolved: ResolvedTraining,
  emit: (event: ProgressEvent) => void,
  signal: AbortSignal,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const { resource, baseDir, outDir, manifestFile } = resolved;
  const { runTraining } = await import('../../../trainer/run-training.js');
  // A tuning trial reports each epoch's metric too (Vizier's automated stopping reads them).
  const epochs = resolved.trial ? epochReporter(resolved.trial.metric, env) : undefined;
  const result = await runTraining({
    spec: (resource.manifest as { spec: Parameters<typeof RunTraining>[0]['spec'] }).spec,
    name: resource.name,
    baseDir,
    outDir,
    manifestFile,
    onEvent: epochs
      ? (event) => {
          epochs.onEvent(event);
          emit(event);
        }
      : emit,
    signal,
    mlformVersion: packageVersion(),
    env,
  });
  await epochs?.flush();
  await reportTrialMetric(resolved, result.metrics, env);
}
