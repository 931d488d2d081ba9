import { Type, type TSchema, type TUnsafe } from '@sinclair/typebox';

/**
 * A string enum as a plain JSON Schema `enum` (not TypeBox's anyOf of consts), so validation errors
 * and editor completion stay readable.
 */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  options: { description?: string; default?: T[number] } = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options });
}

/** A closed object: unknown fields are errors (with a suggestion), as users expect from kubectl. */
export const Strict = { additionalProperties: false } as const;

/**
 * Plain JSON Schema for export and for ajv: TypeBox symbols dropped, and properties that have a
 * `default` removed from `required`. The TypeBox type keeps them required, because it describes the
 * normalised spec (defaults applied); the document a user writes may omit them.
 */
export function toJsonSchema(schema: TSchema): Record<string, unknown> {
  const plain = JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
  stripDefaultedRequired(plain);
  return plain;
}

function stripDefaultedRequired(node: unknown): void {
  if (Array.isArray(node)) {
    node.forEach(stripDefaultedRequired);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const obj = node as Record<string, unknown>;
  const properties = obj.properties as Record<string, Record<string, unknown>> | undefined;
  if (properties && Array.isArray(obj.required)) {
    const required = (obj.required as string[]).filter((key) => !('default' in (properties[key] ?? {})));
    if (required.length > 0) obj.required = required;
    else delete obj.required;
  }
  for (const value of Object.values(obj)) stripDefaultedRequired(value);
}
