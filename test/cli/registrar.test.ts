/** The registrar: what commander parses reaches the handler as (arguments, options), its result is the exit code. */
import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { defineCommand, helpAfter } from '../../controller/cli/command.js';
import { main } from '../../controller/cli/main.js';
import { registerCommands } from '../../controller/cli/registrar.js';
import { collect } from '../../controller/cli/operator.js';
import { fakeContext } from './handlers/fake-context.js';

interface EchoOptions {
  output: string;
  tag?: string[];
  prune: boolean;
}

function run(argv: string[], passThrough = false) {
  const calls: { args: readonly unknown[]; options: EchoOptions }[] = [];
  const echo = defineCommand({
    name: 'echo',
    summary: 'echo',
    description: 'Echo what was parsed.',
    // A pass-through command declares no arguments (as `train`): everything left over is passed on.
    arguments: passThrough
      ? []
      : [
          { syntax: '<target>', description: 'what' },
          { syntax: '[rest...]', description: 'more', default: ['.'] },
        ],
    options: [
      { flags: '-o, --output <format>', description: 'format', choices: ['text', 'json'], default: 'text' },
      { flags: '--tag <tag>', description: 'repeatable', parse: collect },
      { flags: '--no-prune', description: 'keep' },
    ],
    passThrough,
    handler(args: readonly unknown[], options: EchoOptions) {
      calls.push({ args, options });
      return Promise.resolve(options.output === 'json' ? 7 : 3);
    },
  });
  const { ctx, stderr } = fakeContext();
  const program = new Command('mlform')
    .exitOverride()
    .configureOutput({ writeErr: (t) => ctx.stderr.write(t) });
  let code: number | undefined;
  registerCommands(program, [echo], ctx, (c) => (code = c));
  return { parse: program.parseAsync(['node', 'mlform', ...argv]), calls, code: () => code, stderr };
}

describe('registerCommands', () => {
  it('passes the declared arguments and the parsed options, and sets the exit code the handler returns', async () => {
    const r = run(['echo', 'x', '--tag', 'a', '--tag', 'b', '--no-prune', '-o', 'json']);
    await r.parse;
    expect(r.calls).toEqual([
      { args: ['x', ['.']], options: { output: 'json', tag: ['a', 'b'], prune: false } },
    ]);
    expect(r.code()).toBe(7);

    const defaults = run(['echo', 'y', 'z']);
    await defaults.parse;
    expect(defaults.calls).toEqual([{ args: ['y', ['z']], options: { output: 'text', prune: true } }]);
    expect(defaults.code()).toBe(3);
  });

  it('refuses a value outside the choices and an unknown option, unless the command passes them through', async () => {
    const bad = run(['echo', 'x', '-o', 'xml']);
    await expect(bad.parse).rejects.toThrow();
    expect(bad.stderr()).toContain("argument 'xml' is invalid. Allowed choices are text, json.");
    expect(bad.calls).toEqual([]);

    const unknown = run(['echo', 'x', '--lr=0.1']);
    await expect(unknown.parse).rejects.toThrow();
    expect(unknown.calls).toEqual([]);

    const passed = run(['echo', '--lr=0.1', 'x', '--hp.layers=2', '-o', 'json'], true);
    await passed.parse;
    expect(passed.calls).toEqual([
      { args: [['--lr=0.1', 'x', '--hp.layers=2']], options: { output: 'json', prune: true } },
    ]);
  });

  it('lays out notes, examples and exit status after the options as the commands always had them', () => {
    expect(helpAfter({ examples: ['mlform a', 'mlform b'] })).toBe('\nExamples:\n  mlform a\n  mlform b');
    expect(helpAfter({ notes: 'Exit status: 0 ok.', examples: ['mlform a'] })).toBe(
      '\nExit status: 0 ok.\n\nExamples:\n  mlform a',
    );
    expect(helpAfter({ examples: ['mlform a'], exitStatus: '0 ok;\n1 not.' })).toBe(
      '\nExamples:\n  mlform a\n\nExit status: 0 ok;\n1 not.',
    );
    expect(helpAfter({})).toBe('');
  });

  it('main resolves to the exit code of the command it ran', async () => {
    const { ctx, stdout, stderr } = fakeContext();
    expect(await main(['node', 'mlform', 'schema', 'trainingrunz'], ctx)).toBe(1);
    expect(stderr()).toContain('unknown kind "trainingrunz"');
    expect(await main(['node', 'mlform', 'schema', 'project'], ctx)).toBe(0);
    expect(JSON.parse(stdout())).toHaveProperty('$schema');
  });
});
