/** The `mlform` command line: the program, and one definition per command under commands/. */
import { Command, CommanderError } from 'commander';
import { createContext, type CommandContext } from './context.js';
import { packageVersion } from './version.js';
import { COMMANDS } from './commands/index.js';
import { registerCommands } from './registrar.js';
import { errorMessage } from '../../resources/error-message.js';

export function buildProgram(ctx: CommandContext, setExit: (code: number) => void): Command {
  const program = new Command('mlform')
    .description(
      'Declarative reconciler for ML operations: TrainingRun, RegisteredModel, DeployedEndpoint and\n' +
        'Schedule manifests in git; plan shows what would change, apply converges.',
    )
    .version(packageVersion(), '-v, --version', 'print the mlform version')
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (text) => ctx.stdout.write(text),
      writeErr: (text) => ctx.stderr.write(text),
    })
    .exitOverride();
  program.addHelpText(
    'after',
    '\nDocs: README.md (quickstart, manifest reference). Exit status 0 on success, 1 on errors.\n' +
      'Colour only on a terminal; set NO_COLOR to turn it off.',
  );
  registerCommands(program, COMMANDS, ctx, setExit);
  return program;
}

/** Runs the CLI and resolves to the exit code; never calls process.exit, so tests can drive it. */
export async function main(argv: string[], ctx: CommandContext = createContext()): Promise<number> {
  let code = 0;
  const program = buildProgram(ctx, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    throw e;
  }
  return code;
}

/**
 * The process-wide guard of the CLI entry (bin/mlform.js): a rejection no one awaited (an SDK's
 * background work) or an error that escaped a command is one line on stderr and exit status 1,
 * with the stack only under MLFORM_DEBUG.
 */
export function installProcessGuard(
  env: Record<string, string | undefined> = process.env,
  stderr: { write(text: string): unknown } = process.stderr,
): (e: unknown) => void {
  const report = (e: unknown): void => {
    const detail = env.MLFORM_DEBUG && e instanceof Error && e.stack ? e.stack : errorMessage(e);
    stderr.write(`mlform: ${detail}${env.MLFORM_DEBUG ? '' : ' (MLFORM_DEBUG=1 shows the stack)'}\n`);
    process.exitCode = 1;
  };
  process.on('unhandledRejection', report);
  return report;
}
