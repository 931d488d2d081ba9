import type { Command } from 'commander';
import { KINDS, combinedJsonSchema, jsonSchemaFor, kindFromCliName } from '../../../resources/kinds.js';
import { didYouMean } from '../../../resources/suggest.js';
import type { CommandContext } from '../context.js';

const NAMES = [...KINDS.map((k) => k.toLowerCase()), 'project'];

export function registerSchema(program: Command, ctx: CommandContext, setExit: (code: number) => void): void {
  program
    .command('schema')
    .summary('print the JSON Schema of a kind or of mlform.yaml')
    .description(
      'Print a JSON Schema (draft-07) for editors and CI. Without a kind: one schema for any manifest,\n' +
        'dispatching on `kind`. The same files are in schemas/ for `# yaml-language-server: $schema=...`.',
    )
    .argument('[kind]', `one of ${NAMES.join(', ')}`)
    .addHelpText(
      'after',
      '\nExamples:\n  mlform schema trainingrun\n  mlform schema project > mlform.schema.json',
    )
    .action((kind: string | undefined) => {
      if (kind === undefined) {
        ctx.print(JSON.stringify(combinedJsonSchema(), null, 2));
        return;
      }
      const resolved = kind.toLowerCase() === 'project' ? 'project' : kindFromCliName(kind);
      if (!resolved) {
        const hint = didYouMean(kind, NAMES);
        ctx.printErr(`error: unknown kind "${kind}"${hint ? `: ${hint}` : ''} (known: ${NAMES.join(', ')})`);
        setExit(1);
        return;
      }
      ctx.print(JSON.stringify(jsonSchemaFor(resolved), null, 2));
    });
}
