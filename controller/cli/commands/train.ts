import type { Command } from 'commander';
// The training loop (TensorFlow.js, ~50 MB and a second of start-up) loads when `train` runs, not
// with every other command.
import type { runTraining as RunTraining } from '../../../trainer/run-training.js';
import { reportTrialMetric, resolveTraining, type TrainInvocation } from '../../../trainer/main.js';
import { resolveSecretRefsAtStart } from '../../../trainer/secrets.js';
import type { ProgressEvent } from '../../../trainer/types.js';
import { diagnosticsSummaryLine, renderDiagnostics } from '../../ui/diagnostics-view.js';
import { progressLine } from '../../ui/training-progress.js';
import type { CommandContext } from '../context.js';
import { packageVersion } from '../version.js';

interface TrainOptions extends Omit<TrainInvocation, 'specFile' | 'specJsonFile'> {
  spec?: string;
  specFile?: string;
  json?: boolean;
  launchId?: string;
}

export function registerTrain(program: Command, ctx: CommandContext, setExit: (code: number) => void): void {
  program
    .command('train')
    .summary('run one builtin (TensorFlow.js) training and write its artifact')
    .description(
      'Train the builtin trainer of a TrainingRun and write the artifact: model.json + weights.bin,\n' +
        'preprocess.json, metrics.json (validation metrics in original units, the naive baseline,\n' +
        'model health, backend), history.json, run.json and tensorboard/ event files.\n' +
        'A checkpoint is written every epoch; running again on the same --out resumes from it.\n' +
        "Relative file:// data URIs resolve against the manifest's folder. This is what TrainingRuns\n" +
        'launch (locally in a detached process, in the training container on Vertex AI).',
    )
    .option('-s, --spec <file>', 'TrainingRun manifest (YAML), or JSON: a manifest or its bare spec')
    .option('--spec-json <json>', 'the spec inline (default: $MLFORM_SPEC_JSON); visible in `ps`')
    .option(
      '--spec-file <file>',
      'the spec as JSON in a file (a manifest or its bare spec), off the command line',
    )
    // The local provider's nonce that proves which process it started; no effect on training.
    .option('--launch-id <id>', 'set by the local provider to recognise its process (no effect)')
    .option('-n, --name <name>', 'which TrainingRun, when the file has several')
    .option('-o, --out <dir>', 'artifact directory: a path or gs://bucket/prefix')
    .option('--out-base <dir>', 'write to <dir>/<$CLOUD_ML_JOB_ID> (default: $MLFORM_OUTPUT_BASE)')
    .option('--json', 'progress as JSON lines on stdout (one event per line)')
    .option(
      '--allow-data-root <dir>',
      'also allow local data under this folder (repeatable; also $MLFORM_ALLOW_DATA_ROOTS), besides the tree root of --spec or the folders in $MLFORM_DATA_ROOTS (JSON, set by a launcher)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    // A Vertex AI HyperparameterTuningJob trial gets `--<parameterId>=<value>`; also `--hp.<path>=<value>`.
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText(
      'after',
      '\nEnvironment: MLFORM_BACKEND=tensorflow|wasm|cpu forces a TensorFlow.js backend.\n' +
        'Trials: --<tuning.space key>=<value> or --hp.<path>=<value> train one trial (no search) and\n' +
        'append tuning.metric to $CLOUD_ML_HP_METRIC_FILE (default /tmp/hypertune/output.metrics).\n' +
        'Exit status: 0 trained, 1 failed or invalid spec, 130/143 interrupted (checkpoint kept).\n\n' +
        'Examples:\n  mlform train --spec examples/quickstart/training.yaml --out /tmp/mpg\n' +
        '  tensorboard --logdir /tmp/mpg/tensorboard',
    )
    .action(async (options: TrainOptions, command: Command) => {
      // On Vertex AI, secret references (MLFORM_SECRET_REFS) become plain variables first.
      try {
        await resolveSecretRefsAtStart(ctx.env);
      } catch (e) {
        ctx.printErr(`mlform train: ${e instanceof Error ? e.message : String(e)}`);
        setExit(1);
        return;
      }
      const resolved = await resolveTraining(
        { ...options, specFile: options.spec, specJsonFile: options.specFile, parameterArgs: command.args },
        ctx.env,
      );
      if (!resolved.ok) {
        ctx.printErr(renderDiagnostics(resolved.diagnostics, ctx.errStyle));
        ctx.printErr(diagnosticsSummaryLine(resolved.diagnostics, ctx.errStyle));
        setExit(1);
        return;
      }
      const { resource, baseDir, outDir, manifestFile } = resolved.value;
      const emit = (event: ProgressEvent) => {
        if (options.json) ctx.print(JSON.stringify(event));
        else {
          const line = progressLine(event, ctx.style);
          if (line) ctx.print(line);
        }
      };
      const abort = new AbortController();
      let signalled: NodeJS.Signals | undefined;
      const onSignal = (signal: NodeJS.Signals) => {
        signalled = signal;
        abort.abort();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      if (!options.json)
        ctx.print(`${resource.address} (spec ${resource.specHash.slice(0, 12)}) -> ${outDir}`);
      try {
        const { runTraining } = await import('../../../trainer/run-training.js');
        const result = await runTraining({
          spec: (resource.manifest as { spec: Parameters<typeof RunTraining>[0]['spec'] }).spec,
          name: resource.name,
          baseDir,
          outDir,
          manifestFile,
          onEvent: emit,
          signal: abort.signal,
          mlformVersion: packageVersion(),
          env: ctx.env,
        });
        await reportTrialMetric(resolved.value, result.metrics, ctx.env);
        setExit(0);
      } catch (e) {
        if (signalled) {
          ctx.printErr(
            `interrupted by ${signalled}: the checkpoint in ${outDir} is kept; run again to resume`,
          );
          setExit(signalled === 'SIGINT' ? 130 : 143);
          return;
        }
        const message = e instanceof Error ? e.message : String(e);
        emit({ type: 'error', message });
        if (options.json) ctx.printErr(`error: ${message}`);
        // A setup error (bad backend, no GPU) is the whole story; anything else gets its stack for a bug report.
        if (e instanceof Error && e.name !== 'TrainingSetupError' && e.stack && ctx.env.MLFORM_DEBUG)
          ctx.printErr(e.stack);
        setExit(1);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
