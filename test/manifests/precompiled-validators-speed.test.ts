/**
 * The build's precompiled validators (ajv standalone code, manifests/precompiled-validators.ts)
 * against validators compiled at run time with the same options: the same verdict, the same
 * errors (keyword, paths, params, message, the schema parts verbose errors carry) and the same
 * defaults filled in, on every example and fixture document and on broken variants of each.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import AjvModule, { type ErrorObject } from 'ajv';
import jsYaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { isKind, jsonSchemaFor, type Kind } from '../../resources/kinds.js';
import { MANIFEST_AJV_OPTIONS } from '../../manifests/schema-validation.js';
import {
  PRECOMPILED_KINDS,
  precompiledValidator,
  precompiledValidatorSource,
  validatorFingerprint,
} from '../../manifests/precompiled-validators.js';

type Validate = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

/** Evaluates a generated CommonJS module the way `require` would. */
function evaluate(source: string): Validate & { fingerprint?: string } {
  const module = { exports: {} as Validate };
  new Function('module', 'exports', 'require', source)(
    module,
    module.exports,
    createRequire(import.meta.url),
  );
  return module.exports;
}

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

/** Every document of the examples and fixtures, by the schema it is validated against. */
function documents(): { kind: Kind | 'project'; file: string; value: unknown }[] {
  const out: { kind: Kind | 'project'; file: string; value: unknown }[] = [];
  for (const file of [...yamlFiles('examples'), ...yamlFiles('test/fixtures')]) {
    let values: unknown[];
    try {
      values = jsYaml.loadAll(readFileSync(file, 'utf8'));
    } catch {
      continue; // a fixture of broken YAML never reaches the schema
    }
    for (const value of values) {
      const kind = (value as { kind?: unknown } | null)?.kind;
      if (file.endsWith('mlform.yaml')) out.push({ kind: 'project', file, value });
      else if (isKind(kind)) out.push({ kind, file, value });
    }
  }
  return out;
}

/** Broken variants: an unknown field, a wrong type and a missing section, at several depths. */
function variants(value: unknown): unknown[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const record = value as Record<string, unknown>;
  const out: unknown[] = [{ ...record, unexpected: 1 }];
  for (const [key, child] of Object.entries(record)) {
    const { [key]: _dropped, ...without } = record;
    out.push(without, { ...record, [key]: typeof child === 'number' ? String(child) : 7 });
    if (child !== null && typeof child === 'object' && !Array.isArray(child)) {
      for (const inner of variants(child).slice(0, 6)) out.push({ ...record, [key]: inner });
    }
  }
  return out;
}

const seen = (validate: Validate, data: unknown) => {
  const ok = validate(data);
  return { ok, errors: validate.errors ?? null, data };
};

describe('precompiled manifest validators', () => {
  const docs = documents();

  it('cover every kind and read the examples and fixtures', () => {
    expect(new Set(docs.map((d) => d.kind))).toEqual(new Set(PRECOMPILED_KINDS));
  });

  for (const kind of PRECOMPILED_KINDS) {
    it(`validate ${kind} documents exactly as the compiled validator does`, () => {
      const schema = jsonSchemaFor(kind);
      const compiled = new AjvModule.default(MANIFEST_AJV_OPTIONS).compile(schema) as Validate;
      const precompiled = evaluate(precompiledValidatorSource(schema, MANIFEST_AJV_OPTIONS));
      expect(precompiled.fingerprint).toBe(validatorFingerprint(schema, MANIFEST_AJV_OPTIONS));
      let checked = 0;
      let failing = 0;
      for (const doc of docs.filter((d) => d.kind === kind)) {
        for (const value of [doc.value, ...variants(doc.value)]) {
          const want = seen(compiled, structuredClone(value));
          expect(seen(precompiled, structuredClone(value)), doc.file).toEqual(want);
          checked++;
          if (!want.ok) failing++;
        }
      }
      // The comparison saw both verdicts, many times.
      expect(failing).toBeGreaterThan(5);
      expect(checked - failing).toBeGreaterThan(0);
    });
  }

  it('are used only when built from the same schema, options and ajv', () => {
    // From source there is no build output next to the loader: the caller compiles.
    expect(precompiledValidator('Schedule', 'not-this-one')).toBeUndefined();
    const schema = jsonSchemaFor('Schedule');
    const fingerprint = validatorFingerprint(schema, MANIFEST_AJV_OPTIONS);
    expect(validatorFingerprint({ ...schema, title: 'changed' }, MANIFEST_AJV_OPTIONS)).not.toBe(fingerprint);
    expect(validatorFingerprint(schema, { ...MANIFEST_AJV_OPTIONS, useDefaults: false })).not.toBe(
      fingerprint,
    );
  });
});
