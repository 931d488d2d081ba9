/** Options several commands take, written once so their help reads the same everywhere. */
import type { OptionDefinition } from './command.js';

/** `-o, --output <format>`: text for people (default), json for scripts. */
export const TEXT_OR_JSON_OPTION: OptionDefinition = {
  flags: '-o, --output <format>',
  description: 'output format',
  choices: ['text', 'json'],
  default: 'text',
};

/** The local provider's nonce that proves which process it started (train, serve); no effect. */
export const LAUNCH_ID_OPTION: OptionDefinition = {
  flags: '--launch-id <id>',
  description: 'set by the local provider to recognise its process (no effect)',
};

/** `-f, --file <path>`, repeatable, like kubectl; the manifests and mlform.yaml are found from it. */
export const fileOption = (flags = '-f, --file <path>'): OptionDefinition => ({
  flags,
  description: 'manifest file or directory; repeatable',
  parse: (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
  default: [],
  defaultDescription: '.',
});
