/** What a command handler gets instead of reaching for globals: output streams, style, environment. */
import { sanitizeOutput } from '../ui/escape.js';
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
  const style = createStyle(colourWanted(io.stdout, io.env));
  const errStyle = createStyle(colourWanted(io.stderr, io.env));
  // The renderers escape what they show; this catches any data one of them missed (escape.ts):
  // only newlines, tabs and, with colour on, mlform's own SGR codes pass raw.
  const line = (text: string, colour: boolean) =>
    sanitizeOutput(text.endsWith('\n') ? text : `${text}\n`, colour);
  return {
    ...io,
    style,
    errStyle,
    isInteractive: Boolean(io.stdout.isTTY) && !ci,
    print: (text) => io.stdout.write(line(text, style.enabled)),
    printErr: (text) => io.stderr.write(line(text, errStyle.enabled)),
  };
}
