/**
 * The process-wide guard of the CLI entry (bin/mlform.js): a rejection no one awaited (an SDK's
 * background work) or an error that escaped a command is one line on stderr and exit status 1,
 * with the stack only under MLFORM_DEBUG. Its own module so the entry loads no command for it.
 */
import { errorMessage } from '../../resources/error-message.js';

export function installProcessGuard(
  env: Record<string, string | undefined> = process.env,
  stderr: { write(text: string): unknown } = process.stderr,
): (e: unknown) => void {
  const report = (e: unknown): void => {
    const detail = env.MLFORM_DEBUG && e instanceof Error && e.stack ? e.stack : errorMessage(e);
    stderr.write(`mlform: ${detail}${env.MLFORM_DEBUG ? '' : ' (MLFORM_DEBUG=1 shows the stack)'}\n`);
    process.exitCode = 1;
  };
  process.on('unhandledRejection', report);
  return report;
}
