/**
 * For profiling `mlform plan` by hand: converges scenario A of the gcp plan benchmark in the fake,
 * sets the benchmark's latency, prints the project folder and the endpoint, and keeps serving.
 * Run: npx tsx bench/gcp-plan-serve.ts [latencyMs]
 *   then MLFORM_GCP_API_ENDPOINT=<url> node bin/mlform.js plan <dir>
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SCENARIOS, converge, startBenchFake, writeProject } from './gcp-plan.js';

const latency = Number(process.argv[2] ?? 50);
const scenario = SCENARIOS[0];
const dir = await mkdtemp(join(tmpdir(), `mlform-gcp-plan-serve-${scenario.id}-`));
const fake = await startBenchFake();
await writeProject(dir, scenario);
await converge(dir, fake);
fake.setLatency(latency);
console.log(JSON.stringify({ dir, url: fake.url }));
