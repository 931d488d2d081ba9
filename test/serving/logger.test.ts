/** The server's log lines: Cloud Logging field names, one write per event-loop turn, never a throw. */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createServingLogger } from '../../serving/logger.js';
import { TurnWriter } from '../../serving/turn-writer.js';
import { tempDir } from './temp-dir.js';

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('serving logs', () => {
  it('writes JSON lines with severity and message at the end of the turn', async () => {
    const dir = await tempDir();
    try {
      const file = join(dir.path, 'log.jsonl');
      const logs = createServingLogger('info', file, { model: 'mpg' });
      logs.logger.info({ status: 200 }, 'request');
      logs.logger.warn('slow');
      logs.logger.debug('hidden');
      // Nothing written yet: the lines leave together at the end of this turn.
      expect(readFileSync(file, 'utf8')).toBe('');
      await nextTurn();
      const lines = (await readFile(file, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toMatchObject([
        { severity: 'INFO', message: 'request', status: 200, model: 'mpg' },
        { severity: 'WARNING', message: 'slow' },
      ]);
      logs.close();
    } finally {
      await dir.remove();
    }
  });

  it('stops logging instead of throwing when the destination breaks', async () => {
    const dir = await tempDir();
    try {
      const writer = new TurnWriter(join(dir.path, 'x.log'));
      writer.close();
      // Writing after close (a closed descriptor) is swallowed: a dead log reader must not take
      // the server down.
      expect(() => {
        writer.write('{"late": true}\n');
        writer.flush();
      }).not.toThrow();
      await nextTurn();
    } finally {
      await dir.remove();
    }
  });
});
