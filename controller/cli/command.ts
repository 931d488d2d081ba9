/**
 * A CLI command as data: what it is called, what it takes and the handler that runs it. The
 * registrar (registrar.ts) turns definitions into commander commands; a handler never sees
 * commander, so tests call it in process with a fake context (test/cli/handlers/).
 */
import type { CommandContext } from './context.js';

export interface ArgumentDefinition {
  /** Commander syntax: `<required>`, `[optional]`, `[variadic...]`. */
  syntax: string;
  description: string;
  default?: unknown;
}

export interface OptionDefinition {
  /** Commander syntax: `-o, --output <format>`, `--no-prune`. */
  flags: string;
  description: string;
  default?: unknown;
  /** Shown in help instead of the default value itself. */
  defaultDescription?: string;
  choices?: readonly string[];
  /** For repeatable options and other parsing: the value so far in, the new value out. */
  parse?(value: string, previous: unknown): unknown;
}

export interface CommandDefinition<Args extends readonly unknown[], Options> {
  name: string;
  /** One line, in `mlform --help`. */
  summary: string;
  /** The paragraph under `Usage:` in `mlform NAME --help`. */
  description: string;
  arguments?: readonly ArgumentDefinition[];
  /** In the order `--help` lists them. */
  options?: readonly OptionDefinition[];
  /** Help text before the examples (environment, trials, exit status of some commands). */
  notes?: string;
  /** Command lines under `Examples:`, each indented by two spaces. */
  examples?: readonly string[];
  /** Help text after the examples, under `Exit status:`. */
  exitStatus?: string;
  /**
   * Unknown options and extra operands are accepted, not errors (a tuning trial's
   * `--<parameter>=<value>`): the handler gets all operands left after option parsing, unknown
   * options included, as one more argument (commander's `command.args`). Meant for commands that
   * declare no arguments of their own.
   */
  passThrough?: boolean;
  /** Resolves to the exit code. Method syntax: a list of definitions holds any argument types. */
  handler(args: Args, options: Options, ctx: CommandContext): Promise<number>;
}

/** Any command, for the list the registrar takes. */
export type SomeCommand = CommandDefinition<readonly unknown[], object>;

/**
 * A command of commands (`mlform artifact check`): a name, its help and its subcommands, no
 * handler of its own (`mlform artifact` alone prints its help).
 */
export interface CommandGroup {
  name: string;
  summary: string;
  description: string;
  commands: readonly SomeCommand[];
}

/** What `mlform --help` lists: a command, or a group of them. */
export type CommandEntry = SomeCommand | CommandGroup;

export const isCommandGroup = (entry: CommandEntry): entry is CommandGroup => 'commands' in entry;

/** Keeps the argument and option types of one definition while it is written. */
export const defineCommand = <Args extends readonly unknown[], Options extends object>(
  definition: CommandDefinition<Args, Options>,
): CommandDefinition<Args, Options> => definition;

/** Help text after the options: notes, examples and exit status, as the commands always printed them. */
export function helpAfter(definition: Pick<SomeCommand, 'notes' | 'examples' | 'exitStatus'>): string {
  const parts: string[] = [];
  if (definition.notes !== undefined) parts.push(`\n${definition.notes}\n`);
  if (definition.examples !== undefined && definition.examples.length > 0)
    parts.push(`\nExamples:\n${definition.examples.map((line) => `  ${line}`).join('\n')}`);
  if (definition.exitStatus !== undefined) parts.push(`\n\nExit status: ${definition.exitStatus}`);
  return parts.join('');
}
