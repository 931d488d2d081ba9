/** The CLI entry's guard (controller/cli/main.ts `installProcessGuard`): a stray rejection is one line. */
import { afterEach, describe, expect, it } from 'vitest';
import { installProcessGuard } from '../../controller/cli/main.js';

let installed: ((e: unknown) => void) | undefined;
afterEach(() => {
  if (installed) process.removeListener('unhandledRejection', installed);
  installed = undefined;
  process.exitCode = 0;
});

function guarded(env: Record<string, string | undefined>) {
  let text = '';
  installed = installProcessGuard(env, { write: (t: string) => (text += t) });
  return { report: installed, text: () => text };
}

describe('installProcessGuard', () => {
  it('listens for unhandled rejections and prints one line without a stack', () => {
    const g = guarded({});
    expect(process.listeners('unhandledRejection')).toContain(g.report);
    process.emit(
      'unhandledRejection',
      new Error('Could not load the default credentials'),
      Promise.resolve(),
    );
    expect(g.text().trim().split('\n')).toHaveLength(1);
    expect(g.text()).toContain('mlform: Could not load the default credentials');
    expect(g.text()).toContain('MLFORM_DEBUG=1');
    expect(g.text()).not.toMatch(/\n\s+at /);
    expect(process.exitCode).toBe(1);
  });

  it('MLFORM_DEBUG prints the stack', () => {
    const g = guarded({ MLFORM_DEBUG: '1' });
    g.report(new Error('boom'));
    expect(g.text()).toMatch(/Error: boom\n\s+at /);
  });
});
