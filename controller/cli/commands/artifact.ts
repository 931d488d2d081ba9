/**
 * `mlform artifact ...`: commands on a trainer's artifact folder (docs/artifact.md). `check`
 * validates one against the contract before a run registers it, so a trainer's author sees every
 * problem at once, locally or on gs://.
 */
import { checkArtifact, describeArtifact } from '../../../artifact/check.js';
import { diagnosticJson } from '../../ui/diagnostics-view.js';
import { escapeTerminal } from '../../ui/escape.js';
import { defineCommand, type CommandGroup } from '../command.js';
import { printProblems } from '../problems.js';

interface CheckOptions {
  json?: boolean;
}

export const artifactCheckCommand = defineCommand({
  name: 'check',
  summary: 'check an artifact folder against the artifact contract',
  description:
    'Check the folder a trainer wrote (AIP_MODEL_DIR: a path, file:// or gs://)\n' +
    'against the artifact contract of docs/artifact.md: metrics.json (metrics and\n' +
    'the naive baseline, for gates and aliases), artifact.json (format, model file,\n' +
    "task, input and output mapping) or the builtin trainer's files, and\n" +
    'preprocess.json and statistics.json when present. The model file must be\n' +
    'inside the folder; an ONNX model is opened and its inputs and outputs are\n' +
    'checked against the mapping (widths, names, labels). Every problem is\n' +
    'reported at once, with the file, the field and a fix. Nothing is loaded into\n' +
    'a runtime; every read is bounded.',
  arguments: [{ syntax: '<dir>', description: 'the artifact folder: a path, file:// or gs:// URI' }],
  options: [{ flags: '--json', description: 'print {ok, format, task, summary, diagnostics} as JSON' }],
  notes:
    'gs:// uses the Application Default Credentials. MLFORM_MAX_MODEL_BYTES raises\n' +
    'the size limit of a model file (default 512 MiB).',
  examples: [
    'mlform artifact check runs/mpg-onnx/artifact',
    'mlform artifact check gs://my-bucket/mlform/prod/runs/mpg/3/model --json',
  ],
  exitStatus: '0 the artifact follows the contract (warnings allowed), 1 it does not.',
  async handler([dir]: [string], options: CheckOptions, ctx) {
    const check = await checkArtifact(dir, { env: ctx.env });
    if (options.json) {
      const { ok, format, task, summary, diagnostics } = check;
      ctx.print(
        JSON.stringify({ ok, format, task, summary, diagnostics: diagnostics.map(diagnosticJson) }, null, 2),
      );
      return ok ? 0 : 1;
    }
    printProblems(ctx, check.diagnostics);
    const where = escapeTerminal(dir);
    if (!check.ok) {
      ctx.printErr(ctx.errStyle.red(`✗ ${where}: not a valid artifact`));
      return 1;
    }
    ctx.print(`${ctx.style.green('✓')} ${where}: ${escapeTerminal(describeArtifact(check))}`);
    return 0;
  },
});

export const artifactCommands: CommandGroup = {
  name: 'artifact',
  summary: 'work with trainer artifacts (check)',
  description:
    'Commands on the folder a trainer leaves (AIP_MODEL_DIR): the model,\n' +
    'metrics.json, artifact.json and the optional preprocess.json and\n' +
    'statistics.json of docs/artifact.md.',
  commands: [artifactCheckCommand],
};
