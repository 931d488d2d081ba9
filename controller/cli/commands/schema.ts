/** `mlform schema [kind]`: the JSON Schema of a kind, of mlform.yaml, or of any manifest. */
import { KINDS, combinedJsonSchema, jsonSchemaFor, kindFromCliName } from '../../../resources/kinds.js';
import { didYouMean } from '../../../resources/suggest.js';
import { defineCommand } from '../command.js';

const NAMES = [...KINDS.map((k) => k.toLowerCase()), 'project'];

export const schemaCommand = defineCommand({
  name: 'schema',
  summary: 'print the JSON Schema of a kind or of mlform.yaml',
  description:
    'Print a JSON Schema (draft-07) for editors and CI. Without a kind: one schema for any manifest,\n' +
    'dispatching on `kind`. The same files are in schemas/ for `# yaml-language-server: $schema=...`.',
  arguments: [{ syntax: '[kind]', description: `one of ${NAMES.join(', ')}` }],
  examples: ['mlform schema trainingrun', 'mlform schema project > mlform.schema.json'],
  async handler([kind]: [string | undefined], _options: object, ctx) {
    if (kind === undefined) {
      ctx.print(JSON.stringify(combinedJsonSchema(), null, 2));
      return 0;
    }
    const resolved = kind.toLowerCase() === 'project' ? 'project' : kindFromCliName(kind);
    if (!resolved) {
      const hint = didYouMean(kind, NAMES);
      ctx.printErr(`error: unknown kind "${kind}"${hint ? `: ${hint}` : ''} (known: ${NAMES.join(', ')})`);
      return 1;
    }
    ctx.print(JSON.stringify(jsonSchemaFor(resolved), null, 2));
    return 0;
  },
});
