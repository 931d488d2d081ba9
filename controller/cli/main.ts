/** The `mlform` program with every command (commands/index.ts); bin/mlform.js goes through entry.ts. */
import type { Command } from 'commander';
import { createContext, type CommandContext } from './context.js';
import { COMMANDS } from './commands/index.js';
import { buildProgramWith, runProgramWith } from './program.js';

export { installProcessGuard } from './process-guard.js';

export function buildProgram(ctx: CommandContext, setExit: (code: number) => void): Command {
  return buildProgramWith(ctx, setExit, COMMANDS);
}

/** Runs the CLI and resolves to the exit code; never calls process.exit, so tests can drive it. */
export async function main(argv: string[], ctx: CommandContext = createContext()): Promise<number> {
  return runProgramWith(argv, ctx, COMMANDS);
}
