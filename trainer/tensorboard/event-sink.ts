/**
 * Where framed records go. The writer hands over whole batches of TFRecord frames, so a sink never
 * sees a partial record; a local file appends them, and an object-store sink (gs://, where objects
 * are immutable) can buffer and re-upload without knowing the record format.
 */
import { mkdir, open } from 'node:fs/promises';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../../artifact/storage.js';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';

export interface EventSink {
  /** Receives one or more complete records, in write order; the next call waits for this one. */
  write(bytes: Uint8Array): Promise<void> | void;
  close?(): Promise<void> | void;
}

/** An event file sink that also reports where it writes. */
export interface EventFileSink extends EventSink {
  readonly path: string;
}

/** TensorBoard discovers runs by this name pattern: `events.out.tfevents.<unix seconds>.<host>`. */
export const eventFileName = (unixSeconds: number, hostname: string, suffix = ''): string =>
  `events.out.tfevents.${unixSeconds}.${hostname}${suffix}`;

const isErrnoException = (error: unknown): error is NodeJS.ErrnoException =>
  error instanceof Error && 'code' in error;

/**
 * Creates a new event file in `dir` (made if missing). Never appends to an existing file: two
 * writers started in the same second would interleave their runs, so a numeric suffix is added.
 */
export async function createEventFileSink(
  dir: string,
  options: { unixSeconds: number; hostname?: string },
): Promise<EventFileSink> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  const host = options.hostname ?? osHostname();
  for (let attempt = 0; ; attempt++) {
    const path = join(dir, eventFileName(options.unixSeconds, host, attempt === 0 ? '' : `.${attempt}`));
    try {
      const handle = await open(path, 'ax', PRIVATE_FILE_MODE);
      return {
        path,
        // appendFile writes the whole buffer, looping over short writes.
        write: (bytes) => handle.appendFile(bytes),
        close: () => handle.close(),
      };
    } catch (error) {
      if (isErrnoException(error) && error.code === 'EEXIST' && attempt < 100) continue;
      throw error;
    }
  }
}
