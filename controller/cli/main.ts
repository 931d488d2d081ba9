/** The `mlform` command line: the program, and one definition per command under commands/. */
import type { Command } from 'commander';
import { createContext, type CommandContext } from './context.js';
import { COMMANDS } from './commands/index.js';
import { buildProgramWith, runProgramWith } from './program.js';

export function buildProgram(ctx: CommandContext, setExit: (code: number) => void): Command {
  return buildProgramWith(ctx, setExit, COMMANDS);
}

/** Runs the CLI and resolves to the exit code; never calls process.exit, so tests can drive it. */
export async function main(argv: string[], ctx: CommandContext = createContext()): Promise<number> {
  return runProgramWith(argv, ctx, COMMANDS);
}
