/**
 * One measurement in a fresh process (so RSS is this work's alone): `floor` reads and YAML-parses
 * every file; `validate` runs the full loadManifests (parse, schema, rules, references, graph).
 * Prints one JSON line.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { pathToFileURL } from 'node:url';
import type * as LoadModule from '../manifests/load.js';

// The compiled build (npm run build), as users run it: no transpiler in the measurement.
const { loadManifests } = (await import(
  pathToFileURL(join(import.meta.dirname, '..', 'dist', 'manifests', 'load.js')).href
)) as typeof LoadModule;

const [mode, dir] = process.argv.slice(2);
const started = performance.now();
let resources = 0;
let errors = 0;
if (mode === 'floor') {
  for (const name of (await readdir(dir)).sort()) {
    const docs = parseAllDocuments(await readFile(join(dir, name), 'utf8'));
    for (const doc of Array.isArray(docs) ? docs : [docs]) if (doc.toJS()) resources++;
  }
} else {
  const result = await loadManifests([dir]);
  resources = result.desired.resources.length;
  errors = result.diagnostics.filter((d) => d.severity === 'error').length;
}
const ms = performance.now() - started;
console.log(JSON.stringify({ mode, ms, resources, errors, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
