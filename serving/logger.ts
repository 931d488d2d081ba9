/**
 * Structured JSON logs (pino) on stdout, with the field names Cloud Logging reads (`severity`,
 * `message`), so Cloud Run shows levels and messages without an agent. Locally the lines are the
 * same JSON; pipe them through `pino-pretty` to read them.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import { TurnWriter } from './turn-writer.js';
import type { LoggingConfig } from './config.js';

export type { Logger };

const SEVERITY: Record<string, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

export interface ServingLogger {
  logger: Logger;
  /** Sends buffered lines now (after lifecycle lines such as "listening" that supervisors wait for). */
  flush(): void;
  /** Writes what is buffered and releases the destination; call before exiting. */
  close(): void;
}

/**
 * `destination`: where lines go (tests pass a collecting stream). A file descriptor (default 1,
 * stdout) or a path gets a TurnWriter: one write per event-loop turn (see turn-writer.ts).
 */
export function createServingLogger(
  level: LoggingConfig['level'],
  destination: DestinationStream | number | string = 1,
  base: Record<string, unknown> = {},
): ServingLogger {
  const writer = typeof destination === 'object' ? undefined : new TurnWriter(destination);
  const logger = pino(
    {
      level,
      messageKey: 'message',
      base: { pid: process.pid, ...base },
      formatters: { level: (label, number) => ({ severity: SEVERITY[label] ?? 'DEFAULT', level: number }) },
    },
    writer ?? (destination as DestinationStream),
  );
  return {
    logger,
    flush: () => writer?.flush(),
    close: () => writer?.close(),
  };
}
