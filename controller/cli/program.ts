/** The `mlform` program over a given list of commands (main.ts: all of them; entry.ts: the one asked for). */
import { Command, CommanderError } from 'commander';
import type { CommandEntry } from './command.js';
import type { CommandContext } from './context.js';
import { registerCommands } from './registrar.js';
import { packageVersion } from './version.js';

export function buildProgramWith(
  ctx: CommandContext,
  setExit: (code: number) => void,
  commands: readonly CommandEntry[],
): Command {
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
  registerCommands(program, commands, ctx, setExit);
  return program;
}

/** Runs the program and resolves to the exit code; never calls process.exit, so tests can drive it. */
export async function runProgramWith(
  argv: string[],
  ctx: CommandContext,
  commands: readonly CommandEntry[],
): Promise<number> {
  let code = 0;
  const program = buildProgramWith(ctx, (c) => (code = c), commands);
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    throw e;
  }
  return code;
}
