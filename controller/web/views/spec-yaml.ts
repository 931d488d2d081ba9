/** A spec as the resource pages show it: YAML, credential-looking literals masked, bounded. */
import { stringify } from 'yaml';
import { maskCredentials } from '../../../resources/credential.js';
import { cleanText } from './safe-text.js';

const MAX_CHARS = 64 * 1024;

export function specYaml(spec: unknown): string | null {
  if (spec === undefined || spec === null) return null;
  const text = stringify(maskCredentials(spec))
    .split('\n')
    .map((line) => cleanText(line))
    .join('\n');
  return text.length > MAX_CHARS ? `${text.slice(0, MAX_CHARS)}\n# … (cut)` : text;
}
