/** The `mlform` command line: commander program, one module per command under commands/. */
import { Command, CommanderError } from 'commander';
import { createContext, type CommandContext } from './context.js';
import { packageVersion } from './version.js';
import { registerValidate } from './commands/validate.js';
import { registerSchema } from './commands/schema.js';
import { registerTrain } from './commands/train.js';
import { registerPlan } from './commands/plan.js';
import { registerApply } from './commands/apply.js';
import { registerServe } from './commands/serve.js';
import { registerGet } from './commands/get.js';
import { registerDescribe } from './commands/describe.js';
import { registerLogs } from './commands/logs.js';
import { registerCancel } from './commands/cancel.js';
import { registerTrigger } from './commands/trigger.js';
import { registerController } from './commands/controller.js';

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
  registerValidate(program, ctx, setExit);
  registerSchema(program, ctx, setExit);
  registerPlan(program, ctx, setExit);
  registerApply(program, ctx, setExit);
  registerGet(program, ctx, setExit);
  registerDescribe(program, ctx, setExit);
  registerLogs(program, ctx, setExit);
  registerCancel(program, ctx, setExit);
  registerTrigger(program, ctx, setExit);
  registerTrain(program, ctx, setExit);
  registerServe(program, ctx, setExit);
  registerController(program, ctx, setExit);
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
