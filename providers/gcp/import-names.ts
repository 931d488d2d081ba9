/** Manifest names for objects made outside mlform (`mlform import --generate-config-out`). */
import { MAX_NAME_LENGTH } from '../../resources/metadata.js';

/** A manifest name from a cloud name: a DNS label of at most MAX_NAME_LENGTH characters. */
export function manifestName(text: string): string {
  const cut = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_NAME_LENGTH)
    .replace(/-+$/, '');
  return cut || 'imported';
}

/** The last segment of a resource name (`projects/p/.../jobs/x` -> `x`). */
export const lastSegment = (name: string | null | undefined): string => (name ?? '').split('/').pop() ?? '';
