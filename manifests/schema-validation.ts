/**
 * ajv validation of a document against its kind's JSON Schema, every error at once, turned into
 * diagnostics with field paths and "did you mean" suggestions. Defaults are filled in place.
 */
import type AjvModule from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { createRequire } from 'node:module';
import { error, formatPath, type Diagnostic, type FieldPath } from '../resources/diagnostic.js';
import { didYouMean } from '../resources/suggest.js';
import { jsonSchemaFor, type Kind } from '../resources/kinds.js';
import { precompiledValidator, validatorFingerprint } from './precompiled-validators.js';

type Ajv = InstanceType<typeof AjvModule.default>;

/**
 * ajv itself (64 modules) is loaded only to compile: a built CLI validates manifests with the
 * build's precompiled validators (precompiled-validators.ts).
 */
function newAjv(options: object): Ajv {
  // CommonJS with a default export; the constructor sits on `.default`.
  const { default: AjvClass } = createRequire(import.meta.url)('ajv') as typeof AjvModule;
  return new AjvClass(options);
}

// ajv's optimisation pass over the generated code costs more than it saves on ~1,000 documents
// and changes neither the result nor the errors.
const CODE = { optimize: false };
/** How manifests are validated; scripts/precompile-validators.mjs compiles with the same options. */
export const MANIFEST_AJV_OPTIONS = {
  allErrors: true,
  useDefaults: true,
  verbose: true,
  strict: false,
  code: CODE,
} as const;
let ajv: Ajv | undefined;
const validators = new Map<Kind | 'project', ValidateFunction>();

function validatorFor(kind: Kind | 'project'): ValidateFunction {
  let validate = validators.get(kind);
  if (!validate) {
    const schema = jsonSchemaFor(kind);
    validate =
      precompiledValidator(kind, validatorFingerprint(schema, MANIFEST_AJV_OPTIONS)) ??
      (ajv ??= newAjv(MANIFEST_AJV_OPTIONS)).compile(schema);
    validators.set(kind, validate);
  }
  return validate;
}

export interface SchemaIssue extends Diagnostic {
  path: FieldPath;
  /** Point at the key (unknown fields) rather than the value. */
  target: 'key' | 'value';
}

/** Validates and fills defaults in place. Returns no issues when the document is schema-valid. */
export function validateAgainstSchema(kind: Kind | 'project', data: unknown): SchemaIssue[] {
  const validate = validatorFor(kind);
  if (validate(data)) return [];
  return toIssues(validate.errors ?? [], data);
}

let plainAjv: Ajv | undefined;
const plainValidators = new WeakMap<object, ValidateFunction>();

/**
 * Validates any JSON value (an artifact's files, artifact/check.ts) against a JSON Schema, with the
 * same issues as manifests; unlike `validateAgainstSchema`, nothing is filled in.
 */
export function validateAgainstJsonSchema(schema: object, data: unknown): SchemaIssue[] {
  let validate = plainValidators.get(schema);
  if (!validate) {
    validate = (plainAjv ??= newAjv({ allErrors: true, verbose: true, strict: false, code: CODE })).compile(
      schema,
    );
    plainValidators.set(schema, validate);
  }
  if (validate(data)) return [];
  return toIssues(discriminate(validate.errors ?? []), data);
}

const DISCRIMINATORS = ['type', 'kind'];

/**
 * A union whose branches differ by a constant `type` (or `kind`) is reported as the branch the
 * value names (its missing and wrong fields), or as a bad `type`, instead of "not any of them".
 */
function discriminate(errors: ErrorObject[]): ErrorObject[] {
  let out = errors;
  for (const union of errors.filter((e) => e.keyword === 'anyOf')) {
    const branches = union.schema as { properties?: Record<string, { const?: unknown }> }[];
    const data = union.data as Record<string, unknown> | null;
    if (!Array.isArray(branches) || data === null || typeof data !== 'object' || Array.isArray(data))
      continue;
    const key = DISCRIMINATORS.find((k) => branches.every((b) => b.properties?.[k]?.const !== undefined));
    if (key === undefined) continue;
    const index = branches.findIndex((b) => b.properties?.[key]?.const === data[key]);
    // Every item of an array shares the union's schemaPath: match the value's own errors only.
    const under = (e: ErrorObject, schemaPath: string) =>
      e.schemaPath.startsWith(schemaPath) &&
      (e.instancePath === union.instancePath || e.instancePath.startsWith(`${union.instancePath}/`));
    const inside = (e: ErrorObject) => under(e, `${union.schemaPath}/`);
    const chosen: ErrorObject[] =
      index >= 0
        ? out.filter((e) => under(e, `${union.schemaPath}/${index}/`))
        : [
            {
              ...union,
              keyword: 'enum',
              instancePath: `${union.instancePath}/${key}`,
              params: { allowedValues: branches.map((b) => b.properties?.[key]?.const) },
              data: data[key],
            },
          ];
    out = [...out.filter((e) => e !== union && !inside(e)), ...chosen];
  }
  return out;
}

