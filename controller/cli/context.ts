/**
 * What a command handler gets instead of reaching for globals: output streams, style, environment,
 * the confirmation prompt and the process's stop signals. Tests pass their own (captured output,
 * no terminal, a given environment and answers).
 */
import { createInterface } from 'node:readline/promises';
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
  /** Asks a person at the terminal; true only when they answer exactly `yes`. */
  confirm(question: string): Promise<boolean>;
  /**
   * Calls `handler` once per signal (default SIGINT and SIGTERM): a repeated signal gets Node's
   * default action, ending the process. The function returned stops listening.
   */
  onStopSignal(handler: (signal: NodeJS.Signals) => void, signals?: readonly NodeJS.Signals[]): () => void;
}

const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

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
    confirm: async (question) => {
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      try {
        return (await rl.question(question)).trim() === 'yes';
      } finally {
        rl.close();
      }
    },
    onStopSignal: (handler, signals = STOP_SIGNALS) => {
      for (const signal of signals) process.once(signal, handler);
      return () => {
        for (const signal of signals) process.off(signal, handler);
      };
    },
  };
}
