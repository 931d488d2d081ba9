/**
 * bin/mlform.js runs controller/cli/entry.ts: `mlform NAME` loads only NAME's command module. The
 * table of modules must name every command of COMMANDS in order, and what a user sees (help,
 * option errors) must not depend on whether one command or all were loaded.
 */
import { describe, expect, it } from 'vitest';
import { main } from '../../controller/cli/main.js';
import { run } from '../../controller/cli/entry.js';
import { COMMANDS } from '../../controller/cli/commands/index.js';
import { COMMAND_MODULES } from '../../controller/cli/commands/modules.js';
import { isCommandGroup } from '../../controller/cli/command.js';
import { fakeContext } from './handlers/fake-context.js';

async function output(cli: typeof main, args: string[]) {
  const { ctx, stdout, stderr } = fakeContext();
  const code = await cli(['node', 'mlform', ...args], ctx);
  return { code, stdout: stdout(), stderr: stderr() };
}

describe('command modules loaded on demand', () => {
  it('the table names every command, in the order of COMMANDS, and each module defines its names', async () => {
    expect(COMMAND_MODULES.flatMap((m) => m.names)).toEqual(COMMANDS.map((c) => c.name));
    for (const m of COMMAND_MODULES) {
      const entries = await m.load();
      expect(entries.map((c) => c.name)).toEqual(m.names);
      expect(entries).toEqual(COMMANDS.filter((c) => m.names.includes(c.name)));
    }
  });

  const lines = COMMANDS.flatMap((c) =>
    isCommandGroup(c) ? [c.name, ...c.commands.map((sub) => `${c.name} ${sub.name}`)] : [c.name],
  );
  it.each(lines)('mlform %s --help is the same either way', async (line) => {
    const args = [...line.split(' '), '--help'];
    const lazy = await output(run, args);
    expect(lazy.code).toBe(0);
    expect(lazy).toEqual(await output(main, args));
  });

  it.each([[[]], [['--help']], [['help', 'plan']], [['plna']], [['plan', '--no-such-option']]])(
    'mlform %j: the same either way',
    async (args) => {
      expect(await output(run, args)).toEqual(await output(main, args));
    },
  );
});
