/**
 * Writes schemas/*.json and the manifest reference in README.md from the TypeBox schemas, the
 * single source of truth. `npm run schemas`; test/schemas.test.ts fails when either is stale.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expectedSchemaFiles, renderReference, REFERENCE_START, REFERENCE_END } from './schema-artifacts.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
mkdirSync(join(root, 'schemas'), { recursive: true });
for (const [name, content] of Object.entries(expectedSchemaFiles())) {
  writeFileSync(join(root, 'schemas', name), content);
}
const readmePath = join(root, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const start = readme.indexOf(REFERENCE_START);
const end = readme.indexOf(REFERENCE_END);
if (start === -1 || end === -1)
  throw new Error(`README.md lacks the ${REFERENCE_START} / ${REFERENCE_END} markers`);
writeFileSync(
  readmePath,
  readme.slice(0, start + REFERENCE_START.length) + '\n' + renderReference() + readme.slice(end),
);
console.log('schemas/ and the README manifest reference are up to date');