function toIssues(errors: ErrorObject[], root: unknown): SchemaIssue[] {
  // A failed anyOf reports every branch's errors too; keep only the anyOf's own, which is clearer.
  const unions = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf');
  const kept = errors.filter(
    (e) =>
      unions.includes(e) ||
      !unions.some((u) => e.instancePath === u.instancePath && e.schemaPath.startsWith(`${u.schemaPath}/`)),
  );
  const issues = kept.map((e) => toIssue(e, root));
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${formatPath(i.path)}|${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function toIssue(e: ErrorObject, root: unknown): SchemaIssue {
  const path = pointerToPath(e.instancePath, root);
  const where = path.length > 0 ? formatPath(path) : 'the document';
  const description = (e.parentSchema as { description?: string } | undefined)?.description;
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': {
      const field = String(params.additionalProperty);
      const known = Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      return issue('unknown-field', `unknown field "${field}" in ${where}`, [...path, field], 'key', {
        hint:
          didYouMean(field, known) ?? (known.length > 0 ? `known fields: ${known.join(', ')}` : undefined),
      });
    }
    case 'required': {
      const field = String(params.missingProperty);
      return issue('missing-field', `missing required field "${field}" in ${where}`, path, 'key', {
        hint: fieldHint([...path, field]),
      });
    }
    case 'type':
      return issue(
        'wrong-type',
        `${where} must be ${article(String(params.type))}, got ${describe(e.data)}`,
        path,
        'value',
      );
    case 'enum': {
      const allowed = (params.allowedValues as unknown[]).map(String);
      return issue(
        'invalid-value',
        `${where} must be one of ${allowed.join(', ')}; got ${describe(e.data)}`,
        path,
        'value',
        {
          hint: typeof e.data === 'string' ? didYouMean(e.data, allowed) : undefined,
        },
      );
    }
    case 'const':
      return issue(
        'invalid-value',
        `${where} must be ${JSON.stringify(params.allowedValue)}, got ${describe(e.data)}`,
        path,
        'value',
      );
    case 'anyOf':
    case 'oneOf':
      return issue(
        'wrong-type',
        `${where} must be ${description ? description.replace(/^A /, 'a ').replace(/\.$/, '') : 'one of the forms the schema allows'}; got ${describe(e.data)}`,
        path,
        'value',
      );
    case 'pattern':
      return issue('invalid-value', `${where} is not valid: ${describe(e.data)}`, path, 'value', {
        hint: description,
      });
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return issue(
        'out-of-range',
        `${where} ${e.message ?? 'is out of range'}, got ${describe(e.data)}`,
        path,
        'value',
      );
    default:
      return issue('invalid-value', `${where} ${e.message ?? 'is invalid'}`, path, 'value', {
        hint: description,
      });
  }
}

function issue(
  code: string,
  message: string,
  path: FieldPath,
  target: 'key' | 'value',
  extra: Partial<Diagnostic> = {},
): SchemaIssue {
  return { ...error(code, message, extra), path, target };
}

const FIELD_HINTS: Record<string, string> = {
  'spec.trainer': 'add `trainer: {builtin: {task, data, ...}}` or `trainer: {container: {image}}`',
  'spec.timeZone': 'add an IANA time zone, e.g. `timeZone: Europe/Warsaw`',
  'metadata.name': 'add `name: my-resource` under metadata',
};
const fieldHint = (path: FieldPath): string | undefined => FIELD_HINTS[formatPath(path)];

const article = (type: string): string => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const text = JSON.stringify(value);
  const shown = text.length > 40 ? `${text.slice(0, 37)}...` : text;
  return `${typeof value} ${shown}`;
}

/** JSON Pointer -> field path, with array indices as numbers. */
function pointerToPath(pointer: string, root: unknown): (string | number)[] {
  if (!pointer) return [];
  const path: (string | number)[] = [];
  let node: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      const index = Number(segment);
      path.push(index);
      node = node[index];
    } else {
      path.push(segment);
      node =
        node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[segment] : undefined;
    }
  }
  return path;
}
