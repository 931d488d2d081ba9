/**
 * What bin/mlform.js runs: `mlform NAME ...` loads only NAME's command module (commands/modules.ts);
 * anything else (`--help`, `help NAME`, a typo that wants suggestions) loads every command (main.ts).
 */
import { createContext, type CommandContext } from './context.js';
import { COMMAND_MODULES } from './commands/modules.js';
import { runProgramWith } from './program.js';

export async function run(argv: string[], ctx: CommandContext = createContext()): Promise<number> {
  const name = argv[2];
  const module = COMMAND_MODULES.find((m) => name !== undefined && m.names.includes(name));
  if (!module) return (await import('./main.js')).main(argv, ctx);
  const commands = (await module.load()).filter((c) => c.name === name);
  return runProgramWith(argv, ctx, commands);
}
