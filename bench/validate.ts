/**
 * Loading and validating 10,000 generated manifests, side by side with the floor (read + YAML parse
 * only) in the same run. Each measurement is a fresh process; the median of 3 is reported.
 * Run: npm run bench -- validate
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { generateManifests } from './manifest-generator.js';
import { writeBenchmarkSection } from './benchmarks-file.js';

interface Sample {
  mode: string;
  ms: number;
  cpuMs: number;
  resources: number;
  errors: number;
  maxRssMb: number;
}

const COUNT = Number(process.env.BENCH_MANIFESTS ?? 10_000);
const REPEATS = 3;

function measure(mode: 'floor' | 'validate', dir: string): Sample {
  const r = spawnSync(process.execPath, [join(import.meta.dirname, 'validate-worker.mjs'), mode, dir], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`worker failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as Sample;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

export async function runValidateBench(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mlform-bench-'));
  try {
    await generateManifests(dir, COUNT);
    const samples: Record<string, Sample[]> = { floor: [], validate: [] };
    for (let i = 0; i < REPEATS; i++) {
      // Interleaved so that machine noise hits both alike.
      samples.floor.push(measure('floor', dir));
      samples.validate.push(measure('validate', dir));
    }
    const v = samples.validate[0];
    if (v.resources !== COUNT || v.errors !== 0)
      throw new Error(`expected ${COUNT} valid resources, got ${v.resources} (${v.errors} errors)`);
    const row = (mode: string) => {
      const s = samples[mode];
      return {
        ms: median(s.map((x) => x.ms)),
        cpu: median(s.map((x) => x.cpuMs)),
        rss: median(s.map((x) => x.maxRssMb)),
      };
    };
    const floor = row('floor');
    const full = row('validate');
    const table = [
      `| ${COUNT.toLocaleString('en')} manifests, one file each | wall time | CPU time | peak RSS | goal |`,
      '| --- | --- | --- | --- | --- |',
      `| floor: read + parse with \`yaml\` (the straightforward way) | ${floor.ms.toFixed(0)} ms | ${floor.cpu.toFixed(0)} ms | ${floor.rss.toFixed(0)} MB | |`,
      `| \`loadManifests\`: parse, schema, rules, references, graph | ${full.ms.toFixed(0)} ms | ${full.cpu.toFixed(0)} ms | ${full.rss.toFixed(0)} MB | < 2000 ms, < 300 MB |`,
      `| ratio full / floor | ${(full.ms / floor.ms).toFixed(2)}x | ${(full.cpu / floor.cpu).toFixed(2)}x | ${(full.rss / floor.rss).toFixed(2)}x | |`,
      '',
      `Medians of ${REPEATS} runs, each in a fresh process, interleaved. Load average during the run: ${loadavg()[0].toFixed(1)} on ${cpus().length} cores.`,
    ].join('\n');
    return table;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === import.meta.filename) {
  const table = await runValidateBench();
  console.log(table);
  await writeBenchmarkSection(
    'validate',
    'Loading and validating manifests',
    'npm run bench -- validate',
    table,
  );
}
