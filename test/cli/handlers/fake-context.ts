/**
 * A CommandContext for running handlers in process: output captured, no terminal, the environment
 * given (none of the operator's variables of whoever runs the tests), prompts answered from a list
 * and stop signals never delivered.
 */
import { createContext, type CommandContext } from '../../../controller/cli/context.js';

export interface FakeContext {
  ctx: CommandContext;
  stdout: () => string;
  stderr: () => string;
  /** The questions asked, in order. */
  questions: string[];
}

export function fakeContext(
  options: { env?: NodeJS.ProcessEnv; interactive?: boolean; answers?: string[] } = {},
): FakeContext {
  let out = '';
  let err = '';
  const answers = [...(options.answers ?? [])];
  const questions: string[] = [];
  const base = createContext({
    stdout: { write: (text: string) => (out += text), isTTY: false },
    stderr: { write: (text: string) => (err += text), isTTY: false },
    env: { NO_COLOR: '1', ...options.env },
  });
  const ctx: CommandContext = {
    ...base,
    isInteractive: options.interactive ?? false,
    confirm: (question) => {
      questions.push(question);
      const answer = answers.shift();
      if (answer === undefined) throw new Error(`unexpected question: ${question}`);
      return Promise.resolve(answer === 'yes');
    },
    onStopSignal: () => () => {},
  };
  return { ctx, stdout: () => out, stderr: () => err, questions };
}
