// One measurement in a fresh process (so RSS is this work's alone), plain JavaScript on the compiled
// build (npm run build) so no transpiler hooks are measured: `floor` reads and parses every file with
// `yaml`; `validate` runs the full loadManifests (parse, schema, rules, references, graph).
// Prints one JSON line.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadManifests } from '../dist/manifests/load.js';

const [mode, dir] = process.argv.slice(2);
const started = performance.now();
const cpuStart = process.cpuUsage();
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
const cpu = process.cpuUsage(cpuStart);
// CPU time (user + system, all threads) is what the work costs; wall time also counts waiting for a
// busy machine.
const cpuMs = (cpu.user + cpu.system) / 1000;
console.log(
  JSON.stringify({ mode, ms, cpuMs, resources, errors, maxRssMb: process.resourceUsage().maxRSS / 1024 }),
);
