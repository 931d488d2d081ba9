/** The `mlform` command line: the program, and one definition per command under commands/. */
import { Command, CommanderError } from 'commander';
import { createContext, type CommandContext } from './context.js';
import { packageVersion } from './version.js';
import { COMMANDS } from './commands/index.js';
import { registerCommands } from './registrar.js';

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
