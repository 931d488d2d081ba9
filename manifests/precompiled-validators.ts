/**
 * The kinds' validators as the build wrote them (scripts/precompile-validators.mjs, ajv's
 * standalone code in dist/manifests/validators/), so that a load does not compile the schemas:
 * compiling the five was ~100 ms of every plan, more than validating 1,000 documents.
 *
 * A precompiled validator is used only if its fingerprint (the schema, ajv's options and version)
 * matches what this process would compile; otherwise, and when running from source (no build),
 * the caller compiles as before. Same code, same errors, same defaults filled in.
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type AjvModule from 'ajv';
import type { ValidateFunction } from 'ajv';
import type StandaloneModule from 'ajv/dist/standalone/index.js';
import type { Kind } from '../resources/kinds.js';

const require = createRequire(import.meta.url);

/** Where the build writes them, next to the compiled loader: `validators/<kind>.cjs`. */
export const PRECOMPILED_DIR = 'validators';

/** The kinds (and mlform.yaml) that are precompiled. */
export const PRECOMPILED_KINDS: readonly (Kind | 'project')[] = [
  'project',
  'TrainingRun',
  'RegisteredModel',
  'DeployedEndpoint',
  'Schedule',
];

/** What a validator's code depends on: the schema, ajv's options and ajv's version. */
export function validatorFingerprint(schema: object, options: object): string {
  const { version } = require('ajv/package.json') as { version: string };
  return createHash('sha256').update(JSON.stringify({ schema, options, version })).digest('hex');
}

/**
 * The CommonJS module the build writes for `kind`: ajv's standalone code of the validator compiled
 * with `options`, and its fingerprint. Loads ajv (build time and tests only).
 */
export function precompiledValidatorSource(schema: object, options: object): string {
  const { default: Ajv } = require('ajv') as typeof AjvModule;
  const { default: standaloneCode } = require('ajv/dist/standalone/index.js') as typeof StandaloneModule;
  const ajv = new Ajv({ ...options, code: { ...(options as { code?: object }).code, source: true } });
  const code = standaloneCode(ajv, ajv.compile(schema));
  return `${code}\nmodule.exports.fingerprint = ${JSON.stringify(validatorFingerprint(schema, options))};\n`;
}

interface PrecompiledModule {
  (data: unknown): boolean;
  fingerprint?: string;
}

/** The build's validator of `kind` if it was built from this very schema, else undefined. */
export function precompiledValidator(
  kind: Kind | 'project',
  fingerprint: string,
): ValidateFunction | undefined {
  let loaded: PrecompiledModule;
  try {
    // `kind` is one of PRECOMPILED_KINDS (a constant), never input.
    loaded = require(`./${PRECOMPILED_DIR}/${kind}.cjs`) as PrecompiledModule;
  } catch {
    return undefined;
  }
  return loaded.fingerprint === fingerprint ? (loaded as unknown as ValidateFunction) : undefined;
}
