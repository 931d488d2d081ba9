/** Turns command definitions (command.ts) into commander commands: help, parsing, exit code. */
import { Option, type Command } from 'commander';
import {
  helpAfter,
  isCommandGroup,
  type CommandEntry,
  type OptionDefinition,
  type SomeCommand,
} from './command.js';
import type { CommandContext } from './context.js';

export function registerCommands(
  program: Command,
  definitions: readonly CommandEntry[],
  ctx: CommandContext,
  setExit: (code: number) => void,
): void {
  for (const definition of definitions) {
    if (isCommandGroup(definition)) {
      const group = program
        .command(definition.name)
        .summary(definition.summary)
        .description(definition.description);
      registerCommands(group, definition.commands, ctx, setExit);
    } else {
      registerCommand(program, definition, ctx, setExit);
    }
  }
}

function registerCommand(
  program: Command,
  definition: SomeCommand,
  ctx: CommandContext,
  setExit: (code: number) => void,
): void {
  const command = program
    .command(definition.name)
    .summary(definition.summary)
    .description(definition.description);
  for (const argument of definition.arguments ?? []) {
    if (argument.default === undefined) command.argument(argument.syntax, argument.description);
    else command.argument(argument.syntax, argument.description, argument.default);
  }
  for (const option of definition.options ?? []) command.addOption(commanderOption(option));
  if (definition.passThrough) command.allowUnknownOption().allowExcessArguments();
  const after = helpAfter(definition);
  if (after !== '') command.addHelpText('after', after);
  const declared = definition.arguments?.length ?? 0;
  command.action(async (...received: unknown[]) => {
    // Commander passes the declared arguments, then the parsed options, then the command itself.
    const args = received.slice(0, declared);
    if (definition.passThrough) args.push(command.args);
    setExit(await definition.handler(args, command.opts(), ctx));
  });
}

function commanderOption(definition: OptionDefinition): Option {
  const option = new Option(definition.flags, definition.description);
  if (definition.parse) {
    const parse = definition.parse.bind(definition);
    option.argParser((value: string, previous: unknown) => parse(value, previous));
  }
  if (definition.choices) option.choices(definition.choices);
  if (definition.default !== undefined) option.default(definition.default, definition.defaultDescription);
  return option;
}
