/**
 * `mlform --help` and `mlform <command> --help`, in process, against files saved from the CLI as it
 * was before commands became definitions (test/cli/help/): the registrar must print the same text.
 * A deliberate help change updates the file (`npx vitest run test/cli/help.test.ts -u`).
 */
import { describe, expect, it } from 'vitest';
import { main } from '../../controller/cli/main.js';
import { COMMANDS } from '../../controller/cli/commands/index.js';
import { isCommandGroup } from '../../controller/cli/command.js';
import { fakeContext } from './handlers/fake-context.js';

async function help(args: string[]): Promise<string> {
  const { ctx, stdout, stderr } = fakeContext();
  expect(await main(['node', 'mlform', ...args, '--help'], ctx)).toBe(0);
  expect(stderr()).toBe('');
  return stdout();
}

describe('help', () => {
  it('mlform --help lists every command', async () => {
    const text = await help([]);
    for (const command of COMMANDS) expect(text).toContain(`  ${command.name} `);
    await expect(text).toMatchFileSnapshot('help/root.txt');
  });

  // A group (`mlform artifact`) and each of its commands (`mlform artifact check`, artifact-check.txt).
  const lines = COMMANDS.flatMap((c) =>
    isCommandGroup(c) ? [c.name, ...c.commands.map((sub) => `${c.name} ${sub.name}`)] : [c.name],
  );
  it.each(lines)('mlform %s --help', async (line) => {
    const words = line.split(' ');
    await expect(await help(words)).toMatchFileSnapshot(`help/${words.join('-')}.txt`);
  });
});
