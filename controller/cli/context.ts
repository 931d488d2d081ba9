/** What a command handler gets instead of reaching for globals: output streams, style, environment. */
import { colourWanted, createStyle, type Style } from '../ui/style.js';

export interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface CommandContext {
  stdout: Output;
  stderr: Output;
  /** Colour for stdout; stderr decides on its own. */
  style: Style;
  errStyle: Style;
  env: NodeJS.ProcessEnv;
  /** A person at a terminal (live views, prompts), not CI or a pipe. */
  isInteractive: boolean;
  print(text: string): void;
  printErr(text: string): void;
}

export function createContext(
  io: { stdout: Output; stderr: Output; env: NodeJS.ProcessEnv } = {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  },
): CommandContext {
  const ci = io.env.CI !== undefined && io.env.CI !== '' && io.env.CI !== 'false';
  return {
    ...io,
    style: createStyle(colourWanted(io.stdout, io.env)),
    errStyle: createStyle(colourWanted(io.stderr, io.env)),
    isInteractive: Boolean(io.stdout.isTTY) && !ci,
    print: (text) => io.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    printErr: (text) => io.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  };
}
