// Build step (after tsc): writes each kind's manifest validator as ajv standalone code to
// dist/manifests/validators/<kind>.cjs, with the fingerprint of the schema, options and ajv version
// it was compiled from (manifests/precompiled-validators.ts uses one only while it matches), so a
// load does not compile the schemas. Usage: node scripts/precompile-validators.mjs
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const { jsonSchemaFor } = await import('../dist/resources/kinds.js');
const { MANIFEST_AJV_OPTIONS } = await import('../dist/manifests/schema-validation.js');
const { PRECOMPILED_DIR, PRECOMPILED_KINDS, precompiledValidatorSource } =
  await import('../dist/manifests/precompiled-validators.js');

const out = join(import.meta.dirname, '..', 'dist', 'manifests', PRECOMPILED_DIR);
await mkdir(out, { recursive: true });
for (const kind of PRECOMPILED_KINDS) {
  const source = precompiledValidatorSource(jsonSchemaFor(kind), MANIFEST_AJV_OPTIONS);
  await writeFile(join(out, `${kind}.cjs`), source);
}
console.log(`precompiled ${PRECOMPILED_KINDS.length} manifest validators into ${out}`);
